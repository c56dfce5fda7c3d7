"""The total amount: labelled totals, rows that are parts of it or money that
is not it (cash, change, rounding), and the arithmetic that confirms it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import replace
from decimal import Decimal

from pipeline.extract.candidates import Candidate, amounts_in
from pipeline.extract.layout import PageLayout, PlacedLine
from pipeline.extract.normalize import (
    AmountMatch,
    format_amount,
)
from pipeline.extract.table_totals import column_sum_cell, totals_row_cell


def _spaced_words(words: str) -> str:
    """Label words joined so that OCR-dropped spaces still match ("GRANDTOTAL"),
    and a space OCR put inside a longer word too ("Sum me inkl. USt")."""
    return r"\s*".join(
        r"\s?".join(map(re.escape, word)) if len(word) >= 4 else re.escape(word)
        for word in words.split()
    )


def _label_patterns(
    labels: Iterable[tuple[str, float]],
) -> list[tuple[re.Pattern[str], str, float]]:
    return [
        (
            re.compile(
                r"(?<![A-Za-z])"
                + _spaced_words(label)
                + (r"(?![A-Za-z])" if label in _WHOLE_WORD_LABELS else ""),
                re.IGNORECASE,
            ),
            label,
            weight,
        )
        for label, weight in labels
    ]


# Short words that also start other words ("DUESSELDORF", "amounted"); longer
# labels may stay prefixes so that OCR-glued text ("TOTALRM") still matches.
_WHOLE_WORD_LABELS = frozenset({"due", "amount", "summe", "jumlah"})


_TOTAL_LABELS = _label_patterns(
    [
        ("grand total", 1.0),
        # The full invoice value; an ad-buy's "Net Total" / "Amount Due" is what
        # remains after agency commission, printed below it.
        ("gross total", 1.05),
        ("gross amount", 1.05),
        ("total rounded", 1.0),
        ("rounded total", 1.0),
        ("nett total", 1.0),
        ("net total", 0.75),
        ("total due", 1.0),
        ("amount due", 1.0),
        ("balance due", 1.0),
        ("total payable", 1.0),
        ("amount payable", 1.0),
        # What is still to be paid is the total; "PAID" alone is cash tendered.
        ("to be paid", 1.0),
        ("total amount payable", 1.0),
        ("total incl", 1.0),
        ("total after", 1.0),
        ("after adj", 0.95),
        ("after rounding", 0.95),
        ("net amt", 0.9),
        ("net amount", 0.9),
        ("nett amt", 0.9),
        ("nett amount", 0.9),
        ("total inclusive", 1.0),
        ("total (incl", 1.0),
        ("total sales (inclusive", 1.0),
        ("total amount", 0.9),
        # The gross total is the invoice's total; what is left to pay after a
        # deposit ("Zahlbetrag", "Net à payer") ranks just below it, and is
        # the same figure when nothing was paid in advance.
        ("total ttc", 1.0),
        ("net à payer", 0.95),
        ("net a payer", 0.95),
        ("montant ttc", 1.0),
        ("gesamtbetrag", 1.0),
        ("rechnungsbetrag", 1.0),
        ("bruttosumme", 1.0),
        ("summe brutto", 1.0),
        ("gesamt brutto", 1.0),
        ("zahlbetrag", 0.95),
        ("zu zahlen", 0.95),
        ("endbetrag", 1.0),
        ("bruttobetrag", 1.0),
        ("total", 0.8),
        ("jumlah", 0.7),
        ("summe", 0.7),
        ("amount", 0.5),
        ("due", 0.6),
    ]
)
# A line matching any of these names a part of the total, or money that is not
# the total (tendered cash, change), whatever "total" label it also carries.
_NOT_TOTAL = re.compile(
    r"(?i)sub\s*-?\s*total|total\s*(?:qty|quantity|items?|item\(s\)|pcs|discount"
    r"|disc|saving|savings|excl|\(ex|ex\.|ht\b|weight|units|point)|item\s*total"
    r"|excluding|exclusive|before\s*tax|change|tender|\bcash\b|\bcard\b|"
    r"\bpaid\b(?<!to\sbe\spaid)"
    r"|^\W*rounding|rounding\s*adj|\bround\s*adj|deposit|nettobetrag|netto"
    r"|anzahlung|acompte|anticipo|aanbetaling|acconto|bereits\s*bezahlt|zuschl|abschl"
    r"|total\s*h\.?t|points|voucher|\bqty\b|\bbalance\b(?!\s*due)|accepted"
)
# Tax wording marks a tax line, unless the line says the total includes tax.
TAX_WORDS = re.compile(
    r"(?i)\bgst\b|\bvat\b|\btax\b|mwst|\bust\b|\btva\b|\bsst\b|\biva\b|\bbtw\b"
)
# "incl. GST" qualifies a total; "GST included" states the tax within it. OCR
# reads the capital I of "Inclusive" as l or 1 often enough to allow for it.
_INCLUDES_TAX = re.compile(r"(?i)[il1|]ncl(?!uded)|inkl")
# TOTAL with its letters misread as look-alikes ("lotal", "Tot3l", "IUIAL" off a
# faded thermal print). Three letters at least, so "10141" stays a number.
_MISREAD_TOTAL = re.compile(
    r"(?<![A-Za-z0-9])[Ttl1I|7][Oo0UuQD][Ttl1I][Aa4@3][Ll1I|](?![a-z])"
)
ROUNDING = re.compile(r"(?i)round(?:ing)?\s*(?:adj|adjustment)|rounding|pembundaran")
_TABLE_HEADER = re.compile(
    r"(?i)\b(?:qty|quantity|price|u/p|unit|item|description|desc)\b"
)
SUBTOTAL = re.compile(r"(?i)sub\s*-?\s*total")
CASH = re.compile(
    r"(?i)\bcash\b|tender|\bpaid\b(?<!to\sbe\spaid)|bayar|payment|visa|master|credit"
    r"|accepted"
)
CHANGE = re.compile(r"(?i)change|\bbaki\b|kembali")


def total_candidates(layouts: list[PageLayout]) -> list[Candidate]:
    all_amounts = [
        (placed, amount)
        for layout in layouts
        for placed in layout.lines
        for amount in amounts_in(placed.line.text)
    ]
    candidates: list[Candidate] = []
    for layout in layouts:
        for placed in layout.lines:
            candidates.extend(_labelled_totals(layout, placed))
    arithmetic = cash_minus_change(layouts)
    candidates.extend(
        [
            *_rounded_totals(layouts, candidates),
            *_rounded_nearby(layouts, candidates),
            *_tax_summary_sums(layouts, all_amounts),
        ]
    )
    candidates = _with_sums_of_parts(candidates, _subtotal_and_charges(layouts))
    if arithmetic is not None:
        candidates.extend(_arithmetic_totals(layouts, arithmetic, all_amounts))
    if candidates:
        candidates = _adjust_totals(candidates, all_amounts, arithmetic)
    else:
        candidates = _largest_lower_amounts(layouts, all_amounts)
    return candidates


def repair_total_word(text: str) -> str:
    """The text with a misread TOTAL spelt right; same length, so positions in
    it are positions in the original."""
    return _MISREAD_TOTAL.sub(
        lambda word: (
            "TOTAL" if sum(c.isalpha() for c in word.group(0)) >= 3 else word.group(0)
        ),
        text,
    )


def is_not_total(text: str) -> bool:
    text = repair_total_word(text)
    if _NOT_TOTAL.search(text):
        return True
    tax = TAX_WORDS.search(text)
    if tax is None:
        return False
    # "TOTAL INCL. GST" is the total; "GST @6% INCLUDED IN TOTAL" is the tax.
    return not (_INCLUDES_TAX.search(text) and not TAX_WORDS.match(text.strip()))


def total_label(text: str) -> tuple[re.Match[str], float] | None:
    """The strongest total label on a line, or a weak one for a subtotal, which
    is the total on receipts that print nothing else."""
    text = repair_total_word(text)
    if SUBTOTAL.search(text) and not TAX_WORDS.search(text):
        subtotal = SUBTOTAL.search(text)
        return (subtotal, 0.35) if subtotal else None
    if is_not_total(text):
        return None
    for pattern, _, weight in _TOTAL_LABELS:
        match = pattern.search(text)
        if match:
            return match, weight
    return None


def _labelled_totals(layout: PageLayout, placed: PlacedLine) -> list[Candidate]:
    text = placed.line.text
    label = total_label(text)
    if label is None:
        return []
    match, weight = label
    # As printed, not as repaired: the reviewer compares it with the page.
    printed_label = text[match.start() : match.end()].strip()
    found: list[tuple[PlacedLine, AmountMatch, str, float]] = [
        (placed, amount, "on the same line", 1.0)
        for amount in amounts_in(text)
        if amount.start >= match.end()
    ]
    if not found:
        for other in layout.right_of(placed):
            other_amounts = cell_amounts(other.line.text)
            if not other_amounts and (
                found
                or (
                    total_label(other.line.text) is None
                    and is_not_total(other.line.text)
                )
            ):
                # "TOTAL | CASH 50.00", "Gross Total | $1,650.00 | Total Spots
                # | 5": the row moves on to another label.
                break
            found.extend(
                (other, amount, "right of it", 0.95) for amount in other_amounts
            )
    if not found:
        found.extend(
            (other, amount, "right of it, a little lower", 0.9)
            for other in _lower_right(layout, placed)
            for amount in cell_amounts(other.line.text)
        )
    # An item table's header row ("Qty | Price | Total") is left out: its
    # column's foot may belong to the tax summary under it.
    if not found and not _TABLE_HEADER.search(_text_of(layout.rows[placed.row])):
        foot = column_sum_cell(layout, placed, cell_amounts)
        cell = totals_row_cell(layout, placed) if foot is None else None
        if foot is not None:
            found.append((foot[0], foot[1], "at its column's foot, their sum", 0.95))
        elif cell is not None:
            found.extend(
                (cell, amount, "in its column, on the table's totals row", 0.9)
                for amount in cell_amounts(cell.line.text)[-1:]
            )
    if not found and not _TABLE_HEADER.search(text):
        for other in layout.below(placed):
            found.extend(
                (other, amount, "below it", 0.75)
                for amount in cell_amounts(other.line.text)[:1]
            )
    # A row holding several amounts is a table (tax summary, item line), where
    # "TOTAL" heads a column of parts rather than the amount to pay.
    table_penalty = 0.75 if len(found) > 1 else 1.0
    # Under a "GST Summary" heading, TOTAL adds up the summary's columns (net
    # and tax): parts of the total to pay, however OCR split or merged the row.
    if under_tax_summary(layout, placed.row):
        table_penalty *= 0.5
    candidates: list[Candidate] = []
    for index, (source, amount, where, location_weight) in enumerate(found):
        if amount.value == 0:
            continue
        pattern_weight = 1.0 if amount.has_decimals else 0.6
        # A correction invoice or a credit note prints its total below zero;
        # elsewhere a negative amount after a total label is more often a
        # discount's, so it yields to any positive one.
        if amount.value < 0:
            pattern_weight *= 0.8
        # In a multi-amount row the last column is usually the row's total.
        column_weight = 1.0 if index == len(found) - 1 else 0.9
        score = (
            0.85
            * weight
            * location_weight
            * pattern_weight
            * table_penalty
            * column_weight
        )
        candidates.append(
            Candidate(
                value=format_amount(amount.value),
                raw_value=amount.raw,
                score=score,
                placed=source,
                explanation=f"after label '{printed_label}', {where}",
            )
        )
    return candidates


def _lower_right(layout: PageLayout, placed: PlacedLine) -> list[PlacedLine]:
    """Boxes of the next row right of `placed` that still touch its height: a
    value printed a little lower than its label, which a tilted photo puts
    on a row of its own."""
    if placed.row + 1 >= len(layout.rows):
        return []
    return [
        other
        for other in layout.rows[placed.row + 1]
        if other.box[0] > placed.box[2]
        and other.box[1] < placed.box[3]
        and other.box[3] > placed.box[1]
    ]


def under_tax_summary(layout: PageLayout, row: int) -> bool:
    """Whether a tax summary heading ("GST Summary", OCR'd "GST Sunmary")
    is printed on the row or a few rows above it."""
    return any(
        _TAX_SUMMARY.search(placed.line.text)
        for above in layout.rows[max(0, row - _SUMMARY_ROWS) : row + 1]
        for placed in above
    )


_TAX_SUMMARY = re.compile(r"(?i)(?:[gc6]st|tax|vat|sst)\s*su[mn]")
_SUMMARY_ROWS = 6


def _tax_summary_sums(
    layouts: list[PageLayout], all_amounts: list[tuple[PlacedLine, AmountMatch]]
) -> list[Candidate]:
    """A tax summary's total row, "Total | 83.93 | 5.04": its net and tax add
    up to the total to pay, taken when that sum is printed elsewhere."""
    sums: list[Candidate] = []
    for layout in layouts:
        for index, row in enumerate(layout.rows):
            text = _text_of(row)
            label = total_label(text)
            if label is None or not under_tax_summary(layout, index):
                continue
            parts = [
                amount.value
                for placed in row
                for amount in amounts_in(placed.line.text)
                if amount.has_decimals and amount.value > 0
            ]
            wanted = {net + tax for net, tax in itertools.pairwise(parts)}
            for placed, amount in all_amounts:
                if (
                    amount.value in wanted
                    and placed.row != index
                    and not CHANGE.search(placed.line.text)
                ):
                    sums.append(
                        Candidate(
                            value=format_amount(amount.value),
                            raw_value=amount.raw,
                            score=0.85 * label[1] * 0.95,
                            placed=placed,
                            explanation="net + tax of the tax summary's total row",
                        )
                    )
                    break
    return sums


def _subtotal_and_charges(layouts: list[PageLayout]) -> list[Candidate]:
    """The subtotal plus the rows printed under it that add to it or take from
    it (service charge, tax, discount, rounding), when that sum is printed
    alone on one of the next rows: the total whose own label OCR mangled
    ("NLITOTAL 343.95") or cut ("TO : RM 73.00"). A sum that is an
    intermediate total ("after discount") starts the next run of charges."""
    sums: list[Candidate] = []
    for layout in layouts:
        first = next(
            (
                (index, money)
                for index, row in enumerate(layout.rows)
                if SUBTOTAL.search(_text_of(row))
                and not TAX_WORDS.search(_text_of(row))
                for money in [_last_money(row)]
                if money is not None
            ),
            None,
        )
        if first is None:
            continue
        row_index, base = first[0], first[1].value
        found: tuple[PlacedLine, AmountMatch] | None = None
        while True:
            totals, after = _add_charges(layout, row_index + 1, base)
            # Nothing added: a total equal to the last one is no arithmetic.
            totals.discard(base)
            match = _printed_sum(layout, after, totals)
            if match is None:
                break
            found, row_index = match[:2], match[2]
            base = match[1].value
        if found is not None:
            placed, amount = found
            sums.append(
                Candidate(
                    value=format_amount(amount.value),
                    raw_value=amount.raw,
                    score=0.8,
                    placed=placed,
                    explanation="subtotal plus the charges under it",
                )
            )
    return sums


def _with_sums_of_parts(
    candidates: list[Candidate], sums: list[Candidate]
) -> list[Candidate]:
    """The candidates with each sum of parts added: as a candidate of its own
    where no label found its value, else as strength and a reason for the
    labelled ones (whose label explains the value to a reviewer better)."""
    merged = list(candidates)
    for found in sums:
        same = [c for c in merged if c.value == found.value]
        if not same:
            merged.append(found)
            continue
        merged = [
            replace(
                c,
                score=max(c.score, found.score),
                explanation=f"{c.explanation}; {found.explanation}",
            )
            if c.value == found.value
            else c
            for c in merged
        ]
    return merged


def _printed_sum(
    layout: PageLayout, first_row: int, totals: set[Decimal]
) -> tuple[PlacedLine, AmountMatch, int] | None:
    """One of `totals` printed alone, with its cents, on one of the two rows
    from `first_row` (not tendered cash or change), and its row."""
    return _single_amount_row(layout, first_row, totals, within=2, with_cents=True)


def _text_of(row: tuple[PlacedLine, ...]) -> str:
    return " ".join(placed.line.text for placed in row)


def _is_payment(text: str) -> bool:
    """A row of cash tendered or change given: money, but never the total."""
    return bool(CASH.search(text) or CHANGE.search(text))


def _add_charges(
    layout: PageLayout, first_row: int, subtotal: Decimal
) -> tuple[set[Decimal], int]:
    """The totals the rows from `first_row` on make of the subtotal (a set:
    tills print a rounding adjustment's sign either way), and the first row
    that is not a charge."""
    totals = {subtotal}
    row_index = first_row
    for row_index in range(first_row, min(first_row + 6, len(layout.rows))):
        row = layout.rows[row_index]
        text = _text_of(row)
        if total_label(text) is not None and not SUBTOTAL.search(text):
            break
        amount = _last_money(row)
        if amount is None:
            break
        value = amount.value
        if ROUNDING.search(text) and abs(value) < 1:
            totals = {t + value for t in totals} | {t - value for t in totals}
        elif _DISCOUNT.search(text):
            totals = {t - abs(value) for t in totals}
        elif _SERVICE_CHARGE.search(text) or (
            TAX_WORDS.search(text) and not _INCLUDES_TAX.search(text)
        ):
            totals = {t + value for t in totals}
        else:
            break
    else:
        row_index += 1
    return totals, row_index


def _last_money(row: tuple[PlacedLine, ...]) -> AmountMatch | None:
    amounts = [
        amount
        for placed in row
        for amount in amounts_in(placed.line.text)
        if amount.has_decimals
    ]
    return amounts[-1] if amounts else None


_DISCOUNT = re.compile(r"(?i)\bdisc(?:ount)?\b")
_SERVICE_CHARGE = re.compile(r"(?i)serv(?:ice)?\.?\s*ch|\bsvc\b|\bsrv\b")


def cell_amounts(text: str) -> list[AmountMatch]:
    """The amounts in a box of its own beside or under a label. A box that is
    nothing but a number whose decimal point OCR read as a dash or comma
    ("16-00", "RM 22,90") holds that amount: alone in a cell it is no range,
    date or thousands group."""
    misread = _MISREAD_DECIMAL_POINT.fullmatch(text.strip())
    if misread is None:
        return amounts_in(text)
    repaired = f"{misread.group('whole')}.{misread.group('cents')}"
    return [
        replace(amount, raw=text.strip(), start=0, end=len(text))
        for amount in amounts_in(repaired)
    ]


_MISREAD_DECIMAL_POINT = re.compile(
    r"(?i)(?P<whole>(?:RM\s*)?\d{1,5})\s?[-,·]\s?(?P<cents>\d{2})"
)


def _arithmetic_totals(
    layouts: list[PageLayout],
    total: Decimal,
    all_amounts: list[tuple[PlacedLine, AmountMatch]],
) -> list[Candidate]:
    """Cash minus change, when that sum is also printed somewhere on the page
    other than the cash and change rows: with no change given, the cash row
    itself holds cash - 0.00, which confirms nothing ("CASH 04.00", a misread
    94.00)."""
    pages = {layout.page.page_number: layout for layout in layouts}
    for placed, amount in all_amounts:
        row_text = _text_of(pages[placed.page_number].rows[placed.row])
        paying = CASH.search(row_text) and total_label(row_text) is None
        if amount.value == total and not paying and not CHANGE.search(row_text):
            return [
                Candidate(
                    value=format_amount(total),
                    raw_value=amount.raw,
                    score=0.45,
                    placed=placed,
                    explanation="equals cash tendered minus change",
                )
            ]
    return []


def _rounded_totals(
    layouts: list[PageLayout], candidates: list[Candidate]
) -> list[Candidate]:
    """A labelled total plus the rounding adjustment printed below it, when that
    sum is printed alone on a later row: the amount actually paid."""
    rounded: list[Candidate] = []
    for layout in layouts:
        adjustments = [
            (placed.row, amount.value)
            for placed in layout.lines
            if ROUNDING.search(placed.line.text)
            for amount in _row_amounts(layout, placed, look_below=False)[-1:]
            if amount.value != 0 and abs(amount.value) < 1
        ]
        if not adjustments:
            continue
        page_candidates = [
            c
            for c in candidates
            if c.placed is not None and c.placed.page_number == layout.page.page_number
        ]
        for candidate in page_candidates:
            origin_row = candidate.placed.row if candidate.placed else 0
            value = Decimal(candidate.value)
            for adjustment_row, adjustment in adjustments:
                if adjustment_row < origin_row:
                    continue
                # Tills print the adjustment's sign inconsistently: try both.
                targets = {value + adjustment, value - adjustment}
                found = _single_amount_row(layout, adjustment_row, targets)
                if found is not None:
                    placed, amount, _ = found
                    rounded.append(
                        _rounded(candidate, placed, amount, "after rounding")
                    )
                    break
    return rounded


def _rounded_nearby(
    layouts: list[PageLayout], candidates: list[Candidate]
) -> list[Candidate]:
    """A labelled total rounded to the cash step a few rows below it, where the
    adjustment itself is unreadable or left out: "Total Sales (Inclusive GST)
    22.91", then "Rounding RM 22.90". Only when the row says so (rounding,
    adjusted): matching cash minus change instead gained nothing on receipt
    photos and lost two labelled receipts that keep the unrounded total
    ("TOTAL: 72.93" over "TTL ATF RND 72.95", paid 73.00, change 0.05)."""
    pages = {layout.page.page_number: layout for layout in layouts}
    rounded: list[Candidate] = []
    for candidate in candidates:
        if candidate.placed is None:
            continue
        layout = pages[candidate.placed.page_number]
        value = Decimal(candidate.value)
        first = candidate.placed.row + 1
        for row in layout.rows[first : first + _ROUNDED_WITHIN_ROWS]:
            text = _text_of(row)
            if not _ROUNDED_ROW.search(text) or _is_payment(text):
                continue
            nearby = [
                (placed, amount)
                for placed in row
                for amount in cell_amounts(placed.line.text)
                if amount.has_decimals
                and 0 < abs(amount.value - value) <= _ROUNDING_STEP
            ]
            if nearby:
                placed, amount = nearby[-1]
                rounded.append(_rounded(candidate, placed, amount, "rounded below it"))
                break
    return rounded


def _rounded(
    total: Candidate, placed: PlacedLine, amount: AmountMatch, how: str
) -> Candidate:
    """`total` as the till rounded it to `amount`: a little surer, since two
    rows agree on it."""
    return Candidate(
        value=format_amount(amount.value),
        raw_value=amount.raw,
        score=total.score + 0.1,
        placed=placed,
        explanation=f"{total.explanation}, {how}",
    )


# Cash is rounded to 5 cents in Malaysia, Switzerland, Australia ...; no till
# moves a total by more than one such step.
_ROUNDING_STEP = Decimal("0.05")
_ROUNDED_WITHIN_ROWS = 4
_ROUNDED_ROW = re.compile(r"(?i)round|\badj(?:usted|ustment)?\b")


def _single_amount_row(
    layout: PageLayout,
    first_row: int,
    targets: set[Decimal],
    *,
    within: int = 4,
    with_cents: bool = False,
) -> tuple[PlacedLine, AmountMatch, int] | None:
    """The first of `within` rows from `first_row` on holding exactly one
    amount (`with_cents`: counting only amounts with cents), one of
    `targets`, that is not tendered cash or change; with its row."""
    for row_index in range(first_row, min(first_row + within, len(layout.rows))):
        row = layout.rows[row_index]
        if _is_payment(_text_of(row)):
            continue
        amounts = [
            (placed, amount)
            for placed in row
            for amount in amounts_in(placed.line.text)
            if amount.has_decimals or not with_cents
        ]
        if len(amounts) == 1 and amounts[0][1].value in targets:
            return amounts[0][0], amounts[0][1], row_index
    return None


def _adjust_totals(
    candidates: list[Candidate],
    all_amounts: list[tuple[PlacedLine, AmountMatch]],
    cash_minus_change: Decimal | None,
) -> list[Candidate]:
    largest = max(Decimal(c.value) for c in candidates)
    last_row = max((c.placed.row for c in candidates if c.placed), default=0) or 1
    adjusted: list[Candidate] = []
    for candidate in candidates:
        value = Decimal(candidate.value)
        score = candidate.score
        if value == largest:
            # Parts of the total (net, tax) are smaller than the total itself.
            score += 0.02
        if candidate.placed is not None:
            # Later totals come after rounding and adjustments.
            score += 0.03 * candidate.placed.row / last_row
        explanation = candidate.explanation
        if value == cash_minus_change:
            score += 0.15
            explanation += "; equals cash tendered minus change"
        repeats = sum(1 for _, amount in all_amounts if amount.value == value)
        if repeats >= 2:
            score += 0.03
        adjusted.append(
            Candidate(
                candidate.value,
                candidate.raw_value,
                score,
                candidate.placed,
                explanation,
            )
        )
    return adjusted


def cash_minus_change(layouts: list[PageLayout]) -> Decimal | None:
    """Tendered cash minus change, when both are printed: the total by arithmetic."""
    cash = change = None
    for layout in layouts:
        for placed in layout.lines:
            text = placed.line.text
            is_change = bool(CHANGE.search(text))
            if not is_change and not CASH.search(text):
                continue
            # Tendered money is printed with cents; whole numbers on these rows
            # are card numbers ("4553 8800 9593 0119 VISA") or misreads
            # ("CASH 1.S.00" read as 1).
            amounts = _row_amounts(layout, placed, money_only=True)
            if not amounts:
                continue
            if is_change and change is None:
                change = abs(amounts[-1].value)
            elif not is_change and cash is None:
                cash = abs(amounts[-1].value)
    if cash is None or change is None or change >= cash:
        return None
    return cash - change


def _row_amounts(
    layout: PageLayout,
    placed: PlacedLine,
    *,
    look_below: bool = True,
    money_only: bool = False,
) -> list[AmountMatch]:
    """Amounts on the line, else right of it, else just below it; with
    `money_only`, amounts printed with decimals alone."""
    below = layout.below(placed)[:1] if look_below else []
    for source in [placed, *layout.right_of(placed), *below]:
        amounts = [
            amount
            for amount in amounts_in(source.line.text)
            if amount.has_decimals or not money_only
        ]
        if amounts:
            return amounts
    return []


def _largest_lower_amounts(
    layouts: list[PageLayout], all_amounts: list[tuple[PlacedLine, AmountMatch]]
) -> list[Candidate]:
    """No total label anywhere: the largest decimal amount in the lower half."""
    pages = {layout.page.page_number: layout for layout in layouts}

    def row_text(placed: PlacedLine) -> str:
        # The whole row: "Accepted total | 10.00" is cash tendered even though
        # the box holding 10.00 says nothing.
        row = pages[placed.page_number].rows[placed.row]
        return " ".join(other.line.text for other in row)

    lower = [
        (placed, amount)
        for placed, amount in all_amounts
        if amount.has_decimals
        and amount.value > 0
        and placed.center_y >= 0.4 * pages[placed.page_number].page.height
        and not is_not_total(row_text(placed))
    ]
    if not lower:
        return []
    largest = max(amount.value for _, amount in lower)
    return [
        Candidate(
            value=format_amount(amount.value),
            raw_value=amount.raw,
            score=0.3 if amount.value == largest else 0.15,
            placed=placed,
            explanation="largest amount in the lower half, no total label found",
        )
        for placed, amount in lower
    ]
