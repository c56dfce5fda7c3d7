"""Rule-based field extraction from OCR lines: labels, patterns and position.

Each field is chosen from scored candidates; the score of the winner and how
close its rivals came become the confidence, so an ambiguous page reads as
uncertain instead of confidently wrong.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from decimal import Decimal

from pipeline.extract import invoice_fields
from pipeline.extract.candidates import Candidate, amounts_in, choose, id_token
from pipeline.extract.layout import PageLayout, PlacedLine, layout_pages, row_box
from pipeline.extract.normalize import (
    AmountMatch,
    currency_marks,
    find_dates,
    format_amount,
)
from pipeline.types import Box, Extraction, FieldValue, PageText


def _spaced_words(words: str) -> str:
    """Label words joined so that OCR-dropped spaces still match ("GRANDTOTAL")."""
    return r"\s*".join(re.escape(word) for word in words.split())


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


# --- total -------------------------------------------------------------------

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
    r"|excluding|exclusive|before\s*tax|change|tender|\bcash\b|\bcard\b|\bpaid\b"
    r"|^\W*rounding|rounding\s*adj|\bround\s*adj|deposit|nettobetrag|netto"
    r"|anzahlung|acompte|anticipo|aanbetaling|acconto|bereits\s*bezahlt|zuschl|abschl"
    r"|total\s*h\.?t|points|voucher|\bqty\b|\bbalance\b(?!\s*due)|accepted"
)
# Tax wording marks a tax line, unless the line says the total includes tax.
_TAX_WORDS = re.compile(
    r"(?i)\bgst\b|\bvat\b|\btax\b|mwst|\bust\b|\btva\b|\bsst\b|\biva\b|\bbtw\b"
)
# "incl. GST" qualifies a total; "GST included" states the tax within it.
_INCLUDES_TAX = re.compile(r"(?i)incl(?!uded)|inkl")
_ROUNDING = re.compile(r"(?i)round(?:ing)?\s*(?:adj|adjustment)|rounding|pembundaran")
_TABLE_HEADER = re.compile(
    r"(?i)\b(?:qty|quantity|price|u/p|unit|item|description|desc)\b"
)
_SUBTOTAL = re.compile(r"(?i)sub\s*-?\s*total")
_CASH = re.compile(
    r"(?i)\bcash\b|tender|\bpaid\b|bayar|payment|visa|master|credit|accepted"
)
_CHANGE = re.compile(r"(?i)change|\bbaki\b|kembali")

# --- dates -------------------------------------------------------------------

_DATE_LABEL = re.compile(
    r"(?i)(?:invoice|inv|bill|receipt|document|doc|issue|trans\w*|order|tax\s*point)?"
    r"\s*(?<![a-z])date(?![a-z])|datum|date\s*de\s*facture|tarikh|fecha|\bdata\b"
)
# "Rechnung Nr. 4711 vom 05.03.2018", "Facture n° 12 du 3 mars 2018".
_ISSUED_ON = re.compile(
    r"(?i)(?:rechnung|rektur|gutschrift|invoice|facture|avoir|beleg)\w*\W.*"
    r"(?:\bvom|\bdu|\bdated|\d(?:vom|du))\s*$"
)
_DUE_LABEL = re.compile(
    r"(?i)\bdue|f[äa]llig|[ée]ch[ée]ance|expir|valid|delivery|liefer|period"
    r"|leistung|\bfrom\b|until|\bbis\b|best\s*before|\bexp\b"
)

# --- invoice number ----------------------------------------------------------

_NUMBER_MARK = r"(?:no|nr|num|number|#|n°|n\.|nº)\.?"
_INVOICE_NUMBER_LABELS: list[tuple[re.Pattern[str], str, float]] = [
    (re.compile(pattern, re.IGNORECASE), description, weight)
    for pattern, description, weight in (
        (r"(?:tax\s*)?invoice\s*" + _NUMBER_MARK, "Invoice No", 1.0),
        (r"\binv\s*" + _NUMBER_MARK, "Inv No", 0.95),
        (r"rechnungs?\s*-?\s*(?:nummer|nr\.?)", "Rechnungsnummer", 1.0),
        # "Baurechnung Nr.", "Rechnungskorrektur Nr.", "Rechnung des Versicherers
        # Nr.", "Rechnung #": the document's own name, then its number.
        (
            r"(?:rechnung|gutschrift|korrektur|rektur)\w*(?:\s+des\s+\w+)?\s*"
            r"(?:nr\.?|nummer|#|no\.?)",
            "Rechnung Nr.",
            1.0,
        ),
        (r"\bbeleg\s*-?\s*(?:nr\.?|nummer)", "Beleg-Nr", 0.9),
        # Broadcast ad-buy invoices: the contract the invoice bills against.
        (r"^\s*contract(?:\s*/\s*revision|\s*#|\s*no\.?)?\s*$", "Contract", 0.95),
        (r"\binvoice\s*#", "Invoice #", 1.0),
        (r"facture\s*(?:n°|no|nº|num[ée]ro)", "Facture n°", 1.0),
        (r"n°\s*(?:de\s*)?facture|num[ée]ro\s*de\s*facture", "N° de facture", 1.0),
        (r"factuur\s*-?\s*(?:nummer|nr\.?)", "Factuurnummer", 1.0),
        (
            r"fattura\s*(?:n\.|nr\.?|n°|numero)|(?:numero|n\.)\s*(?:di\s*)?fattura",
            "Fattura n.",
            1.0,
        ),
        (
            r"factura\s*(?:n[º°o]\.?|núm\.?|número)|(?:n[º°o]|número)\s*(?:de\s*)?factura",
            "Nº de factura",
            1.0,
        ),
        (r"\bbill\s*" + _NUMBER_MARK, "Bill No", 0.85),
        (r"receipt\s*" + _NUMBER_MARK, "Receipt No", 0.85),
        (r"\b(?:document|doc)\s*" + _NUMBER_MARK, "Document No", 0.8),
        (r"\b(?:cash\s*)?(?:sales?|cs)\s*(?:no|#)\.?", "Sales No", 0.6),
        (r"\b(?:trans(?:action)?|trx|txn)\s*" + _NUMBER_MARK, "Transaction No", 0.5),
        (r"\bslip\s*" + _NUMBER_MARK, "Slip No", 0.5),
        (r"\b(?:check|chk|ticket)\s*" + _NUMBER_MARK, "Check No", 0.5),
        (r"^\s*invoice\s*:", "Invoice", 0.7),
        # A title followed by the number: "Facture FA-2017-0010", "Avoir AV-...".
        (
            r"^\s*(?:facture|avoir|invoice|rechnung|gutschrift|credit\s*note)\s+"
            r"(?=[A-Z0-9][A-Z0-9/_.-]*\d)",
            "document title",
            0.8,
        ),
    )
]
_NOT_INVOICE_NUMBER = re.compile(
    r"(?i)\b(?:gst|vat|tax\s*id|reg|co\.?\s*reg|company|tel|phone|fax|acc(?:oun)?t"
    r"|customer|member|card|table|pax|ust-?id|steuer|siret|tva|p\.?\s*o|order)\b"
)

# --- vendor ------------------------------------------------------------------

_COMPANY_SUFFIX = re.compile(
    r"(?i)(?:sdn\.?\s*bh?d|\bbhd\b|\bberhad\b|gmbh|\binc\b\.?|\bltd\b\.?|limited|\bllc\b"
    r"|\bl\.?l\.?p\b|\bs\.\s?a\.?(?!\w)|\bsarl\b|\bs\.?a\.?s\b|\bb\.?v\b\.?|\bplc\b"
    r"|\bag\b|\bkg\b|\bs\.?r\.?l\b|\bpty\b|\bpte\b|\bcorp\b|corporation|\bco\.|"
    r"\bcompany\b|enterprise|trading|\bmart\b|restaurant|\bstore\b|\bsupermarket\b"
    r"|\bhardware\b|\bstationery\b|\bbakery\b|\bcafe\b|\bkedai\b|\bsdn\b)"
)
_STRONG_SUFFIX = re.compile(
    r"(?i)sdn\.?\s*b[a-z]?d\b|\bbhd\b|berhad|gmbh|\binc\b|\bltd\b|limited|\bllc\b|\bplc\b"
    r"|\bsarl\b|\bs\.a\.?|\bb\.v\b|\bpte\b|\bpty\b|\bag\b|\bcorp\b"
    r"|\bs/b\b|\bsb\b"
)
_DOCUMENT_TITLE = re.compile(
    r"(?i)^\W*(?:(?:simplified\s*)?(?:tax\s*)?invoice|receipt|official\s*receipt"
    r"|cash\s*(?:sale|bill|receipt)|bill|quotation|rechnung|facture|credit\s*note"
    r"|delivery\s*order|tax\s*invoice|copy|duplicate|welcome|thank\s*you|cashier"
    r"|customer\s*copy|sales\s*receipt|order)\W*$"
)
_BOILERPLATE = re.compile(
    r"(?i)thank|goods\s*sold|shopping|welcome|please|terima\s*kasih|selamat"
)
_REGISTRATION_LINE = re.compile(
    r"(?i)^\W*(?:co(?:mpany)?\.?\s*(?:no|reg)|reg|gst|tax|roc|ssm|\d{4,})"
)
_REGISTRATION_TAIL = re.compile(
    r"(?i)\s*\(?\s*(?:(?:co(?:mpany)?\.?\s*(?:no|reg)|reg\.?\s*no|gst\s*(?:id|no))"
    r"|\d{4,}[\s-]*[A-Z]?\b).*$"
)
_ADDRESS_OR_CONTACT = re.compile(
    r"(?i)\b(?:jalan|jln|lorong|taman|road|street|st\.|avenue|ave|blvd|lot|no\s*\.?\s*\d"
    r"|tel|fax|phone|hp|mobile|email|e-mail|www|http|gst|reg|co\.\s*no|ssm|tin"
    r"|strasse|straße|rue|avenue|floor|suite|p\.?o\.?\s*box|selangor|kuala|johor"
    r"|\d{5})\b|@|\d{3}[-\s]\d{3,4}"
)


class HeuristicExtractor:
    """Finds the invoice and receipt fields from OCR layout.

    Never raises on odd text; a field without any believable candidate is left
    out of the result.
    """

    name = "heuristic"
    version = "2"

    def extract(self, pages: Sequence[PageText]) -> Extraction:
        layouts = [layout for layout in layout_pages(pages) if layout.rows]
        if not layouts:
            return Extraction()
        currency = _currency(layouts)
        day_first = _prefers_day_first(layouts, currency)
        vendor = _vendor_name(layouts[0])
        issued = _invoice_date(layouts, day_first)
        total, subtotal, tax = invoice_fields.reconcile_amounts(
            _total_candidates(layouts),
            invoice_fields.subtotal_candidates(layouts),
            invoice_fields.tax_candidates(layouts),
        )
        fields = [
            vendor,
            invoice_fields.vendor_address(
                layouts,
                vendor,
                comma_before_postcode=currency is not None
                and currency.value in _EUROPEAN_CURRENCIES,
            ),
            invoice_fields.vendor_vat_id(layouts),
            invoice_fields.customer_name(layouts),
            _invoice_number(layouts),
            issued,
            invoice_fields.due_date(layouts, day_first, issued),
            invoice_fields.po_number(layouts),
            currency,
            subtotal,
            tax,
            total,
            invoice_fields.iban(layouts),
            invoice_fields.bic(layouts),
            invoice_fields.payment_terms(layouts),
        ]
        return Extraction(fields=tuple(f for f in fields if f is not None))


# Currencies of the countries whose one-line addresses put a comma before
# the postcode ("Hauptstr. 5, 12345 Berlin").
_EUROPEAN_CURRENCIES = frozenset(
    {"EUR", "GBP", "CHF", "SEK", "DKK", "NOK", "PLN", "CZK"}
)


# --- total amount ------------------------------------------------------------


def _total_candidates(layouts: list[PageLayout]) -> list[Candidate]:
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
    candidates.extend(_rounded_totals(layouts, candidates))
    arithmetic = _cash_minus_change(layouts)
    if arithmetic is not None:
        candidates.extend(_arithmetic_totals(arithmetic, all_amounts))
    if candidates:
        candidates = _adjust_totals(candidates, all_amounts, arithmetic)
    else:
        candidates = _largest_lower_amounts(layouts, all_amounts)
    return candidates


def _is_not_total(text: str) -> bool:
    if _NOT_TOTAL.search(text):
        return True
    tax = _TAX_WORDS.search(text)
    if tax is None:
        return False
    # "TOTAL INCL. GST" is the total; "GST @6% INCLUDED IN TOTAL" is the tax.
    return not (_INCLUDES_TAX.search(text) and not _TAX_WORDS.match(text.strip()))


def _total_label(text: str) -> tuple[re.Match[str], float] | None:
    """The strongest total label on a line, or a weak one for a subtotal, which
    is the total on receipts that print nothing else."""
    if _SUBTOTAL.search(text) and not _TAX_WORDS.search(text):
        subtotal = _SUBTOTAL.search(text)
        return (subtotal, 0.35) if subtotal else None
    if _is_not_total(text):
        return None
    for pattern, _, weight in _TOTAL_LABELS:
        match = pattern.search(text)
        if match:
            return match, weight
    return None


def _labelled_totals(layout: PageLayout, placed: PlacedLine) -> list[Candidate]:
    text = placed.line.text
    label = _total_label(text)
    if label is None:
        return []
    match, weight = label
    found: list[tuple[PlacedLine, AmountMatch, str, float]] = [
        (placed, amount, "on the same line", 1.0)
        for amount in amounts_in(text)
        if amount.start >= match.end()
    ]
    if not found:
        for other in layout.right_of(placed):
            other_amounts = amounts_in(other.line.text)
            if not other_amounts and (
                found
                or (
                    _total_label(other.line.text) is None
                    and _is_not_total(other.line.text)
                )
            ):
                # "TOTAL | CASH 50.00", "Gross Total | $1,650.00 | Total Spots
                # | 5": the row moves on to another label.
                break
            found.extend(
                (other, amount, "right of it", 0.95) for amount in other_amounts
            )
    if not found and not _TABLE_HEADER.search(text):
        for other in layout.below(placed):
            found.extend(
                (other, amount, "below it", 0.75)
                for amount in amounts_in(other.line.text)[:1]
            )
    # A row holding several amounts is a table (tax summary, item line), where
    # "TOTAL" heads a column of parts rather than the amount to pay.
    table_penalty = 0.75 if len(found) > 1 else 1.0
    candidates: list[Candidate] = []
    for index, (source, amount, where, location_weight) in enumerate(found):
        if amount.value <= 0:
            continue
        pattern_weight = 1.0 if amount.has_decimals else 0.6
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
                explanation=f"after label '{match.group(0).strip()}', {where}",
            )
        )
    return candidates


def _arithmetic_totals(
    total: Decimal, all_amounts: list[tuple[PlacedLine, AmountMatch]]
) -> list[Candidate]:
    """Cash minus change, when that sum is also printed somewhere on the page."""
    for placed, amount in all_amounts:
        if amount.value == total and not _CHANGE.search(placed.line.text):
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
            if _ROUNDING.search(placed.line.text)
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
                    placed, amount = found
                    rounded.append(
                        Candidate(
                            value=format_amount(amount.value),
                            raw_value=amount.raw,
                            score=candidate.score + 0.1,
                            placed=placed,
                            explanation=f"{candidate.explanation}, after rounding",
                        )
                    )
                    break
    return rounded


def _single_amount_row(
    layout: PageLayout, first_row: int, targets: set[Decimal]
) -> tuple[PlacedLine, AmountMatch] | None:
    """The first row from `first_row` on holding exactly one amount, one of
    `targets`, that is not tendered cash or change."""
    for row in layout.rows[first_row : first_row + 4]:
        text = " ".join(placed.line.text for placed in row)
        if _CASH.search(text) or _CHANGE.search(text):
            continue
        amounts = [(placed, a) for placed in row for a in amounts_in(placed.line.text)]
        if len(amounts) == 1 and amounts[0][1].value in targets:
            return amounts[0]
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


def _cash_minus_change(layouts: list[PageLayout]) -> Decimal | None:
    """Tendered cash minus change, when both are printed: the total by arithmetic."""
    cash = change = None
    for layout in layouts:
        for placed in layout.lines:
            text = placed.line.text
            is_change = bool(_CHANGE.search(text))
            if not is_change and not _CASH.search(text):
                continue
            amounts = _row_amounts(layout, placed)
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
    layout: PageLayout, placed: PlacedLine, *, look_below: bool = True
) -> list[AmountMatch]:
    """Amounts on the line, else right of it, else just below it."""
    below = layout.below(placed)[:1] if look_below else []
    for source in [placed, *layout.right_of(placed), *below]:
        amounts = amounts_in(source.line.text)
        if amounts:
            return amounts
    return []


def _largest_lower_amounts(
    layouts: list[PageLayout], all_amounts: list[tuple[PlacedLine, AmountMatch]]
) -> list[Candidate]:
    """No total label anywhere: the largest decimal amount in the lower half."""
    heights = {layout.page.page_number: layout.page.height for layout in layouts}
    lower = [
        (placed, amount)
        for placed, amount in all_amounts
        if amount.has_decimals
        and amount.value > 0
        and placed.center_y >= 0.4 * heights[placed.page_number]
        and not _is_not_total(placed.line.text)
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


# --- invoice date ------------------------------------------------------------


def _prefers_day_first(layouts: list[PageLayout], currency: FieldValue | None) -> bool:
    """Day-first unless the page's own dates or a US currency say month-first."""
    day_first_evidence = month_first_evidence = 0
    for layout in layouts:
        for placed in layout.lines:
            for found in re.finditer(
                r"(?<!\d)(\d{1,2})[./-](\d{1,2})[./-]\d{2,4}", placed.line.text
            ):
                first, second = int(found.group(1)), int(found.group(2))
                if first > 12 >= second:
                    day_first_evidence += 1
                elif second > 12 >= first:
                    month_first_evidence += 1
    if day_first_evidence != month_first_evidence:
        return day_first_evidence > month_first_evidence
    return not (currency is not None and currency.value == "USD")


