"""Subtotal and tax next to the total: their labelled candidates, and the one
combination where subtotal + tax = total, which raises all three.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

from pipeline.extract.candidates import Candidate, amounts_in, choose
from pipeline.extract.labelled_text import (
    Label,
    explain,
    labelled_texts,
    weighted_labels,
)
from pipeline.extract.layout import PageLayout, PlacedLine
from pipeline.extract.normalize import (
    format_amount,
)
from pipeline.extract.table_totals import column_sum_cell
from pipeline.types import Extraction, FieldValue

_SUBTOTAL_LABELS = weighted_labels(
    (r"sub\s*-?\s*total", 1.0),
    (r"total\s*(?:excl\.?|excluding|ex\.?|before\s*tax|h\.?t\.?|net)(?![a-z])", 1.0),
    (r"nettobetrag|netto\s*summe|summe\s*netto|gesamt\s*netto|netto(?:wert)?", 0.95),
    (r"(?:rechnungs)?summe\s*ohne\s*(?:ust|mwst|steuer)", 0.95),
    (r"montant\s*h\.?t|total\s*hors\s*taxes?|warenwert", 0.95),
    (r"(?:totale\s*)?imponibile|base\s*imponible|subtotaal|totaal\s*excl", 0.95),
    (r"net\s*(?:amount|value|total)|amount\s*(?:excl|before\s*tax)", 0.7),
)
_TAX_LABELS = weighted_labels(
    (r"total\s*(?:vat|tax|gst|sst|tva|mwst)|(?:vat|tax|gst|tva)\s*amount", 1.0),
    (r"steuerbetrag|(?:ust|mwst)\.?\s*-?\s*betrag|montant\s*(?:de\s*la\s*)?tva", 1.0),
    (r"mwst\.?|mehrwertsteuer|umsatzsteuer|u\.?st\.?(?![a-z])", 0.95),
    (r"vat|gst|sst|tva|sales\s*tax|tax", 0.9),
    (r"total[e]?\s*iva|totaal\s*btw|iva|btw", 0.9),
)
# Registration numbers, totals that include tax, and exemptions name tax but
# are not the tax amount.
_NOT_TAX_AMOUNT = re.compile(
    r"(?i)(?:vat|gst|sst|tax|tva|ust|mwst|btw|iva)\s*[-.]?\s*(?:id|reg|no\b|number|nr|#"
    r"|identification|registration|code|invoice|exempt|rate|%\s*$)"
    r"|ust-?id|steuer\s*-?\s*n(?:umme)?r|incl(?!uded)|inkl|brutto|\bexcl|exclusive"
    r"|p\.?\s*iva|partita|nif|cif"
    r"|sub\s*-?\s*total|total\s*(?:excl|h\.?t)|\bnet\b|netto|payable|due"
)


def _amount_candidates(
    layouts: Sequence[PageLayout],
    labels: Sequence[Label],
    *,
    exclude: re.Pattern[str] | None,
    take_last: bool,
    base: float,
) -> list[Candidate]:
    candidates = []
    for found, weight in labelled_texts(layouts, labels, exclude=exclude):
        amounts = [a for a in amounts_in(found.text) if a.has_decimals or a.value == 0]
        if not amounts:
            continue
        # "VAT 19 % on 100.00 = 19.00": the line's last amount is the tax;
        # "Subtotal 100.00 Tax 19.00": the first one follows the label.
        amount = amounts[-1] if take_last else amounts[0]
        candidates.append(
            Candidate(
                value=format_amount(amount.value),
                raw_value=amount.raw,
                score=base * weight * found.location_weight,
                placed=found.placed,
                explanation=explain(found),
            )
        )
    return candidates + _column_feet(layouts, labels, exclude=exclude, base=base)


def _column_feet(
    layouts: Sequence[PageLayout],
    labels: Sequence[Label],
    *,
    exclude: re.Pattern[str] | None,
    base: float,
) -> list[Candidate]:
    """Under a column headed by a label ("MwSt-Betrag", "Nettobetrag" over a
    tax summary with a row per rate), the cell that is the sum of the cells
    above it: the document's figure, where the cell right under the header is
    one rate's."""
    candidates = []
    for layout in layouts:
        for header in layout.lines:
            text = header.line.text
            if exclude is not None and exclude.search(text):
                continue
            weights = [label.weight for label in labels if label.pattern.search(text)]
            foot = column_sum_cell(layout, header, amounts_in) if weights else None
            if foot is None:
                continue
            cell, amount = foot
            candidates.append(
                Candidate(
                    value=format_amount(amount.value),
                    raw_value=amount.raw,
                    score=base * max(weights),
                    placed=cell,
                    explanation=f"under '{text.strip()}', at its column's foot, "
                    "the sum of the cells above it",
                )
            )
    return candidates


