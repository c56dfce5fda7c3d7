"""Matching an invoice with its purchase order (2-way) and goods receipts (3-way).

Invoice lines are paired with PO lines by item code, else by the most similar
description, else by position when both have the same number of lines. An
invoice without lines is compared with the PO on its net amount instead. Each
difference is reported line by line with the ordered, invoiced and received
figures, so the reviewer does not have to open the ERP.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from rapidfuzz import fuzz

from pipeline.validate.types import (
    PO_NUMBER,
    SUBTOTAL_AMOUNT,
    TAX_AMOUNT,
    TOTAL_AMOUNT,
    InvoiceData,
    Issue,
    LineItem,
    PurchaseOrder,
    PurchaseOrderLine,
    ValidationContext,
)
from pipeline.validate.vendors import find_purchase_order, match_vendor
from pipeline.validate.wording import (
    line_field,
    line_label,
    money,
    percent,
    quantity,
)

# Below this description similarity (0..100) a line is not paired by text.
_DESCRIPTION_MIN_SCORE = 70.0


@dataclass(frozen=True)
class LinePair:
    """An invoice line (0-based index) and the PO line it bills, if any."""

    index: int
    line: LineItem
    ordered: PurchaseOrderLine | None


def _code(text: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", text.upper())


def pair_lines(lines: tuple[LineItem, ...], order: PurchaseOrder) -> list[LinePair]:
    """Pair each invoice line with at most one PO line (see module docstring)."""
    free = list(order.lines)
    pairs: dict[int, PurchaseOrderLine] = {}
    for index, line in enumerate(lines):
        code = _code(line.item_code)
        found = next((o for o in free if code and _code(o.item_code) == code), None)
        if found is not None:
            pairs[index] = found
            free.remove(found)
    for index, line in enumerate(lines):
        if index in pairs or not line.description.strip() or not free:
            continue
        scored = [
            (fuzz.token_set_ratio(line.description.lower(), o.description.lower()), o)
            for o in free
        ]
        score, best = max(scored, key=lambda item: item[0])
        if score >= _DESCRIPTION_MIN_SCORE:
            pairs[index] = best
            free.remove(best)
    if len(lines) == len(order.lines):
        positional = [o for o in order.lines if o in free]
        for index in range(len(lines)):
            if index not in pairs and order.lines[index] in positional:
                pairs[index] = order.lines[index]
                positional.remove(order.lines[index])
    return [LinePair(i, line, pairs.get(i)) for i, line in enumerate(lines)]


def invoice_net(invoice: InvoiceData) -> Decimal | None:
    """The amount before tax: the subtotal, else total - tax, else the total
    when no tax is printed."""
    subtotal = invoice.amount(SUBTOTAL_AMOUNT)
    if subtotal is not None:
        return subtotal
    total, tax = invoice.amount(TOTAL_AMOUNT), invoice.amount(TAX_AMOUNT)
    if total is not None and tax is not None:
        return total - tax
    return total if tax is None else None


def _order_value(order: PurchaseOrder) -> Decimal:
    return sum((o.quantity * o.unit_price for o in order.lines), Decimal(0))


def _price_tolerance(order: PurchaseOrder, context: ValidationContext) -> Decimal:
    if order.price_tolerance_percent is not None:
        return order.price_tolerance_percent
    return context.tolerances.po_price_percent


def _quantity_tolerance(order: PurchaseOrder, context: ValidationContext) -> Decimal:
    if order.quantity_tolerance_percent is not None:
        return order.quantity_tolerance_percent
    return context.tolerances.po_quantity_percent


def _percent_off(found: Decimal, expected: Decimal) -> Decimal:
    if expected == 0:
        return Decimal(0) if found == 0 else Decimal(100)
    return (found - expected) / expected * 100


def purchase_order_known(
    invoice: InvoiceData, context: ValidationContext
) -> list[Issue]:
    """A quoted PO number exists and belongs to the invoice's vendor."""
    number = invoice.value(PO_NUMBER)
    if not number:
        return []
    order = find_purchase_order(invoice, context)
    if order is None:
        return [
            Issue(
                code="po_unknown",
                severity="error",
                fields=(PO_NUMBER,),
                message=f"Purchase order {number} is not in the purchase order list.",
            )
        ]
    match = match_vendor(invoice, context)
    if match is None or match.vendor_id == order.vendor_id:
        return []
    vendor = context.vendor(match.vendor_id)
    owner = context.vendor(order.vendor_id)
    return [
        Issue(
            code="po_vendor_mismatch",
            severity="error",
            fields=(PO_NUMBER, "vendor_name"),
            message=(
                f"Purchase order {order.number} was placed with "
                f"{owner.name if owner else 'another vendor'}, not with "
                f"{vendor.name if vendor else 'this vendor'}."
            ),
            details={"po_vendor_id": order.vendor_id, "vendor_id": match.vendor_id},
        )
    ]