def _invoice_date(layouts: list[PageLayout], day_first: bool) -> FieldValue | None:
    candidates: list[Candidate] = []
    for layout in layouts:
        for placed in layout.lines:
            for found in find_dates(placed.line.text, day_first=day_first):
                score, context = _date_context(layout, placed, found.start)
                quality = 1.0 if len(found.raw) >= 8 else 0.9
                if found.ambiguous:
                    quality *= 0.85
                # Invoice dates sit in the header; later dates are more often
                # due dates, delivery dates or validity notes.
                position = 1.0 - 0.1 * min(placed.row / max(len(layout.rows), 1), 1.0)
                page_weight = (
                    1.0
                    if layout.page.page_number == layouts[0].page.page_number
                    else 0.9
                )
                candidates.append(
                    Candidate(
                        value=found.value.isoformat(),
                        raw_value=found.raw,
                        score=score * quality * position * page_weight,
                        placed=placed,
                        explanation=f"date pattern {found.pattern}{context}",
                    )
                )
    return choose("invoice_date", candidates)


def _date_context(
    layout: PageLayout, placed: PlacedLine, start: int
) -> tuple[float, str]:
    """How strongly the text around a date says it is the document date."""
    before = placed.line.text[:start]
    label_sources = [before]
    left = [o for o in layout.rows[placed.row] if o.box[2] <= placed.box[0] + 5]
    if left:
        label_sources.append(left[-1].line.text)
    if _ISSUED_ON.search(before):
        return 0.95, ", after the invoice number ('... Nr. X vom')"
    for source in label_sources:
        if _DUE_LABEL.search(source):
            return 0.35, ", but labelled as a due/other date"
        label = _DATE_LABEL.search(source)
        if label:
            return 0.95, f", after label '{label.group(0).strip()}'"
    above = _line_above(layout, placed)
    if above is not None and not find_dates(above.line.text):
        if _DUE_LABEL.search(above.line.text):
            return 0.35, ", but labelled as a due/other date"
        label = _DATE_LABEL.search(above.line.text)
        if label:
            return 0.9, f", below label '{label.group(0).strip()}'"
    return 0.7, ", no label"


