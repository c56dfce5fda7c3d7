"""The invoice date: which date on the page is the document's own, and whether
the page writes day before month.
"""

from __future__ import annotations

import re

from pipeline.extract.candidates import Candidate, choose
from pipeline.extract.layout import PageLayout, PlacedLine
from pipeline.extract.normalize import DateMatch, find_dates, valid_date
from pipeline.types import FieldValue

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
    r"|leistung|\bfrom\b|until|\bbis\b|best\s*before|\bexp\b|verval|scadenza"
    r"|vencimiento"
)
# Dates of the order or the stay a document refers to, not its own: "Order
# Date", "Bestell-Datum", "Rechnung gemäß Bestellung vom", "Check In". Printed
# beside the invoice date as often as not, and earlier than it.
_ORDER_LABEL = re.compile(
    r"(?i)(?:\border|bestell\w*|auftrag\w*|\bcommande|\bordine|\bpedido"
    r"|\bbooking|\bbooked)\s*[-:]?\s*(?:date|datum|vom|du|del|on)\b"
    r"|check\s*-?\s*(?:in|out)\b|\bdate\s*de\s*(?:la\s*)?commande"
    r"|\bdata\s*(?:dell'\s*)?ordine|\bfecha\s*(?:del\s*)?pedido"
)


# A date written in figures, one separator throughout: a document number such
# as "T03-18/199913" is not a month-first date.
_NUMERIC_DATE = re.compile(r"(?<![\w/.-])(\d{1,2})([./-])(\d{1,2})\2\d{2,4}(?!\d)")


def prefers_day_first(layouts: list[PageLayout], currency: FieldValue | None) -> bool:
    """Day-first unless the page's own dates or a US currency say month-first."""
    day_first_evidence = month_first_evidence = 0
    for layout in layouts:
        for placed in layout.lines:
            for found in _NUMERIC_DATE.finditer(placed.line.text):
                first, second = int(found.group(1)), int(found.group(3))
                if first > 12 >= second:
                    day_first_evidence += 1
                elif second > 12 >= first:
                    month_first_evidence += 1
    if day_first_evidence != month_first_evidence:
        return day_first_evidence > month_first_evidence
    return not (currency is not None and currency.value == "USD")


# OCR now and then drops one of a date's two separators ("27.032018",
# "2504/2017"). Right after a date label, or alone on their line, such eight
# figures are read as the date, less surely than a date printed whole.
_ONE_SEPARATOR_DROPPED = re.compile(
    r"(?<![\d.,/-])(\d{2})([./-]?)(\d{2})([./-]?)(\d{4})(?![\d.,/-])"
)


def _dates_missing_a_separator(text: str, day_first: bool) -> list[DateMatch]:
    found = []
    for match in _ONE_SEPARATOR_DROPPED.finditer(text):
        if bool(match[2]) == bool(match[4]):
            continue
        alone = match[0] == text.strip()
        if not alone and not _DATE_LABEL.search(text[: match.start()]):
            continue
        first, second, year = int(match[1]), int(match[3]), int(match[5])
        day, month = (first, second) if day_first else (second, first)
        value = valid_date(year, month, day)
        if value is not None:
            separator = match[2] or match[4]
            found.append(
                DateMatch(
                    match[0],
                    value,
                    match.start(),
                    match.end(),
                    f"dd{separator}mm{separator}yyyy with a separator missing",
                    ambiguous=first <= 12 and second <= 12 and first != second,
                )
            )
    return found


def read_invoice_date(layouts: list[PageLayout], day_first: bool) -> FieldValue | None:
    candidates: list[Candidate] = []
    for layout in layouts:
        for placed in layout.lines:
            dates = find_dates(placed.line.text, day_first=day_first)
            repaired = not dates
            if repaired:
                dates = _dates_missing_a_separator(placed.line.text, day_first)
            for found in dates:
                score, context = date_context(layout, placed, found.start)
                quality = 1.0 if len(found.raw) >= 8 else 0.9
                if repaired:
                    quality *= 0.8
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


def date_context(
    layout: PageLayout, placed: PlacedLine, start: int
) -> tuple[float, str]:
    """How strongly the text around a date says it is the document date."""
    before = placed.line.text[:start]
    label_sources = [before]
    left = layout.left_of(placed)
    if left:
        label_sources.append(left[-1].line.text)
    if _ISSUED_ON.search(before) and not _ORDER_LABEL.search(before):
        return 0.95, ", after the invoice number ('... Nr. X vom')"
    for source in label_sources:
        if _DUE_LABEL.search(source):
            return 0.35, ", but labelled as a due/other date"
        if _ORDER_LABEL.search(source):
            return 0.6, ", but labelled as an order date"
        label = _DATE_LABEL.search(source)
        if label:
            return 0.95, f", after label '{label.group(0).strip()}'"
    above = _line_above(layout, placed)
    if above is not None and not find_dates(above.line.text):
        if _ISSUED_ON.search(above.line.text) and not _ORDER_LABEL.search(
            above.line.text
        ):
            return 0.9, ", under the invoice number ('... Nr. X vom')"
        if _DUE_LABEL.search(above.line.text):
            return 0.35, ", but labelled as a due/other date"
        if _ORDER_LABEL.search(above.line.text):
            return 0.6, ", but labelled as an order date"
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