def two_way_match(invoice: InvoiceData, context: ValidationContext) -> list[Issue]:
    """Each invoice line's unit price is within the price tolerance of the PO
    line's, and its quantity no more than ordered (plus quantity tolerance).

    Without lines, the invoice's net amount may not exceed the PO's value by
    more than the price tolerance (billing less is a partial invoice).
    """
    order = find_purchase_order(invoice, context)
    if order is None:
        return []
    price_tolerance = _price_tolerance(order, context)
    if not invoice.line_items:
        return _net_amount_within(invoice, order, price_tolerance)
    issues = []
    quantity_tolerance = _quantity_tolerance(order, context)
    for pair in pair_lines(invoice.line_items, order):
        where = line_label(pair.index, pair.line.description)
        ordered = pair.ordered
        if ordered is None:
            issues.append(
                Issue(
                    code="po_line_not_ordered",
                    severity="error",
                    fields=(line_field(pair.index, "description"), PO_NUMBER),
                    message=(
                        f"{where} matches no line of purchase order {order.number}."
                    ),
                    details={"line": pair.index},
                )
            )
            continue
        price = pair.line.unit_price
        if price is not None:
            off = _percent_off(price, ordered.unit_price)
            if abs(off) > price_tolerance:
                issues.append(
                    Issue(
                        code="po_price_mismatch",
                        severity="error",
                        fields=(line_field(pair.index, "unit_price"), PO_NUMBER),
                        message=(
                            f"{where}: invoiced at {money(price)} a unit, ordered "
                            f"at {money(ordered.unit_price)} on {order.number} "
                            f"({'+' if off > 0 else ''}{percent(off)}; "
                            f"tolerance {percent(price_tolerance)})."
                        ),
                        details={
                            "line": pair.index,
                            "po_line": ordered.line_ref,
                            "ordered_price": money(ordered.unit_price),
                            "invoiced_price": money(price),
                            "difference": money(price - ordered.unit_price),
                        },
                    )
                )
        invoiced = pair.line.quantity
        allowed = ordered.quantity * (1 + quantity_tolerance / 100)
        if invoiced is not None and invoiced > allowed:
            issues.append(
                Issue(
                    code="po_quantity_mismatch",
                    severity="error",
                    fields=(line_field(pair.index, "quantity"), PO_NUMBER),
                    message=(
                        f"{where}: {quantity(invoiced)} invoiced, but only "
                        f"{quantity(ordered.quantity)} ordered on {order.number}."
                    ),
                    details={
                        "line": pair.index,
                        "po_line": ordered.line_ref,
                        "ordered": quantity(ordered.quantity),
                        "invoiced": quantity(invoiced),
                        "difference": quantity(invoiced - ordered.quantity),
                    },
                )
            )
    return issues


def _net_amount_within(
    invoice: InvoiceData, order: PurchaseOrder, price_tolerance: Decimal
) -> list[Issue]:
    net = invoice_net(invoice)
    if net is None or not order.lines:
        return []
    value = _order_value(order)
    off = _percent_off(net, value)
    if off <= price_tolerance:
        return []
    return [
        Issue(
            code="po_amount_exceeded",
            severity="error",
            fields=(SUBTOTAL_AMOUNT, TOTAL_AMOUNT, PO_NUMBER),
            message=(
                f"The invoice's net amount {money(net)} is {money(net - value)} "
                f"(+{percent(off)}) more than purchase order {order.number}'s "
                f"value of {money(value)}; tolerance {percent(price_tolerance)}."
            ),
            details={
                "ordered_value": money(value),
                "invoiced_value": money(net),
                "difference": money(net - value),
            },
        )
    ]


def three_way_match(invoice: InvoiceData, context: ValidationContext) -> list[Issue]:
    """No invoice line bills more than the goods received for its PO line.

    Without lines, the invoice's net amount may not exceed the value received
    (received quantities at PO prices) by more than the price tolerance.
    """
    order = find_purchase_order(invoice, context)
    if order is None:
        return []
    receipts = [
        receipt
        for receipt in context.goods_receipts
        if receipt.po_number == order.number
    ]

    def received(ordered: PurchaseOrderLine) -> Decimal:
        return sum(
            (r.quantity_received for r in receipts if r.line_ref == ordered.line_ref),
            Decimal(0),
        )

    if not invoice.line_items:
        net = invoice_net(invoice)
        if net is None:
            return []
        value = sum((received(o) * o.unit_price for o in order.lines), Decimal(0))
        tolerance = _price_tolerance(order, context)
        if value > 0 and _percent_off(net, value) <= tolerance:
            return []
        if value == 0 and net <= 0:
            return []
        return [
            Issue(
                code="goods_not_received",
                severity="error",
                fields=(SUBTOTAL_AMOUNT, TOTAL_AMOUNT, PO_NUMBER),
                message=(
                    f"The invoice bills {money(net)} net, but goods received "
                    f"against {order.number} are worth {money(value)}"
                    + ("" if receipts else " (no goods receipt yet)")
                    + "."
                ),
                details={
                    "received_value": money(value),
                    "invoiced_value": money(net),
                    "difference": money(net - value),
                },
            )
        ]
    issues = []
    for pair in pair_lines(invoice.line_items, order):
        invoiced = pair.line.quantity
        if pair.ordered is None or invoiced is None:
            continue  # two_way_match reports lines that were not ordered
        got = received(pair.ordered)
        if invoiced <= got:
            continue
        issues.append(
            Issue(
                code="goods_not_received",
                severity="error",
                fields=(line_field(pair.index, "quantity"), PO_NUMBER),
                message=(
                    f"{line_label(pair.index, pair.line.description)}: "
                    f"{quantity(invoiced)} invoiced, {quantity(got)} received "
                    f"against {order.number}."
                ),
                details={
                    "line": pair.index,
                    "po_line": pair.ordered.line_ref,
                    "invoiced": quantity(invoiced),
                    "received": quantity(got),
                    "difference": quantity(invoiced - got),
                },
            )
        )
    return issues