def subtotal_candidates(layouts: Sequence[PageLayout]) -> list[Candidate]:
    labelled = _amount_candidates(
        layouts,
        _SUBTOTAL_LABELS,
        exclude=re.compile(r"(?i)incl(?!uded)|inkl|brutto|ttc\b"),
        take_last=False,
        base=0.85,
    )
    return labelled or _from_rate_rows(layouts, "subtotal_amount", 0.7)


def tax_candidates(layouts: Sequence[PageLayout]) -> list[Candidate]:
    labelled = _amount_candidates(
        layouts, _TAX_LABELS, exclude=_NOT_TAX_AMOUNT, take_last=True, base=0.8
    )
    # Only where no label names the tax: a receipt that rounds its total to
    # 5 sen prints both, and its rate rows add up to the unrounded sum.
    return labelled or _from_rate_rows(layouts, "tax_amount", 0.85)


# "Steuerbasisbetrag USt. 19 %  198,00  37,62", "SR 6%  73.87  4.43": a tax
# summary row holds one rate, the base it applies to and the tax, which
# is the rate of the base to the cent. Such rows need no label saying which
# amount is the tax, and a document taxed at two rates has one row each.
_RATE = re.compile(r"(?<![\d.,])(\d{1,2}(?:[.,]\d{1,2})?)\s*%")
_MAX_RATE = Decimal(30)
_CENT = Decimal("0.01")


def _rate_rows(
    layouts: Sequence[PageLayout],
) -> list[tuple[PlacedLine, Decimal, Decimal]]:
    """Per tax summary row: the box holding its tax, its base and its tax."""
    found = []
    for layout in layouts:
        for row in layout.rows:
            text = " ".join(placed.line.text for placed in row)
            rates = {Decimal(m[1].replace(",", ".")) for m in _RATE.finditer(text)}
            if len(rates) != 1:
                continue
            rate = rates.pop()
            if not 0 < rate <= _MAX_RATE:
                continue
            cells = [
                (placed, amount.value)
                for placed in row
                for amount in amounts_in(_RATE.sub("", placed.line.text))
                if amount.has_decimals and amount.value > 0
            ]
            found.extend(
                [
                    (tax_box, base, tax)
                    for (_, base), (tax_box, tax) in itertools.permutations(cells, 2)
                    if base > tax and abs(base * rate / 100 - tax) <= _CENT
                ][:1]
            )
    return found


def _from_rate_rows(
    layouts: Sequence[PageLayout], name: str, score: float
) -> list[Candidate]:
    """The tax (or its base, the net amount) the tax summary rows add up to."""
    rows = _rate_rows(layouts)
    if not rows:
        return []
    value = sum(
        (tax if name == "tax_amount" else base for _, base, tax in rows), Decimal(0)
    )
    what = "tax" if name == "tax_amount" else "base"
    return [
        Candidate(
            value=format_amount(value),
            raw_value=format_amount(value),
            score=score,
            placed=rows[-1][0],
            explanation=f"the {what} of {len(rows)} tax summary row(s), where rate × "
            "base = tax",
            derived=True,
        )
    ]


