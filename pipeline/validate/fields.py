"""Rules on the presence and shape of header fields."""

from __future__ import annotations

import re

from pipeline.validate.types import (
    AMOUNT_FIELDS,
    CURRENCY,
    DATE_FIELDS,
    InvoiceData,
    Issue,
    ValidationContext,
)

FIELD_LABELS = {
    "vendor_name": "vendor name",
    "vendor_address": "vendor address",
    "vendor_vat_id": "vendor VAT id",
    "iban": "IBAN",
    "bic": "BIC",
    "customer_name": "customer name",
    "payment_terms": "payment terms",
    "invoice_number": "invoice number",
    "invoice_date": "invoice date",
    "due_date": "due date",
    "po_number": "purchase order number",
    "subtotal_amount": "subtotal",
    "tax_amount": "tax amount",
    "total_amount": "total",
    "currency": "currency",
}


def label(name: str) -> str:
    """How a field is called in messages: "total_amount" -> "total"."""
    return FIELD_LABELS.get(name, name.replace("_", " "))


def required_fields(invoice: InvoiceData, context: ValidationContext) -> list[Issue]:
    """Every field the document type requires has a value.

    The required set per type comes from `context.required_fields`; a type
    it does not list requires nothing.
    """
    required = context.required_fields.get(invoice.document_type, ())
    return [
        Issue(
            code="missing_field",
            severity="error",
            fields=(name,),
            message=f"The {label(name)} is missing.",
            details={"document_type": invoice.document_type},
        )
        for name in required
        if not invoice.value(name)
    ]


def field_formats(invoice: InvoiceData, context: ValidationContext) -> list[Issue]:
    """Amounts are plain decimals, dates ISO dates and the currency an ISO code.

    The extractor and the review form normalise values; anything else here
    means a value slipped through unreadable, and the arithmetic and date
    rules would silently skip it.
    """
    issues = []
    for name in sorted(AMOUNT_FIELDS):
        if invoice.value(name) and invoice.amount(name) is None:
            issues.append(
                _unreadable(invoice, name, "an amount like 1234.50", "amount")
            )
    for name in sorted(DATE_FIELDS):
        if invoice.value(name) and invoice.date(name) is None:
            issues.append(_unreadable(invoice, name, "a date like 2026-03-31", "date"))
    currency = invoice.value(CURRENCY)
    if currency and not re.fullmatch(r"[A-Z]{3}", currency):
        issues.append(
            _unreadable(invoice, CURRENCY, "a three-letter code like EUR", "currency")
        )
    return issues


def _unreadable(invoice: InvoiceData, name: str, expected: str, kind: str) -> Issue:
    return Issue(
        code="unreadable_value",
        severity="error",
        fields=(name,),
        message=(
            f"The {label(name)} reads “{invoice.value(name)}”, which is not {expected}."
        ),
        details={"expected": kind},
    )
