"""Required fields, readable values and plausible dates."""

from __future__ import annotations

from dataclasses import replace

from pipeline.validate.dates import (
    due_date_not_before_invoice_date,
    invoice_date_not_in_future,
    invoice_date_not_too_old,
)
from pipeline.validate.fields import field_formats, required_fields
from pipeline.validate.types import InvoiceData, Tolerances
from tests.pipeline.validation_data import codes, context, nordlicht_invoice


def test_a_complete_invoice_has_every_required_field() -> None:
    assert required_fields(nordlicht_invoice(), context()) == []


def test_each_missing_required_field_is_one_error_naming_it() -> None:
    invoice = nordlicht_invoice(invoice_number="", total_amount="  ")
    issues = required_fields(invoice, context())
    assert [(i.code, i.severity, i.fields) for i in issues] == [
        ("missing_field", "error", ("invoice_number",)),
        ("missing_field", "error", ("total_amount",)),
    ]
    assert issues[0].message == "The invoice number is missing."
    assert issues[1].message == "The total is missing."


def test_required_fields_depend_on_the_document_type() -> None:
    receipt = InvoiceData(
        document_type="receipt",
        fields={"vendor_name": "KEDAI RUNCIT", "invoice_date": "2026-10-21"},
    )
    issues = required_fields(receipt, context())
    assert [i.fields for i in issues] == [("total_amount",)]
    unknown_type = replace(receipt, document_type="delivery_note")
    assert required_fields(unknown_type, context()) == []


def test_unreadable_amounts_dates_and_currency_are_reported() -> None:
    invoice = nordlicht_invoice(
        total_amount="756,60 EUR", due_date="03.12.2026", currency="Euro"
    )
    issues = field_formats(invoice, context())
    assert [i.fields for i in issues] == [
        ("total_amount",),
        ("due_date",),
        ("currency",),
    ]
    assert "756,60 EUR" in issues[0].message
    assert "2026-03-31" in issues[1].message
    assert field_formats(nordlicht_invoice(), context()) == []


def test_an_invoice_dated_today_or_earlier_is_not_in_the_future() -> None:
    assert invoice_date_not_in_future(nordlicht_invoice(), context()) == []
    today = nordlicht_invoice(invoice_date="2026-11-20")
    assert invoice_date_not_in_future(today, context()) == []


def test_an_invoice_dated_after_today_is_an_error() -> None:
    # 11/03 read month-first instead of day-first: 2026-03-11 would be fine,
    # but a misread year is typical too.
    invoice = nordlicht_invoice(invoice_date="2027-11-03", due_date="2027-12-03")
    [issue] = invoice_date_not_in_future(invoice, context())
    assert issue.code == "invoice_date_in_future"
    assert issue.severity == "error"
    assert "348 days in the future" in issue.message


def test_future_days_tolerance_allows_a_day_ahead() -> None:
    invoice = nordlicht_invoice(invoice_date="2026-11-21")
    assert codes(invoice_date_not_in_future(invoice, context())) == [
        "invoice_date_in_future"
    ]
    lenient = context(tolerances=Tolerances(future_days=1))
    assert invoice_date_not_in_future(invoice, lenient) == []


def test_an_absurdly_old_invoice_date_is_a_warning() -> None:
    old = nordlicht_invoice(invoice_date="2016-11-03", due_date="2016-12-03")
    [issue] = invoice_date_not_too_old(old, context())
    assert (issue.code, issue.severity) == ("invoice_date_too_old", "warning")
    assert "misread year" in issue.message
    assert invoice_date_not_too_old(nordlicht_invoice(), context()) == []


def test_a_due_date_before_the_invoice_date_is_an_error() -> None:
    invoice = nordlicht_invoice(due_date="2026-10-03")
    [issue] = due_date_not_before_invoice_date(invoice, context())
    assert issue.fields == ("invoice_date", "due_date")
    assert issue.details == {"days_before": 31}
    assert due_date_not_before_invoice_date(nordlicht_invoice(), context()) == []
    same_day = nordlicht_invoice(due_date="2026-11-03")
    assert due_date_not_before_invoice_date(same_day, context()) == []


def test_date_rules_skip_missing_dates() -> None:
    invoice = nordlicht_invoice(invoice_date="", due_date="")
    assert invoice_date_not_in_future(invoice, context()) == []
    assert invoice_date_not_too_old(invoice, context()) == []
    assert due_date_not_before_invoice_date(invoice, context()) == []
