"""The bank-detail gate: a new IBAN needs a supervisor other than the handler."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from pipeline.validate.bank_details import bank_details_unchanged
from pipeline.validate.types import InvoiceData, PriorInvoice
from tests.pipeline.validation_data import (
    DUVAL,
    HARBOR,
    NORDLICHT,
    NORDLICHT_IBAN,
    OTHER_DE_IBAN,
    context,
    nordlicht_invoice,
)


def approved(iban: str, day: int, **changes: object) -> PriorInvoice:
    values: dict[str, object] = {
        "document_id": f"doc-{day}",
        "vendor_id": NORDLICHT.id,
        "invoice_number": f"2026{day}",
        "invoice_date": date(2026, 10, day),
        "iban": iban,
        "approved": True,
        **changes,
    }
    return PriorInvoice(**values)  # type: ignore[arg-type]


def test_the_iban_on_the_vendor_master_passes() -> None:
    history = (approved(NORDLICHT_IBAN, 1),)
    assert (
        bank_details_unchanged(nordlicht_invoice(), context(prior_invoices=history))
        == []
    )


def test_an_iban_not_on_the_vendor_master_needs_a_supervisor() -> None:
    invoice = nordlicht_invoice(iban=OTHER_DE_IBAN)
    [issue] = bank_details_unchanged(invoice, context())
    assert (issue.code, issue.severity, issue.fields) == (
        "bank_details_changed",
        "error",
        ("iban",),
    )
    assert issue.needs_supervisor
    assert issue.message == (
        "The IBAN DE…2051 is new for Nordlicht Bürobedarf GmbH: it is not on the "
        "vendor master (which holds DE…3000). Confirm the change with the vendor "
        "by phone; only a supervisor other than the person handling this invoice "
        "may approve it."
    )
    assert OTHER_DE_IBAN not in issue.message and NORDLICHT_IBAN not in issue.message


def test_an_iban_different_from_the_last_approved_invoice_needs_a_supervisor() -> None:
    # Both accounts are on the master, but the vendor was last paid to the old one.
    two_accounts = replace(NORDLICHT, ibans=(NORDLICHT_IBAN, OTHER_DE_IBAN))
    history = (approved(OTHER_DE_IBAN, 1), approved(NORDLICHT_IBAN, 20))
    ctx = context(vendors=(two_accounts, HARBOR, DUVAL), prior_invoices=history)
    assert bank_details_unchanged(nordlicht_invoice(), ctx) == []
    [issue] = bank_details_unchanged(nordlicht_invoice(iban=OTHER_DE_IBAN), ctx)
    assert issue.needs_supervisor
    assert "the last approved invoice (dated 2026-10-20) was paid to DE…3000" in (
        issue.message
    )
    assert issue.details["last_approved_document_id"] == "doc-20"


def test_unapproved_and_other_vendors_invoices_do_not_count_as_history() -> None:
    history = (
        approved(OTHER_DE_IBAN, 25, approved=False),
        approved(OTHER_DE_IBAN, 26, vendor_id=HARBOR.id),
    )
    ctx = context(prior_invoices=history)
    assert bank_details_unchanged(nordlicht_invoice(), ctx) == []


def test_a_vendor_without_iban_on_file_is_a_change_too() -> None:
    no_accounts = replace(NORDLICHT, ibans=())
    ctx = context(vendors=(no_accounts,))
    [issue] = bank_details_unchanged(nordlicht_invoice(), ctx)
    assert "the vendor master holds no IBAN for this vendor" in issue.message


def test_no_iban_or_no_vendor_leaves_the_gate_to_other_rules() -> None:
    assert bank_details_unchanged(nordlicht_invoice(iban=""), context()) == []
    stranger = InvoiceData("invoice", {"vendor_name": "Globex", "iban": OTHER_DE_IBAN})
    assert bank_details_unchanged(stranger, context()) == []
