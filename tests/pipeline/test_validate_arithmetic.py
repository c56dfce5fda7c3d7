"""Lines, subtotal, tax and total add up, within rounding."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from pipeline.extract.normalize import format_amount
from pipeline.validate.arithmetic import (
    line_amounts,
    lines_sum_to_subtotal,
    tax_matches_rates,
    totals_add_up,
)
from pipeline.validate.types import InvoiceData, LineItem, Tolerances
from pipeline.validate.wording import money
from tests.pipeline.validation_data import (
    NORDLICHT_LINES,
    codes,
    context,
    nordlicht_invoice,
)


def test_the_demo_invoice_adds_up() -> None:
    invoice = nordlicht_invoice()
    for rule in (line_amounts, lines_sum_to_subtotal, totals_add_up, tax_matches_rates):
        assert rule(invoice, context()) == [], rule.__name__


def test_a_line_whose_amount_is_not_quantity_times_price_is_an_error() -> None:
    misread = replace(NORDLICHT_LINES[1], amount=Decimal("287.00"))
    invoice = replace(
        nordlicht_invoice(),
        line_items=(NORDLICHT_LINES[0], misread, NORDLICHT_LINES[2]),
    )
    [issue] = line_amounts(invoice, context())
    assert issue.code == "line_amount_mismatch"
    assert issue.fields == (
        "line_items[1].quantity",
        "line_items[1].unit_price",
        "line_items[1].amount",
    )
    assert issue.message == (
        "Line 2 (Toner cartridge HP 59A): 3 × 89.00 = 267.00, "
        "but the line amount reads 287.00."
    )
    assert issue.details["difference"] == "20.00"


def test_a_cent_of_rounding_on_a_line_is_tolerated() -> None:
    line = LineItem("Screws", Decimal("3"), Decimal("0.333"), Decimal("1.00"))
    invoice = InvoiceData("invoice", {}, (line,))
    assert line_amounts(invoice, context()) == []
    strict = context(tolerances=Tolerances(line_amount=Decimal("0")))
    assert codes(line_amounts(invoice, strict)) == ["line_amount_mismatch"]


def test_lines_that_do_not_sum_to_the_subtotal_are_an_error() -> None:
    invoice = nordlicht_invoice(subtotal_amount="653.80", total_amount="774.60")
    [issue] = lines_sum_to_subtotal(invoice, context())
    assert issue.fields[0] == "subtotal_amount"
    assert "add up to 635.80, but the subtotal reads 653.80" in issue.message
    assert issue.details["difference"] == "18.00"


def test_without_subtotal_or_tax_the_lines_must_make_the_total() -> None:
    invoice = nordlicht_invoice(subtotal_amount="", tax_amount="0.00")
    [issue] = lines_sum_to_subtotal(invoice, context())
    assert issue.fields[0] == "total_amount"
    assert "the total reads 756.60" in issue.message
    fine = nordlicht_invoice(subtotal_amount="", tax_amount="", total_amount="635.80")
    assert lines_sum_to_subtotal(fine, context()) == []


def test_lines_without_amounts_are_not_summed() -> None:
    lines = (replace(NORDLICHT_LINES[0], amount=None), *NORDLICHT_LINES[1:])
    invoice = replace(nordlicht_invoice(subtotal_amount="1.00"), line_items=lines)
    assert lines_sum_to_subtotal(invoice, context()) == []


def test_subtotal_plus_tax_must_equal_the_total() -> None:
    invoice = nordlicht_invoice(total_amount="765.60")
    [issue] = totals_add_up(invoice, context())
    assert issue.code == "total_mismatch"
    assert issue.message == (
        "Subtotal 635.80 + tax 120.80 = 756.60, but the total reads 765.60."
    )
    rounding = nordlicht_invoice(total_amount="756.62")
    assert totals_add_up(rounding, context()) == []
    assert codes(
        totals_add_up(nordlicht_invoice(total_amount="756.63"), context())
    ) == ["total_mismatch"]


def test_tax_that_does_not_match_the_line_rates_is_a_warning() -> None:
    invoice = nordlicht_invoice(tax_amount="44.51", total_amount="680.31")  # 7 %
    [issue] = tax_matches_rates(invoice, context())
    assert (issue.code, issue.severity) == ("tax_rate_mismatch", "warning")
    assert "Tax at 19 % on the lines comes to 120.80" in issue.message


def test_money_reads_like_the_extractors_amounts() -> None:
    for value in ("0.005", "119", "-8.785", "1234.5"):
        assert money(Decimal(value)) == format_amount(Decimal(value))
