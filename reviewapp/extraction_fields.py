"""The fields Vouch reads, in the order the review page lists them."""

from __future__ import annotations

FIELD_LABELS = {
    "vendor_name": "Vendor",
    "invoice_number": "Invoice number",
    "invoice_date": "Date",
    "total_amount": "Total",
    "currency": "Currency",
}
FIELD_NAMES = tuple(FIELD_LABELS)