def reconcile_amounts(
    totals: list[Candidate],
    subtotals: list[Candidate],
    taxes: list[Candidate],
) -> tuple[FieldValue | None, FieldValue | None, FieldValue | None]:
    """Total, subtotal and tax, re-ranked so that subtotal + tax = total where
    the printed candidates allow it.

    A consistent triple is rarely a coincidence: each of its values then gets
    most of its remaining doubt removed. The total the evidence favours is kept
    when it fits; a rival total is taken instead only when it fits and the
    favourite does not ("Net total 496.00" above "Total 571.04"). A subtotal
    and tax that cannot be reconciled keep their own evidence, less some
    confidence.
    """
    total = choose("total_amount", totals)
    subtotal = choose("subtotal_amount", subtotals)
    tax = choose("tax_amount", taxes)
    if total is None:
        return total, subtotal, tax
    best_score = max(c.score for c in totals)
    rivals = [total.value] + [
        value
        for value in _by_value(totals)
        if value != total.value and _best_score(totals, value) >= 0.5 * best_score
    ]
    for total_value in rivals:
        wanted = Decimal(total_value)
        # A receipt that rounds to 5 sen prints its unrounded sum too, and
        # its tax rows add up to that: worked-out parts back no rival total.
        favourite = total_value == total.value
        pairs = [
            (s, t)
            for s in _by_value(_read_or(subtotals, favourite))
            for t in _by_value(_read_or(taxes, favourite))
            if Decimal(s) + Decimal(t) == wanted and Decimal(t) != 0
        ]
        if not pairs:
            continue
        s_value, t_value = max(
            pairs,
            key=lambda p: _best_score(subtotals, p[0]) + _best_score(taxes, p[1]),
        )
        total = choose("total_amount", [c for c in totals if c.value == total_value])
        subtotal = choose(
            "subtotal_amount", [c for c in subtotals if c.value == s_value]
        )
        tax = choose("tax_amount", [c for c in taxes if c.value == t_value])
        assert total is not None and subtotal is not None and tax is not None
        return _consistent(total), _consistent(subtotal), _consistent(tax)
    if subtotal is not None and tax is None and subtotal.value == total.value:
        return total, subtotal, tax  # no tax charged: nothing contradicts
    return (
        total,
        _inconsistent(subtotal) if subtotal else None,
        _inconsistent(tax) if tax else None,
    )


def _read_or(candidates: list[Candidate], derived_too: bool) -> list[Candidate]:
    """The candidates read from the page, and the derived ones when allowed."""
    return [c for c in candidates if derived_too or not c.derived]


def _by_value(candidates: list[Candidate]) -> list[str]:
    return list(dict.fromkeys(c.value for c in candidates))


def _best_score(candidates: list[Candidate], value: str) -> float:
    return max(c.score for c in candidates if c.value == value)


def _consistent(field: FieldValue) -> FieldValue:
    return replace(
        field,
        confidence=round(1 - (1 - field.confidence) * 0.25, 3),
        explanation=f"{field.explanation}; subtotal + tax = total",
    )


def _inconsistent(field: FieldValue) -> FieldValue:
    return replace(
        field,
        confidence=round(field.confidence * 0.8, 3),
        explanation=f"{field.explanation}; subtotal + tax does not match the total",
    )


CREDITED_AMOUNTS = ("subtotal_amount", "tax_amount", "total_amount")


def credited_as_positive(extraction: Extraction) -> Extraction:
    """A credit note's amounts as the credit they grant: positive, the way its
    e-invoice XML states them (the document type carries the direction), so
    the same credit note reads the same from print and from XML. Many print
    them with a minus ("Total TTC -233,47 €")."""
    fields = []
    for value in extraction.fields:
        if value.name in CREDITED_AMOUNTS and value.value.startswith("-"):
            value = replace(
                value,
                value=value.value[1:],
                explanation=f"{value.explanation}; a credit note's amount, "
                "stated as the credit it grants",
            )
        fields.append(value)
    return Extraction(fields=tuple(fields))
