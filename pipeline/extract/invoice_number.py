"""The invoice number: the labels that announce it in six languages and the
token after them that looks like a number rather than a tax or phone id.
"""

from __future__ import annotations

import re

from pipeline.extract.candidates import Candidate, choose, id_token
from pipeline.extract.layout import PageLayout, PlacedLine
from pipeline.extract.normalize import find_dates
from pipeline.types import FieldValue

_NUMBER_MARK = r"(?:no|nr|num|number|#|n°|n\.|nº)\.?"
_INVOICE_NUMBER_LABELS: list[tuple[re.Pattern[str], str, float]] = [
    (re.compile(pattern, re.IGNORECASE), description, weight)
    for pattern, description, weight in (
        (r"(?:tax\s*)?invoice\s*" + _NUMBER_MARK, "Invoice No", 1.0),
        (r"\binv\s*" + _NUMBER_MARK, "Inv No", 0.95),
        (r"rechnungs?\s*-?\s*(?:nummer|nr\.?)", "Rechnungsnummer", 1.0),
        # "Baurechnung Nr.", "Rechnungskorrektur Nr.", "Rechnung des Versicherers
        # Nr.", "Rechnung #", "Gutschrift (Selbst ausgestellte Rechnung) Nr.":
        # the document's own name, then its number.
        (
            r"(?:rechnung|gutschrift|korrektur|rektur)\w*(?:\s+des\s+\w+)?\)?\s*"
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


def read_invoice_number(layouts: list[PageLayout]) -> FieldValue | None:
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
