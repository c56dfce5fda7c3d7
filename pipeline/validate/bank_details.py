"""The bank-detail gate: paying into an account we have not paid before.

Changed bank details are the classic invoice fraud, so an IBAN that is not on
the vendor master, or differs from the vendor's last approved invoice, is an
exception that only a supervisor other than the document's handler may approve.
"""

from __future__ import annotations

from datetime import date

from pipeline.validate.types import (
    IBAN,
    InvoiceData,
    Issue,
    PriorInvoice,
    ValidationContext,
)
from pipeline.validate.vendors import match_vendor
from pipeline.validate.wording import compact_iban, mask_iban


def last_approved(
    invoice: InvoiceData, context: ValidationContext, vendor_id: str
) -> PriorInvoice | None:
    """The vendor's most recent approved invoice that names an IBAN."""
    approved = [
        prior
        for prior in context.prior_invoices
        if prior.vendor_id == vendor_id
        and prior.approved
        and prior.iban
        and prior.document_id != invoice.document_id
    ]
    return max(
        approved,
        key=lambda prior: prior.invoice_date or prior.received_on or date.min,
        default=None,
    )


def bank_details_unchanged(
    invoice: InvoiceData, context: ValidationContext
) -> list[Issue]:
    """The IBAN is on the vendor master and is the one the vendor's last
    approved invoice was paid to; otherwise an error needing a second person.

    Needs a matched vendor (an unknown vendor is reported by `vendor_known`).
    """
    iban = compact_iban(invoice.value(IBAN))
    match = match_vendor(invoice, context) if iban else None
    vendor = context.vendor(match.vendor_id) if match else None
    if vendor is None:
        return []
    known = {compact_iban(account) for account in vendor.ibans}
    reasons = []
    if iban not in known:
        on_file = ", ".join(sorted(mask_iban(account) for account in known))
        reasons.append(
            f"it is not on the vendor master (which holds {on_file})"
            if on_file
            else "the vendor master holds no IBAN for this vendor"
        )
    previous = last_approved(invoice, context, vendor.id)
    if previous is not None and compact_iban(previous.iban) != iban:
        when = previous.invoice_date or previous.received_on
        reasons.append(
            "the last approved invoice"
            + (f" (dated {when.isoformat()})" if when else "")
            + f" was paid to {mask_iban(previous.iban)}"
        )
    if not reasons:
        return []
    return [
        Issue(
            code="bank_details_changed",
            severity="error",
            fields=(IBAN,),
            message=(
                f"The IBAN {mask_iban(iban)} is new for {vendor.name}: "
                + "; and ".join(reasons)
                + ". Confirm the change with the vendor by phone; only a "
                "supervisor other than the person handling this invoice may "
                "approve it."
            ),
            details={
                "vendor_id": vendor.id,
                "on_master": iban in known,
                "last_approved_document_id": previous.document_id if previous else "",
            },
            needs_supervisor=True,
        )
    ]