def _line_above(layout: PageLayout, placed: PlacedLine) -> PlacedLine | None:
    if placed.row == 0:
        return None
    overlapping = [
        other
        for other in layout.rows[placed.row - 1]
        if min(other.box[2], placed.box[2]) > max(other.box[0], placed.box[0])
    ]
    return overlapping[0] if overlapping else None


# --- invoice number ----------------------------------------------------------


def _invoice_number(layouts: list[PageLayout]) -> FieldValue | None:
    candidates: list[Candidate] = []
    for layout in layouts:
        for placed in layout.lines:
            text = placed.line.text
            for pattern, description, weight in _INVOICE_NUMBER_LABELS:
                label = pattern.search(text)
                if label is None:
                    continue
                if _NOT_INVOICE_NUMBER.search(text[: label.start()] + label.group(0)):
                    break
                candidates.extend(
                    _number_after_label(layout, placed, label, description, weight)
                )
                break
    return choose("invoice_number", candidates)


def _number_after_label(
    layout: PageLayout,
    placed: PlacedLine,
    label: re.Match[str],
    description: str,
    weight: float,
) -> list[Candidate]:
    sources: list[tuple[PlacedLine, str, str, float]] = [
        (placed, placed.line.text[label.end() :], "right of it", 1.0)
    ]
    sources.extend(
        (other, other.line.text, "right of it", 0.95)
        for other in layout.right_of(placed)[:2]
    )
    sources.extend(
        (other, other.line.text, "below it", 0.8) for other in layout.below(placed)[:1]
    )
    for source, text, where, location_weight in sources:
        token = id_token(text)
        if token is None:
            continue
        digits = sum(ch.isdigit() for ch in token)
        # Mostly-digit tokens of useful length look like document numbers;
        # a bare "1" or a word with one digit less so.
        shape = 1.0 if len(token) >= 4 and digits >= 2 else 0.6
        if find_dates(token):
            continue
        return [
            Candidate(
                value=token.upper(),
                raw_value=token,
                score=0.9 * weight * location_weight * shape,
                placed=source,
                explanation=f"after label '{label.group(0).strip()}', {where}",
            )
        ]
    return []


