"""Rules on invoice and due dates, measured against the injected `today`."""

from __future__ import annotations

from datetime import timedelta

from pipeline.validate.types import (
    DUE_DATE,
    INVOICE_DATE,
    InvoiceData,
    Issue,
    ValidationContext,
)


def invoice_date_not_in_future(
    invoice: InvoiceData, context: ValidationContext
) -> list[Issue]:
    """The invoice date is not after today (plus `tolerances.future_days`)."""
    invoice_date = invoice.date(INVOICE_DATE)
    latest = context.today + timedelta(days=context.tolerances.future_days)
    if invoice_date is None or invoice_date <= latest:
        return []
    days = (invoice_date - context.today).days
    return [
        Issue(
            code="invoice_date_in_future",
            severity="error",
            fields=(INVOICE_DATE,),
            message=(
                f"The invoice date {invoice_date.isoformat()} is {days} "
                f"day{'s' if days != 1 else ''} in the future; check for a "
                "misread day, month or year."
            ),
            details={"today": context.today.isoformat(), "days_ahead": days},
        )
    ]


def invoice_date_not_too_old(
    invoice: InvoiceData, context: ValidationContext
) -> list[Issue]:
    """The invoice date is no more than `tolerances.max_age_days` ago."""
    invoice_date = invoice.date(INVOICE_DATE)
    max_age = context.tolerances.max_age_days
    if invoice_date is None or (context.today - invoice_date).days <= max_age:
        return []
    days = (context.today - invoice_date).days
    return [
        Issue(
            code="invoice_date_too_old",
            severity="warning",
            fields=(INVOICE_DATE,),
            message=(
                f"The invoice date {invoice_date.isoformat()} is {days} days ago, "
                f"more than the {max_age} days expected; check for a misread year."
            ),
            details={"today": context.today.isoformat(), "days_ago": days},
        )
    ]


def due_date_not_before_invoice_date(
    invoice: InvoiceData, context: ValidationContext
) -> list[Issue]:
    """The due date is on or after the invoice date."""
    invoice_date = invoice.date(INVOICE_DATE)
    due_date = invoice.date(DUE_DATE)
    if invoice_date is None or due_date is None or due_date >= invoice_date:
        return []
    return [
        Issue(
            code="due_before_invoice_date",
            severity="error",
            fields=(INVOICE_DATE, DUE_DATE),
            message=(
                f"The due date {due_date.isoformat()} is before the invoice date "
                f"{invoice_date.isoformat()}."
            ),
            details={"days_before": (invoice_date - due_date).days},
        )
    ]
