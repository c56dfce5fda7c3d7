"""Realistic master data and invoices for the validation rule tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pipeline.validate.types import (
    GoodsReceipt,
    InvoiceData,
    LineItem,
    PurchaseOrder,
    PurchaseOrderLine,
    ValidationContext,
    VendorRecord,
)

TODAY = date(2026, 11, 20)
NORDLICHT_IBAN = "DE89370400440532013000"
OTHER_DE_IBAN = "DE02120300000000202051"  # valid checksum, another account

NORDLICHT = VendorRecord(
    id="v-nordlicht",
    name="Nordlicht Bürobedarf GmbH",
    aliases=("Nordlicht Buerobedarf",),
    vat_id="DE811907980",
    ibans=(NORDLICHT_IBAN,),
    address="Hafenstrasse 12, 20457 Hamburg",
    country="DE",
    currency="EUR",
    payment_terms_days=30,
)
HARBOR = VendorRecord(
    id="v-harbor",
    name="Harbor Supply Co. Inc.",
    address="500 Pier Avenue, Seattle, WA 98101",
    country="US",
    currency="USD",
)
DUVAL = VendorRecord(
    id="v-duval",
    name="Atelier Duval SARL",
    vat_id="FR40303265045",
    ibans=("FR1420041010050500013M02606",),
    address="18 rue des Tanneurs, 69002 Lyon",
    country="FR",
    currency="EUR",
)

HARBOR_PO = PurchaseOrder(
    number="PO-55120",
    vendor_id=HARBOR.id,
    currency="USD",
    lines=(
        PurchaseOrderLine(
            "10",
            "Nitrile gloves, medium (case)",
            Decimal(10),
            Decimal("38.00"),
            "GLV-M",
        ),
        PurchaseOrderLine(
            "20", "Autoclave pouches 3.5x10 in", Decimal(6), Decimal("12.75"), "ACP-35"
        ),
    ),
)
HARBOR_RECEIPTS = (
    GoodsReceipt("PO-55120", "10", Decimal(10), date(2026, 11, 2), "GR-9001"),
    GoodsReceipt("PO-55120", "20", Decimal(6), date(2026, 11, 2), "GR-9001"),
)

NORDLICHT_LINES = (
    LineItem(
        "Copy paper A4, 80 g (box of 5)",
        Decimal(12),
        Decimal("24.90"),
        Decimal("298.80"),
        Decimal(19),
    ),
    LineItem(
        "Toner cartridge HP 59A",
        Decimal(3),
        Decimal("89.00"),
        Decimal("267.00"),
        Decimal(19),
    ),
    LineItem(
        "Desk organiser, bamboo",
        Decimal(4),
        Decimal("17.50"),
        Decimal("70.00"),
        Decimal(19),
    ),
)
NORDLICHT_FIELDS = {
    "vendor_name": "NORDLICHT BUEROBEDARF GMBH",
    "vendor_address": "Hafenstrasse 12, 20457 Hamburg",
    "vendor_vat_id": "DE811907980",
    "customer_name": "Brightwater Foods Ltd",
    "invoice_number": "2026-0142",
    "invoice_date": "2026-11-03",
    "due_date": "2026-12-03",
    "currency": "EUR",
    "subtotal_amount": "635.80",
    "tax_amount": "120.80",
    "total_amount": "756.60",
    "iban": NORDLICHT_IBAN,
    "bic": "COBADEFFXXX",
    "payment_terms": "30 days net",
}
HARBOR_FIELDS = {
    "vendor_name": "Harbor Supply Co. Inc.",
    "vendor_address": "500 Pier Avenue, Seattle, WA 98101",
    "invoice_number": "88412",
    "invoice_date": "2026-11-04",
    "po_number": "PO-55120",
    "currency": "USD",
    "subtotal_amount": "456.50",
    "tax_amount": "46.11",
    "total_amount": "502.61",
}
HARBOR_LINES = (
    LineItem(
        "Nitrile gloves, medium (case)",
        Decimal(10),
        Decimal("38.00"),
        Decimal("380.00"),
        item_code="GLV-M",
    ),
    LineItem(
        "Autoclave pouches 3.5x10 in",
        Decimal(6),
        Decimal("12.75"),
        Decimal("76.50"),
        item_code="ACP-35",
    ),
)


def nordlicht_invoice(lines: bool = True, **changes: Any) -> InvoiceData:
    """The Nordlicht demo invoice, with `changes` to its fields ("" removes)."""
    fields = {**NORDLICHT_FIELDS, **changes}
    return InvoiceData(
        document_type="invoice",
        fields={name: value for name, value in fields.items() if value},
        line_items=NORDLICHT_LINES if lines else (),
        document_id="doc-new",
    )


def harbor_invoice(
    lines: tuple[LineItem, ...] | None = HARBOR_LINES, **changes: Any
) -> InvoiceData:
    fields = {**HARBOR_FIELDS, **changes}
    return InvoiceData(
        document_type="invoice",
        fields={name: value for name, value in fields.items() if value},
        line_items=lines or (),
        document_id="doc-harbor",
    )


def context(**changes: Any) -> ValidationContext:
    """Today, the three vendors, the Harbor PO and its receipts."""
    values: dict[str, Any] = {
        "today": TODAY,
        "vendors": (NORDLICHT, HARBOR, DUVAL),
        "purchase_orders": (HARBOR_PO,),
        "goods_receipts": HARBOR_RECEIPTS,
        **changes,
    }
    return ValidationContext(**values)


def codes(issues: Any) -> list[str]:
    return [issue.code for issue in issues]