# --- vendor ------------------------------------------------------------------


def _vendor_name(layout: PageLayout) -> FieldValue | None:
    header_rows = min(len(layout.rows), max(8, len(layout.rows) // 4))
    heights = sorted(p.height for p in layout.lines)
    median_height = heights[len(heights) // 2] if heights else 1
    candidates = [
        candidate
        for row_index in range(header_rows)
        for cluster in _clusters(layout.rows[row_index])
        if (candidate := _vendor_candidate(layout, row_index, cluster, median_height))
    ]
    candidates += _labelled_vendors(layout)
    candidates += _footer_vendors(layout)
    return choose("vendor_name", candidates)


# "Verkäufer: Lieferant GmbH", or the label alone with the name under it (the
# ZUGFeRD viewer's layout). Not "Lieferantenstraße", nor "Verkäufer-IBAN".
_VENDOR_LABEL = re.compile(
    r"(?i)^\W*(?:verk[äa]ufer|lieferant|rechnungs?\s*-?\s*e?rsteller|seller|supplier|vendor"
    r"|fournisseur|vendeur|[ée]metteur|fornitore|cedente|leverancier|proveedor"
    r"|emisor)\s*(?::|$)"
)


def _labelled_vendors(layout: PageLayout) -> list[Candidate]:
    candidates = []
    for placed in layout.lines:
        label = _VENDOR_LABEL.match(placed.line.text)
        if label is None:
            continue
        rest = placed.line.text[label.end() :].strip()
        sources = [(placed, rest)] if rest else []
        # Below first: beside the seller's label often sits the buyer's.
        sources += [(o, o.line.text) for o in layout.below(placed)[:1]]
        sources += [(o, o.line.text) for o in layout.right_of(placed)[:1]]
        for source, text in sources:
            name = _strip_registration(" ".join(text.split()))
            if _FIELD_LABEL.search(name):
                continue
            if len(name) >= 3 and _is_name_like(name):
                candidates.append(
                    Candidate(
                        value=name,
                        raw_value=name,
                        score=0.92,
                        placed=source,
                        explanation=f"after label '{label.group(0).strip(' :')}'",
                    )
                )
                break
    return candidates


# Another field's label, not a name: "Nummer", "Käufer:", "Name:".
_FIELD_LABEL = re.compile(
    r"(?i):\s*$|^\W*(?:nummer|number|name|nr\.?|no\.?|id|k[äa]ufer|buyer|customer"
    r"|kunde|client|acheteur)\W*$"
)


# "Muster GmbH · Hauptstr. 5 · 12345 Berlin": a sender line or footer names
# the vendor first, then its address.
_FOOTER_IDS = re.compile(
    r"(?i)\biban\b|\bbic\b|ust\.?\s*-?id|\bvat\b|\btva\b|\bhrb?\b|amtsgericht"
    r"|registergericht|siret|\brcs\b|\bkvk\b|p\.?\s*iva|\bnif\b|\bcif\b"
)
_SEGMENTS = re.compile(r"\s+[·•|]\s+|\s*[·•|]\s*(?=\S)")


def _footer_vendors(layout: PageLayout) -> list[Candidate]:
    """A company name in the page's footer or in a sender line: where the
    vendor is named when the letterhead is only a logo."""
    candidates = []
    height = max(layout.page.height, 1)
    footer = [p for p in layout.lines if p.box[1] > 0.8 * height]
    # A footer holding the business's registration and bank details; a
    # receipt's last lines (a slogan, another company's name) are not one.
    footer_with_ids = any(_FOOTER_IDS.search(p.line.text) for p in footer)
    for placed in layout.lines:
        text = " ".join(placed.line.text.split())
        segments = _SEGMENTS.split(text)
        in_footer = footer_with_ids and placed.box[1] > 0.8 * height
        if len(segments) < 2 and not in_footer:
            continue
        name = _strip_registration(segments[0])
        if len(name) < 3 or not _is_name_like(name):
            continue
        if not _STRONG_SUFFIX.search(name) or _ADDRESS_OR_CONTACT.search(name):
            continue
        where = "in the footer" if in_footer else "first in a sender line"
        candidates.append(
            Candidate(
                value=name,
                raw_value=name,
                score=0.6,
                placed=placed,
                explanation=f"company name {where}",
            )
        )
    return candidates


def _clusters(row: Sequence[PlacedLine]) -> list[list[PlacedLine]]:
    """Split a row at wide horizontal gaps: a vendor name on the left and
    "INVOICE" on the right share a row but not a name."""
    clusters: list[list[PlacedLine]] = []
    for placed in row:
        if clusters:
            previous = clusters[-1][-1]
            gap = placed.box[0] - previous.box[2]
            if gap <= 2 * max(previous.height, placed.height):
                clusters[-1].append(placed)
                continue
        clusters.append([placed])
    return clusters


def _row_text(row: Sequence[PlacedLine]) -> str:
    return " ".join(" ".join(placed.line.text.split()) for placed in row)


def _is_name_like(text: str) -> bool:
    """Could this row be (part of) a business name, rather than a title, an
    address, contact details, a registration number or boilerplate?"""
    letters = sum(ch.isalpha() for ch in text)
    digits = sum(ch.isdigit() for ch in text)
    return not (
        letters < 3
        or digits > letters
        or _DOCUMENT_TITLE.match(text)
        or _BOILERPLATE.search(text)
        or _REGISTRATION_LINE.match(text)
        or find_dates(text)
    )


def _vendor_candidate(
    layout: PageLayout,
    row_index: int,
    row: Sequence[PlacedLine],
    median_height: int,
) -> Candidate | None:
    text = _SEGMENTS.split(_row_text(row))[0]
    if not _is_name_like(text):
        return None
    # "DIMILIKI: BANH MI CAFE SDN BHD" ("owned by:"): the name follows the label.
    label, colon, rest = text.partition(":")
    if colon and _STRONG_SUFFIX.search(rest) and not _STRONG_SUFFIX.search(label):
        text = rest.strip()
    name = _strip_registration(text)
    if len(name) < 3:
        return None
    reasons: list[str] = []
    score = 0.3
    if _STRONG_SUFFIX.search(name):
        score += 0.45
        reasons.append("company suffix")
    elif _COMPANY_SUFFIX.search(name):
        score += 0.25
        reasons.append("business word")
    elif _ADDRESS_OR_CONTACT.search(name):
        score -= 0.25
    height = max(p.height for p in row)
    if height >= 1.3 * max(median_height, 1):
        score += 0.1
        reasons.append("large text")
    if name.upper() == name:
        score += 0.05
    # Vendors head the page: each row further down costs a little.
    score -= 0.04 * row_index
    if row_index <= 1:
        reasons.append("top of page")
    box = row_box(row)
    wrapped = _wrapped_name(layout, row_index, name)
    if wrapped is not None:
        name, box = wrapped
        reasons.append("name wraps over two lines")
    return Candidate(
        value=name,
        raw_value=name,
        score=max(score, 0.01),
        placed=row[0],
        explanation=", ".join(reasons) or "near the top of the page",
        box=box,
    )


def _strip_registration(text: str) -> str:
    # "ABC SDN BHD (123456-X)" or "... S/B 273500-U (KSB)": the registration
    # number and anything after it are not part of the name.
    return _REGISTRATION_TAIL.sub("", text).strip(" ,:-(")


def _wrapped_name(
    layout: PageLayout, row_index: int, name: str
) -> tuple[str, Box] | None:
    """Join a name printed over two rows: a bare suffix row ("SDN BHD") after the
    name, or a name start ("LIAN CHI PU TIAN VEGETARIAN") before a short
    "RESTAURANT SDN BHD" / "CO. (M) SDN BHD" row."""
    rows = layout.rows
    suffix = _STRONG_SUFFIX.search(name)
    if suffix is None:
        if row_index + 1 >= len(rows):
            return None
        next_text = _strip_registration(_row_text(rows[row_index + 1]))
        dangling = re.search(r"(?i)(?:&|\band)$", name)
        if (
            (dangling or _STRONG_SUFFIX.search(next_text))
            and len(next_text.split()) <= 3
            and _is_name_like(next_text)
            and not _ADDRESS_OR_CONTACT.search(next_text)
        ):
            return f"{name} {next_text}", _union(
                row_box(rows[row_index]), row_box(rows[row_index + 1])
            )
        return None
    head = name[: suffix.start()].split()
    continues_above = (
        len(head) <= 1
        or head[0].upper() in ("CO.", "&", "AND")
        or name.count(")") > name.count("(")
    )
    if row_index == 0 or not continues_above:
        return None
    # Take up to two name-like rows above, stopping at an address, a title or
    # another company's name.
    first = row_index
    while first > max(0, row_index - 2):
        above = _row_text(rows[first - 1])
        if (
            not _is_name_like(above)
            or _STRONG_SUFFIX.search(above)
            or _ADDRESS_OR_CONTACT.search(above)
        ):
            break
        first -= 1
    if first == row_index:
        return None
    texts = [_row_text(rows[index]) for index in range(first, row_index)]
    box = row_box(rows[first])
    for index in range(first + 1, row_index + 1):
        box = _union(box, row_box(rows[index]))
    return " ".join([*texts, name]), box


def _union(a: Box, b: Box) -> Box:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


# --- currency ----------------------------------------------------------------

# Wording that places a document in a country, for pages that print no
# currency at all or only a "$" that many currencies share.
_IMPLIED_CURRENCY: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (
        re.compile(
            r"(?i)sdn\.?\s*bhd|\bbhd\b|malaysia|selangor|kuala\s*lumpur|johor"
            r"|\bjalan\b|\bjln\b"
        ),
        "MYR",
        "Malaysian company or address",
    ),
    (
        re.compile(r"(?i)mwst|ust-?id|gmbh|deutschland|\btva\b|\bsiret\b|\bttc\b"),
        "EUR",
        "German/French tax wording",
    ),
)


def _currency(layouts: list[PageLayout]) -> FieldValue | None:
    counts: Counter[str] = Counter()
    explicit: Counter[str] = Counter()
    first_seen: dict[str, PlacedLine] = {}
    for layout in layouts:
        for placed in layout.lines:
            for code, is_explicit in currency_marks(placed.line.text):
                counts[code] += 1
                explicit[code] += int(is_explicit)
                first_seen.setdefault(code, placed)
    implied = _implied_currency(layouts)
    if counts:
        code, count = counts.most_common(1)[0]
        if implied is not None and not explicit[code] and implied.value != code:
            # A bare "$" on a page that otherwise reads Malaysian is a local
            # habit, not US dollars; say so with a low confidence.
            return FieldValue(
                name="currency",
                raw_value=_currency_raw(first_seen[code].line.text, code),
                value=implied.value,
                confidence=0.35,
                page_number=implied.page_number,
                box=implied.box,
                explanation=f"shared sign only; {implied.explanation}",
            )
        rivals = sum(counts.values()) - count
        strength = 0.75 if explicit[code] else 0.6
        strength += min(0.2, 0.05 * (count - 1))
        if implied is not None and implied.value == code:
            strength += 0.05
        confidence = min(1.0, strength) * (count / (count + rivals))
        placed = first_seen[code]
        kind = "currency code" if explicit[code] else "currency sign"
        return FieldValue(
            name="currency",
            raw_value=_currency_raw(placed.line.text, code),
            value=code,
            confidence=round(confidence, 3),
            page_number=placed.page_number,
            box=placed.box,
            explanation=f"{kind} seen {count} time(s)",
        )
    return implied


def _implied_currency(layouts: list[PageLayout]) -> FieldValue | None:
    for layout in layouts:
        for placed in layout.lines:
            for pattern, code, why in _IMPLIED_CURRENCY:
                if pattern.search(placed.line.text):
                    return FieldValue(
                        name="currency",
                        raw_value="",
                        value=code,
                        confidence=0.3,
                        page_number=placed.page_number,
                        box=placed.box,
                        explanation=f"implied only: {why}",
                    )
    return None


def _currency_raw(text: str, code: str) -> str:
    for token in ("RM", "MYR", "US$", "S$", "$", "€", "£", "¥", code):
        if token in text:
            return token
    return code
