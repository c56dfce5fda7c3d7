"""Evidence that the rest of a document agrees with a value read from it.

The extractor's confidence says how a value was found (a label beside it, a
pattern, a position). A value is far more likely right when the document
agrees with it: subtotal + tax = total, the lines sum to the subtotal, cash
minus change is the total, the total is the largest amount after a total-like
label, the date reads one way only, the IBAN and VAT id pass their check
digits and belong to the vendor matched on another identifier, the invoice
number has the vendor's learned shape, the value is printed twice.

`gather_evidence` turns each of those checks into a signal per field: +1 when
the document agrees, -1 when it contradicts, nothing when the check cannot be
made. `pipeline.extract.calibration` feeds the signals, with the finder's own
confidence, into a model fitted out-of-fold on labelled documents, so what a
signal is worth is measured, never assumed. One signal is a veto rather than a
feature: a date outside the plausible window around the document's arrival.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from rapidfuzz import fuzz

from pipeline.extract import total_amount
from pipeline.extract.candidates import amounts_in
from pipeline.extract.layout import (
    PageLayout,
    layout_pages,
    overlaps_horizontally,
    overlaps_vertically,
)
from pipeline.extract.normalize import (
    bic_matches_bank,
    find_dates,
    iban_is_valid,
    vat_id_is_checkable,
    vat_id_is_valid,
)
from pipeline.extract.vendor_memory import VendorLayoutHint, value_shape
from pipeline.types import Box, ExtractedLine, Extraction, FieldValue, PageText
from pipeline.validate.types import VendorRecord
from pipeline.validate.vendors import normalise_name, normalise_vat_id

# The kinds of evidence, in the order the model's features list them.
ARITHMETIC = "arithmetic"  # subtotal + tax = total
LINES_SUM = "lines_sum"  # the invoice lines add up to the subtotal (or total)
CASH_CHANGE = "cash_change"  # cash tendered - change = total (receipts)
LARGEST_AFTER_LABEL = "largest_after_label"  # no larger amount after "TOTAL"
ONE_READING = "one_reading"  # the printed date parses one way only
DATE_ORDER = "date_order"  # issued on or before the due date
CHECK_DIGITS = "check_digits"  # IBAN mod 97, VAT id checksum
VENDOR_MASTER = "vendor_master"  # agrees with the vendor matched by identifier
VENDOR_SHAPE = "vendor_shape"  # the vendor's learned invoice number shape
PRINTED_TWICE = "printed_twice"  # a second, independent reading of the value
DATE_WINDOW = "date_window"  # veto: not after arrival, not years before it

EVIDENCE_KINDS = (
    ARITHMETIC,
    LINES_SUM,
    CASH_CHANGE,
    LARGEST_AFTER_LABEL,
    ONE_READING,
    DATE_ORDER,
    CHECK_DIGITS,
    VENDOR_MASTER,
    VENDOR_SHAPE,
    PRINTED_TWICE,
)
# A date this far before the document arrived, or any time after it, is a
# misread far more often than a real invoice (a 2017 receipt filed in 2026 is
# the exception a person should look at).
DATE_WINDOW_BEFORE = timedelta(days=550)
DATE_WINDOW_AFTER = timedelta(days=2)
# A due date lies ahead of arrival by the payment terms: a year covers the
# longest terms in use, so only a misread year falls outside.
DUE_WINDOW_AFTER = timedelta(days=366)

_CENT = Decimal("0.01")
_AMOUNT_FIELDS = ("subtotal_amount", "tax_amount", "total_amount")
_NAME_AGREES = 90.0  # rapidfuzz ratio of normalised names
_ADDRESS_AGREES = 85.0


@dataclass(frozen=True)
class EvidenceContext:
    """What the pipeline knows beyond the pages: when the document arrived,
    the vendor master (or the confirmed vendor directory) and the vendor's
    learned layout. Everything is optional; a check without its input is
    simply not made."""

    received: date | None = None
    vendors: Sequence[VendorRecord] = ()
    layout_hints: Sequence[VendorLayoutHint] = ()


@dataclass(frozen=True)
class FieldEvidence:
    """The signals for one field (kind -> +1 agrees, -1 contradicts) and a
    sentence per signal for the reviewer."""

    signals: Mapping[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def vetoed(self) -> bool:
        return self.signals.get(DATE_WINDOW, 0) < 0


class _Collector:
    def __init__(self) -> None:
        self.signals: dict[str, dict[str, int]] = {}
        self.notes: dict[str, list[str]] = {}

    def add(self, name: str, kind: str, agrees: bool, note: str) -> None:
        # The first verdict of a kind stands: checks run strongest first.
        signals = self.signals.setdefault(name, {})
        if kind in signals:
            return
        signals[kind] = 1 if agrees else -1
        mark = "agrees" if agrees else "disagrees"
        self.notes.setdefault(name, []).append(f"{mark}: {note}")

    def result(self) -> dict[str, FieldEvidence]:
        return {
            name: FieldEvidence(signals, tuple(self.notes.get(name, ())))
            for name, signals in self.signals.items()
        }


def gather_evidence(
    extraction: Extraction,
    pages: Sequence[PageText],
    *,
    line_items: Sequence[ExtractedLine] = (),
    context: EvidenceContext | None = None,
) -> dict[str, FieldEvidence]:
    """Per extracted field, what the rest of the document says about it.
    Fields no check applies to are absent. Never raises on odd text."""
    context = context or EvidenceContext()
    layouts = [layout for layout in layout_pages(pages) if layout.rows]
    collector = _Collector()
    values = {f.name: f for f in extraction.fields if f.value}
    _amount_evidence(collector, values, layouts, line_items)
    _date_evidence(collector, values, context.received)
    _identifier_evidence(collector, values)
    _vendor_evidence(collector, values, context.vendors)
    _shape_evidence(collector, values, context.layout_hints)
    _printed_twice(collector, values, layouts)
    return collector.result()


def _amount(value: FieldValue | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value.value)
    except ArithmeticError:
        return None


def _amount_evidence(
    collector: _Collector,
    values: Mapping[str, FieldValue],
    layouts: list[PageLayout],
    line_items: Sequence[ExtractedLine],
) -> None:
    subtotal, tax, total = (_amount(values.get(n)) for n in _AMOUNT_FIELDS)
    if subtotal is not None and tax is not None and total is not None:
        agrees = abs(subtotal + tax - total) <= _CENT
        sign = "=" if agrees else "≠"
        for name in _AMOUNT_FIELDS:
            collector.add(name, ARITHMETIC, agrees, f"subtotal + tax {sign} total")
    line_amounts = [line.amount for line in line_items if line.amount is not None]
    if len(line_amounts) >= 2:
        lines_total = sum(line_amounts, Decimal(0))
        target = "subtotal_amount" if subtotal is not None else "total_amount"
        expected = subtotal if subtotal is not None else total
        if expected is not None:
            agrees = abs(lines_total - expected) <= _CENT
            collector.add(
                target,
                LINES_SUM,
                agrees,
                f"the {len(line_amounts)} lines sum to {lines_total}",
            )
    if total is None or not layouts:
        return
    column = _column_above(values["total_amount"], layouts)
    if len(column) >= 2 and sum(column, Decimal(0)) == total:
        # Only agreement says something: a column above a total may hold its
        # subtotal and tax as well as the lines, or nothing but prices.
        collector.add(
            "total_amount",
            LINES_SUM,
            True,
            f"the {len(column)} amounts above it in its column sum to it",
        )
    cash_minus_change = total_amount.cash_minus_change(layouts)
    # A total read off the cash line itself would agree with cash - 0.00
    # change by construction ("CASH 04.00" for 94.00): no second reading.
    if cash_minus_change is not None and not _on_a_cash_line(
        values["total_amount"], layouts
    ):
        # Exactly: both are printed to the cent, and a total a cent off cash
        # minus change is the unrounded sum of a receipt that rounds to 5 sen.
        collector.add(
            "total_amount",
            CASH_CHANGE,
            cash_minus_change == total,
            f"cash - change = {cash_minus_change}",
        )
    largest = _largest_after_total_label(layouts)
    if largest is not None:
        collector.add(
            "total_amount",
            LARGEST_AFTER_LABEL,
            total >= largest,
            f"the largest amount after the first total label is {largest}",
        )


def _column_above(value: FieldValue, layouts: list[PageLayout]) -> list[Decimal]:
    """The amounts printed above the value in its column: on its page above
    it, and on every page before (an ad-buy's spots run over several pages to
    the total on the last)."""
    if value.box is None:
        return []
    page = value.page_number or layouts[0].page.page_number
    top = value.box[1]
    found = []
    for layout in layouts:
        if layout.page.page_number > page:
            break
        same_page = layout.page.page_number == page
        for placed in layout.lines:
            if same_page and (placed.box[1] + placed.box[3]) / 2 >= top:
                continue
            if not overlaps_horizontally(placed.box, value.box):
                continue
            found.extend(
                amount.value
                for amount in amounts_in(placed.line.text)
                if amount.has_decimals and amount.value > 0
            )
    return found


def _on_a_cash_line(value: FieldValue, layouts: list[PageLayout]) -> bool:
    """Whether the value was read from a row that names cash tendered."""
    if value.box is None:
        return False
    for layout in layouts:
        if value.page_number not in (None, layout.page.page_number):
            continue
        for row in layout.rows:
            if not any(_boxes_overlap(placed.box, value.box) for placed in row):
                continue
            text = " ".join(placed.line.text for placed in row)
            if total_amount.CASH.search(text) and not total_amount.total_label(text):
                return True
    return False


def _boxes_overlap(first: Box, second: Box) -> bool:
    return overlaps_horizontally(first, second) and overlaps_vertically(first, second)


def _largest_after_total_label(layouts: list[PageLayout]) -> Decimal | None:
    """The largest amount printed at or after the first total-like label, in
    reading order across pages, leaving out cash tendered and change (a
    customer's 50.00 note is larger than any total it paid)."""
    started = False
    largest: Decimal | None = None
    for layout in layouts:
        for row in layout.rows:
            text = " ".join(placed.line.text for placed in row)
            if not started and total_amount.total_label(text) is not None:
                started = True
            if not started:
                continue
            if total_amount.CASH.search(text) or total_amount.CHANGE.search(text):
                continue
            for placed in row:
                for amount in amounts_in(placed.line.text):
                    if amount.has_decimals and (
                        largest is None or amount.value > largest
                    ):
                        largest = amount.value
    return largest


def _dotted(pattern: str) -> bool:
    """A date in figures with dots ("05.03.2018") reads day first wherever dots
    are the separator (Germany, Austria, Switzerland, the Nordics, Eastern
    Europe); month-first writers (the US) use slashes. `find_dates` reads day
    first by default, so a value equal to that reading is the one way."""
    return pattern.startswith("dd.mm.")


def _date_evidence(
    collector: _Collector, values: Mapping[str, FieldValue], received: date | None
) -> None:
    parsed: dict[str, date] = {}
    for name in ("invoice_date", "due_date"):
        found = values.get(name)
        if found is None:
            continue
        try:
            parsed[name] = date.fromisoformat(found.value)
        except ValueError:
            continue
        readings = find_dates(found.raw_value)
        if readings:
            one_way = not any(
                reading.ambiguous
                and not (_dotted(reading.pattern) and reading.value == parsed[name])
                for reading in readings
            )
            collector.add(
                name,
                ONE_READING,
                one_way,
                "the printed date reads one way only"
                if one_way
                else "the printed date also reads with day and month swapped",
            )
        if received is not None:
            after = DUE_WINDOW_AFTER if name == "due_date" else DATE_WINDOW_AFTER
            inside = received - DATE_WINDOW_BEFORE <= parsed[name] <= received + after
            collector.add(
                name,
                DATE_WINDOW,
                inside,
                f"{'within' if inside else 'outside'} the plausible window "
                f"around arrival on {received.isoformat()}",
            )
    if "invoice_date" in parsed and "due_date" in parsed:
        in_order = parsed["invoice_date"] <= parsed["due_date"]
        for name in ("invoice_date", "due_date"):
            collector.add(
                name,
                DATE_ORDER,
                in_order,
                "issued on or before the due date"
                if in_order
                else "issued after the due date",
            )


def _identifier_evidence(
    collector: _Collector, values: Mapping[str, FieldValue]
) -> None:
    iban = values.get("iban")
    if iban is not None:
        valid = iban_is_valid(iban.value)
        collector.add(
            "iban",
            CHECK_DIGITS,
            valid,
            "check digits pass" if valid else "check digits fail",
        )
    bic = values.get("bic")
    if bic is not None and iban is not None:
        # The IBAN's bank code names a bank; its BIC in the bank registry is
        # a check on the printed BIC as strong as a check digit.
        same_bank = bic_matches_bank(bic.value, iban.value)
        if same_bank is not None:
            collector.add(
                "bic",
                CHECK_DIGITS,
                same_bank,
                "the BIC of the IBAN's bank"
                if same_bank
                else "not the BIC of the IBAN's bank",
            )
    vat_id = values.get("vendor_vat_id")
    if vat_id is not None and vat_id_is_checkable(vat_id.value):
        valid = vat_id_is_valid(vat_id.value)
        collector.add(
            "vendor_vat_id",
            CHECK_DIGITS,
            valid,
            "check digits pass" if valid else "check digits fail",
        )


def _matched_vendor(
    values: Mapping[str, FieldValue], vendors: Sequence[VendorRecord]
) -> tuple[VendorRecord, str] | None:
    """The vendor whose VAT id or IBAN is printed, and which identifier
    matched; a VAT id first (it names one legal entity)."""
    vat_id = values.get("vendor_vat_id")
    iban = values.get("iban")
    vat = normalise_vat_id(vat_id.value) if vat_id else ""
    account = iban.value.replace(" ", "").upper() if iban else ""
    for vendor in vendors:
        if vat and vendor.vat_id and normalise_vat_id(vendor.vat_id) == vat:
            return vendor, "vendor_vat_id"
    for vendor in vendors:
        if account and account in {i.replace(" ", "").upper() for i in vendor.ibans}:
            return vendor, "iban"
    return None


def _vendor_evidence(
    collector: _Collector,
    values: Mapping[str, FieldValue],
    vendors: Sequence[VendorRecord],
) -> None:
    matched = _matched_vendor(values, vendors)
    if matched is None:
        return
    vendor, by = matched
    source = f"vendor master {vendor.name}"
    # The identifier that matched agrees with itself: a valid id of a known
    # vendor is seldom a misread. The other is an independent second reading.
    collector.add(by, VENDOR_MASTER, True, f"the {source}'s own identifier")
    iban = values.get("iban")
    if by != "iban" and iban is not None and vendor.ibans:
        on_file = iban.value.replace(" ", "").upper() in {
            i.replace(" ", "").upper() for i in vendor.ibans
        }
        collector.add(
            "iban", VENDOR_MASTER, on_file, f"an IBAN on file for the {source}"
        )
    bic = values.get("bic")
    if bic is not None and iban is not None and vendor.ibans:
        on_file = iban.value.replace(" ", "").upper() in {
            i.replace(" ", "").upper() for i in vendor.ibans
        }
        if on_file and bic_matches_bank(bic.value, iban.value):
            collector.add(
                "bic",
                VENDOR_MASTER,
                True,
                f"the bank of an IBAN on file for the {source}",
            )
    vat_id = values.get("vendor_vat_id")
    if by != "vendor_vat_id" and vat_id is not None and vendor.vat_id:
        same = normalise_vat_id(vat_id.value) == normalise_vat_id(vendor.vat_id)
        collector.add(
            "vendor_vat_id", VENDOR_MASTER, same, f"the VAT id of the {source}"
        )
    for field_name, known, cutoff, what in (
        ("vendor_name", (vendor.name, *vendor.aliases), _NAME_AGREES, "name"),
        ("vendor_address", (vendor.address,), _ADDRESS_AGREES, "address"),
    ):
        found = values.get(field_name)
        if found is None or not any(known):
            continue
        score = max(
            fuzz.ratio(normalise_name(found.value), normalise_name(k))
            for k in known
            if k
        )
        collector.add(
            field_name, VENDOR_MASTER, score >= cutoff, f"the {what} of the {source}"
        )
    currency = values.get("currency")
    if currency is not None and vendor.currency:
        collector.add(
            "currency",
            VENDOR_MASTER,
            currency.value == vendor.currency,
            f"the currency the {source} bills in",
        )


def _shape_evidence(
    collector: _Collector,
    values: Mapping[str, FieldValue],
    hints: Sequence[VendorLayoutHint],
) -> None:
    for hint in hints:
        found = values.get(hint.field_name)
        if found is None or not hint.value_shape:
            continue
        collector.add(
            hint.field_name,
            VENDOR_SHAPE,
            value_shape(found.value) == hint.value_shape,
            f"the vendor's numbers look like {hint.value_shape}",
        )


def _printed_twice(
    collector: _Collector,
    values: Mapping[str, FieldValue],
    layouts: list[PageLayout],
) -> None:
    """A second line showing the same total, invoice number or date: two
    readings of one value (a summary and a payment slip, page one and the
    last page) rarely share a misread."""
    lines = [
        (placed.line.text, placed.box, layout.page.page_number)
        for layout in layouts
        for placed in layout.lines
    ]
    total = _amount(values.get("total_amount"))
    if total is not None:
        count = sum(
            1 for text, _, _ in lines if any(a.value == total for a in amounts_in(text))
        )
        if count >= 2:
            collector.add("total_amount", PRINTED_TWICE, True, f"printed {count} times")
    number = values.get("invoice_number")
    if number is not None and len(number.value) >= 3:
        alone = re.compile(
            rf"(?<![A-Z0-9]){re.escape(number.value.upper())}(?![A-Z0-9])"
        )
        count = sum(1 for text, _, _ in lines if alone.search(text.upper()))
        if count >= 2:
            collector.add(
                "invoice_number", PRINTED_TWICE, True, f"printed {count} times"
            )
    issued = values.get("invoice_date")
    if issued is not None:
        try:
            wanted_date = date.fromisoformat(issued.value)
        except ValueError:
            return
        count = sum(
            1
            for text, _, _ in lines
            if any(d.value == wanted_date for d in find_dates(text))
        )
        if count >= 2:
            collector.add("invoice_date", PRINTED_TWICE, True, f"printed {count} times")