@dataclass(frozen=True)
class ComparedLine:
    """One row of the invoice / purchase order / goods receipt table: an
    invoice line with the PO line it bills, or a PO line nothing billed.
    The flags say which figure breaks the rules above, with their tolerances."""

    description: str
    invoice_line: int | None  # 0-based; None for a PO line not invoiced
    po_line: str  # the PO's line number; "" when the line was not ordered
    ordered: Decimal | None
    received: Decimal | None  # None when the PO has no goods receipt yet
    invoiced: Decimal | None
    ordered_price: Decimal | None
    invoiced_price: Decimal | None
    difference: Decimal | None  # billed minus what may be billed, in money
    over_ordered: bool = False
    over_received: bool = False
    price_off: bool = False

    @property
    def not_ordered(self) -> bool:
        return self.invoice_line is not None and not self.po_line

    @property
    def not_invoiced(self) -> bool:
        return self.invoice_line is None


@dataclass(frozen=True)
class PurchaseOrderComparison:
    order_number: str
    currency: str
    has_receipts: bool
    lines: tuple[ComparedLine, ...]


def compare_with_purchase_order(
    invoice: InvoiceData, context: ValidationContext
) -> PurchaseOrderComparison | None:
    """The invoice's lines beside the PO's and the goods received, line by
    line, paired and judged as two_way_match and three_way_match pair and
    judge them; None without a known PO or without invoice lines."""
    order = find_purchase_order(invoice, context)
    if order is None or not invoice.line_items:
        return None
    receipts = [r for r in context.goods_receipts if r.po_number == order.number]

    def received(ordered: PurchaseOrderLine) -> Decimal | None:
        if not receipts:
            return None
        return sum(
            (r.quantity_received for r in receipts if r.line_ref == ordered.line_ref),
            Decimal(0),
        )

    price_tolerance = _price_tolerance(order, context)
    quantity_tolerance = _quantity_tolerance(order, context)
    rows = []
    billed: set[str] = set()
    for pair in pair_lines(invoice.line_items, order):
        line, ordered = pair.line, pair.ordered
        invoiced, price = line.quantity, line.unit_price
        if ordered is None:
            rows.append(
                ComparedLine(
                    description=line.description,
                    invoice_line=pair.index,
                    po_line="",
                    ordered=None,
                    received=None,
                    invoiced=invoiced,
                    ordered_price=None,
                    invoiced_price=price,
                    difference=line.amount,
                )
            )
            continue
        billed.add(ordered.line_ref)
        got = received(ordered)
        allowed = ordered.quantity * (1 + quantity_tolerance / 100)
        rows.append(
            ComparedLine(
                description=line.description or ordered.description,
                invoice_line=pair.index,
                po_line=ordered.line_ref,
                ordered=ordered.quantity,
                received=got,
                invoiced=invoiced,
                ordered_price=ordered.unit_price,
                invoiced_price=price,
                difference=_overbilled(invoiced, price, ordered, got),
                over_ordered=invoiced is not None and invoiced > allowed,
                over_received=invoiced is not None
                and got is not None
                and invoiced > got,
                price_off=price is not None
                and abs(_percent_off(price, ordered.unit_price)) > price_tolerance,
            )
        )
    rows += [
        ComparedLine(
            description=ordered.description,
            invoice_line=None,
            po_line=ordered.line_ref,
            ordered=ordered.quantity,
            received=received(ordered),
            invoiced=None,
            ordered_price=ordered.unit_price,
            invoiced_price=None,
            difference=None,
        )
        for ordered in order.lines
        if ordered.line_ref not in billed
    ]
    return PurchaseOrderComparison(
        order_number=order.number,
        currency=order.currency,
        has_receipts=bool(receipts),
        lines=tuple(rows),
    )


def _overbilled(
    invoiced: Decimal | None,
    price: Decimal | None,
    ordered: PurchaseOrderLine,
    received: Decimal | None,
) -> Decimal | None:
    """What the line bills beyond what it may: no more than ordered (and
    received, once goods receipts exist) at the PO's price. A partial
    invoice bills nothing beyond."""
    if invoiced is None:
        return None
    cap = ordered.quantity if received is None else min(ordered.quantity, received)
    billed = invoiced * (ordered.unit_price if price is None else price)
    return billed - min(invoiced, cap) * ordered.unit_price
