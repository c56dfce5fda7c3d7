"""Rule-based field extraction from OCR lines: labels, patterns and position.

Each field is chosen from scored candidates; the score of the winner and how
close its rivals came become the confidence, so an ambiguous page reads as
uncertain instead of confidently wrong.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.extract import amount_reconciliation, identifiers, invoice_fields, parties
from pipeline.extract.currency import read_currency
from pipeline.extract.invoice_number import read_invoice_number
from pipeline.extract.issue_date import prefers_day_first, read_invoice_date
from pipeline.extract.layout import layout_pages
from pipeline.extract.total_amount import total_candidates
from pipeline.extract.vendor_name import read_vendor_name
from pipeline.types import Extraction, PageText


class HeuristicExtractor:
    """Finds the invoice and receipt fields from OCR layout.

    Never raises on odd text; a field without any believable candidate is left
    out of the result.
    """

    name = "heuristic"
    version = "2"

    def extract(self, pages: Sequence[PageText]) -> Extraction:
        layouts = [layout for layout in layout_pages(pages) if layout.rows]
        if not layouts:
            return Extraction()
        currency = read_currency(layouts)
        day_first = prefers_day_first(layouts, currency)
        vendor = read_vendor_name(layouts[0])
        issued = read_invoice_date(layouts, day_first)
        total, subtotal, tax = amount_reconciliation.reconcile_amounts(
            total_candidates(layouts),
            amount_reconciliation.subtotal_candidates(layouts),
            amount_reconciliation.tax_candidates(layouts),
        )
        fields = [
            vendor,
            parties.vendor_address(
                layouts,
                vendor,
                comma_before_postcode=currency is not None
                and currency.value in _EUROPEAN_CURRENCIES,
            ),
            identifiers.vendor_vat_id(layouts),
            parties.customer_name(layouts),
            read_invoice_number(layouts),
            issued,
            invoice_fields.due_date(layouts, day_first, issued),
            invoice_fields.po_number(layouts),
            currency,
            subtotal,
            tax,
            total,
            identifiers.iban(layouts),
            identifiers.bic(layouts),
            invoice_fields.payment_terms(layouts),
        ]
        return Extraction(fields=tuple(f for f in fields if f is not None))


# Currencies of the countries whose one-line addresses put a comma before
# the postcode ("Hauptstr. 5, 12345 Berlin").
_EUROPEAN_CURRENCIES = frozenset(
    {"EUR", "GBP", "CHF", "SEK", "DKK", "NOK", "PLN", "CZK"}
)
