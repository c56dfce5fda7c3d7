"""2-way (PO) and 3-way (PO + goods receipt) matching, line by line."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from pipeline.validate.purchase_orders import (
    compare_with_purchase_order,
    pair_lines,
    purchase_order_known,
    three_way_match,
    two_way_match,
)
from pipeline.validate.types import GoodsReceipt, LineItem
from tests.pipeline.validation_data import (
    HARBOR_LINES,
    HARBOR_PO,
    codes,
    context,
    harbor_invoice,
    nordlicht_invoice,
)


def test_an_invoice_matching_its_po_and_receipts_passes_every_check() -> None:
    for rule in (purchase_order_known, two_way_match, three_way_match):
        assert rule(harbor_invoice(), context()) == [], rule.__name__
        assert rule(harbor_invoice(lines=()), context()) == [], rule.__name__


def test_an_unknown_po_number_is_an_error() -> None:
    [issue] = purchase_order_known(harbor_invoice(po_number="PO-99999"), context())
    assert issue.code == "po_unknown"
    assert issue.message == "Purchase order PO-99999 is not in the purchase order list."


def test_po_numbers_compare_without_spaces_dashes_or_case() -> None:
    assert purchase_order_known(harbor_invoice(po_number="po 55120"), context()) == []


def test_a_po_of_another_vendor_is_an_error() -> None:
    invoice = nordlicht_invoice(po_number="PO-55120")
    [issue] = purchase_order_known(invoice, context())
    assert issue.code == "po_vendor_mismatch"
    assert "placed with Harbor Supply Co. Inc., not with Nordlicht" in issue.message


def test_lines_pair_by_item_code_then_description_then_position() -> None:
    swapped = (
        replace(HARBOR_LINES[1], description="Pouches"),
        replace(HARBOR_LINES[0], item_code=""),
    )
    pairs = pair_lines(swapped, HARBOR_PO)
    assert [p.ordered.line_ref if p.ordered else None for p in pairs] == ["20", "10"]
    unknown = (LineItem("Freight and handling", Decimal(1), Decimal("25.00")),)
    assert pair_lines(unknown, HARBOR_PO)[0].ordered is None


def test_a_price_outside_tolerance_is_shown_with_the_difference() -> None:
    dearer = replace(HARBOR_LINES[0], unit_price=Decimal("41.00"), amount=Decimal(410))
    invoice = harbor_invoice(lines=(dearer, HARBOR_LINES[1]))
    [issue] = two_way_match(invoice, context())
    assert issue.code == "po_price_mismatch"
    assert issue.fields == ("line_items[0].unit_price", "po_number")
    assert issue.message == (
        "Line 1 (Nitrile gloves, medium (case)): invoiced at 41.00 a unit, "
        "ordered at 38.00 on PO-55120 (+7.9 %; tolerance 2 %)."
    )
    assert issue.details["difference"] == "3.00"


def test_a_price_within_the_pos_own_tolerance_passes() -> None:
    dearer = replace(HARBOR_LINES[0], unit_price=Decimal("38.70"))
    invoice = harbor_invoice(lines=(dearer, HARBOR_LINES[1]))
    assert two_way_match(invoice, context()) == []  # +1.8 % < 2 %
    strict_po = replace(HARBOR_PO, price_tolerance_percent=Decimal("1"))
    strict = context(purchase_orders=(strict_po,))
    assert codes(two_way_match(invoice, strict)) == ["po_price_mismatch"]


def test_more_than_ordered_is_a_quantity_mismatch() -> None:
    more = replace(HARBOR_LINES[1], quantity=Decimal(8), amount=Decimal("102.00"))
    [issue] = two_way_match(harbor_invoice(lines=(HARBOR_LINES[0], more)), context())
    assert issue.code == "po_quantity_mismatch"
    assert "8 invoiced, but only 6 ordered on PO-55120" in issue.message
    assert issue.details["difference"] == "2"


def test_a_line_not_on_the_po_is_reported() -> None:
    freight = LineItem("Freight and handling", Decimal(1), Decimal("25.00"))
    invoice = harbor_invoice(lines=(*HARBOR_LINES, freight))
    [issue] = two_way_match(invoice, context())
    assert issue.code == "po_line_not_ordered"
    assert issue.fields[0] == "line_items[2].description"


def test_without_lines_the_net_amount_may_not_exceed_the_po() -> None:
    over = harbor_invoice(lines=(), subtotal_amount="496.50", total_amount="546.65")
    [issue] = two_way_match(over, context())
    assert issue.code == "po_amount_exceeded"
    assert "496.50 is 40.00 (+8.8 %) more than purchase order PO-55120" in (
        issue.message
    )
    partial = harbor_invoice(lines=(), subtotal_amount="380.00", total_amount="418.38")
    assert two_way_match(partial, context()) == []


def test_invoicing_more_than_received_fails_the_three_way_match() -> None:
    half = (GoodsReceipt("PO-55120", "10", Decimal(5), date(2026, 11, 2), "GR-9001"),)
    ctx = context(goods_receipts=half)
    issues = three_way_match(harbor_invoice(), ctx)
    assert [(i.code, i.details["invoiced"], i.details["received"]) for i in issues] == [
        ("goods_not_received", "10", "5"),
        ("goods_not_received", "6", "0"),
    ]
    assert issues[0].message == (
        "Line 1 (Nitrile gloves, medium (case)): 10 invoiced, 5 received "
        "against PO-55120."
    )


def test_receipts_add_up_across_deliveries() -> None:
    receipts = (
        GoodsReceipt("PO-55120", "10", Decimal(4), date(2026, 11, 1)),
        GoodsReceipt("PO-55120", "10", Decimal(6), date(2026, 11, 3)),
        GoodsReceipt("PO-55120", "20", Decimal(6), date(2026, 11, 3)),
    )
    assert three_way_match(harbor_invoice(), context(goods_receipts=receipts)) == []


def test_without_lines_the_net_amount_is_compared_with_the_value_received() -> None:
    [issue] = three_way_match(harbor_invoice(lines=()), context(goods_receipts=()))
    assert issue.code == "goods_not_received"
    assert issue.message == (
        "The invoice bills 456.50 net, but goods received against PO-55120 "
        "are worth 0.00 (no goods receipt yet)."
    )


def test_the_comparison_puts_invoice_po_and_receipts_side_by_side() -> None:
    gloves = replace(HARBOR_LINES[0], quantity=Decimal(12), amount=Decimal(456))
    dearer = replace(HARBOR_LINES[1], unit_price=Decimal("14.00"), amount=Decimal(84))
    freight = LineItem("Freight", Decimal(1), Decimal("25.00"), Decimal("25.00"))
    invoice = harbor_invoice(lines=(gloves, dearer, freight))
    comparison = compare_with_purchase_order(invoice, context())
    assert comparison is not None
    assert (comparison.order_number, comparison.has_receipts) == ("PO-55120", True)
    first, second, third = comparison.lines
    # 12 billed, 10 ordered and 10 received: 2 cases too many.
    assert (first.ordered, first.received, first.invoiced) == (10, 10, 12)
    assert first.over_ordered and first.over_received and not first.price_off
    assert first.difference == Decimal("76.00")
    # 6 pouches ordered and received, billed at 14.00 instead of 12.75.
    assert second.price_off and not second.over_received
    assert second.difference == Decimal("7.50")
    assert third.not_ordered and third.difference == Decimal("25.00")
    assert comparison == compare_with_purchase_order(invoice, context())


def test_a_partial_invoice_bills_nothing_beyond_and_shows_what_is_left() -> None:
    half = replace(HARBOR_LINES[0], quantity=Decimal(5), amount=Decimal(190))
    comparison = compare_with_purchase_order(
        harbor_invoice(lines=(half,)), context(goods_receipts=())
    )
    assert comparison is not None and not comparison.has_receipts
    billed, left = comparison.lines
    assert billed.difference == 0 and billed.received is None
    assert not (billed.over_ordered or billed.over_received or billed.price_off)
    assert left.not_invoiced and left.po_line == "20"
    assert compare_with_purchase_order(harbor_invoice(lines=()), context()) is None
