"""Duplicates: same vendor and invoice number, or same total and content."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date
from decimal import Decimal

from PIL import Image, ImageDraw, ImageFilter

from pipeline.validate.duplicates import (
    duplicate_invoice,
    fingerprint_distance,
    image_fingerprint,
    normalise_invoice_number,
    shingle_similarity,
    text_shingles,
)
from pipeline.validate.types import PriorInvoice
from tests.pipeline.validation_data import (
    HARBOR,
    NORDLICHT,
    codes,
    context,
    nordlicht_invoice,
)

PDF_TEXT = (
    "NORDLICHT BUEROBEDARF GMBH Hafenstrasse 12, 20457 Hamburg USt-IdNr. "
    "DE811907980 INVOICE Invoice No: 2026-0142 Invoice Date: 03.11.2026 "
    "Copy paper A4, 80 g (box of 5) 12 x 24.90 298.80 Toner cartridge HP 59A "
    "3 x 89.00 267.00 Desk organiser, bamboo 4 x 17.50 70.00 Subtotal 635.80 "
    "Tax 19% 120.80 TOTAL EUR 756.60"
)
# The same invoice scanned: OCR splits and misreads a few characters.
SCAN_TEXT = (
    "NORDLICHT BUER0BEDARF GMBH Hafenstrasse 12,20457 Hamburg USt-IdNr. "
    "DE811907980 INVOICE Invoice No: 2026-O142 Invoice Date: 03.11.2026 "
    "Copy paper A4, 80 g (box of 5) 12 x 24.90 298.80 Toner cartridge HP 59A "
    "3 x 89.00 267.00 Desk organiser, bamboo 4 x 17.50 70.00 Subtotal 635.80 "
    "Tax 19% 120.80 TOTAL EUR 756.60"
)


def prior(**changes: object) -> PriorInvoice:
    values: dict[str, object] = {
        "document_id": "doc-first",
        "vendor_id": NORDLICHT.id,
        "invoice_number": normalise_invoice_number("2026-0142"),
        "total": Decimal("756.60"),
        "currency": "EUR",
        "invoice_date": date(2026, 11, 3),
        "text_shingles": text_shingles(PDF_TEXT),
        "channel": "email",
        **changes,
    }
    return PriorInvoice(**values)  # type: ignore[arg-type]


def test_invoice_numbers_normalise_spacing_case_and_leading_zeros() -> None:
    assert normalise_invoice_number("INV-0042") == "INV42"
    assert normalise_invoice_number(" inv 42 ") == "INV42"
    assert normalise_invoice_number("2026-0142") == normalise_invoice_number("2026/142")
    assert normalise_invoice_number("2026-0142") != normalise_invoice_number(
        "2026-0143"
    )


def test_the_same_vendor_and_invoice_number_is_a_duplicate() -> None:
    invoice = nordlicht_invoice(invoice_number="2026 / 0142")
    [issue] = duplicate_invoice(invoice, context(prior_invoices=(prior(),)))
    assert (issue.code, issue.severity) == ("duplicate_invoice_number", "error")
    assert issue.message == (
        "Invoice number 2026 / 0142 from this vendor was already received "
        "(dated 2026-11-03, received by email)."
    )
    assert issue.details["document_id"] == "doc-first"


def test_the_same_number_from_another_vendor_is_not_a_duplicate() -> None:
    other = prior(vendor_id=HARBOR.id)
    assert (
        duplicate_invoice(nordlicht_invoice(), context(prior_invoices=(other,))) == []
    )


def test_a_document_is_never_its_own_duplicate() -> None:
    itself = prior(document_id="doc-new")
    assert (
        duplicate_invoice(nordlicht_invoice(), context(prior_invoices=(itself,))) == []
    )


def test_a_scan_of_the_same_invoice_with_a_misread_number_is_caught_by_text() -> None:
    assert shingle_similarity(text_shingles(PDF_TEXT), text_shingles(SCAN_TEXT)) > 0.85
    scan = replace(nordlicht_invoice(invoice_number="2026-O142"), text=SCAN_TEXT)
    [issue] = duplicate_invoice(scan, context(prior_invoices=(prior(),)))
    assert issue.code == "possible_duplicate"
    assert "same vendor and total 756.60" in issue.message
    assert issue.details["text_similarity"] > 0.85


def test_same_total_but_different_content_or_date_is_not_a_duplicate() -> None:
    next_month = replace(
        nordlicht_invoice(invoice_number="2026-0187", invoice_date="2026-12-03"),
        text=PDF_TEXT,
    )
    assert duplicate_invoice(next_month, context(prior_invoices=(prior(),))) == []
    other_text = replace(
        nordlicht_invoice(invoice_number="2026-0150"),
        text="Monthly service fee November 2026 maintenance contract 756.60",
    )
    assert duplicate_invoice(other_text, context(prior_invoices=(prior(),))) == []


def page_png(shift: int = 0, blur: float = 0.0) -> bytes:
    page = Image.new("RGB", (620, 877), "white")
    draw = ImageDraw.Draw(page)
    draw.rectangle((40 + shift, 40, 300 + shift, 90), fill="black")
    for row in range(8):
        draw.rectangle(
            (40, 200 + row * 60, 200 + row * 40, 220 + row * 60), fill="#333"
        )
    draw.rectangle((380, 700, 580, 760), fill="black")
    if blur:
        page = page.filter(ImageFilter.GaussianBlur(blur))
    buffer = io.BytesIO()
    page.save(buffer, format="PNG")
    return buffer.getvalue()


def test_image_fingerprints_are_close_for_the_same_page_and_far_otherwise() -> None:
    original = image_fingerprint(page_png())
    scanned = image_fingerprint(page_png(shift=2, blur=1.5))
    assert fingerprint_distance(original, scanned) <= 6
    other = Image.new("RGB", (620, 877), "white")
    ImageDraw.Draw(other).rectangle((300, 300, 600, 850), fill="black")
    buffer = io.BytesIO()
    other.save(buffer, format="PNG")
    assert fingerprint_distance(original, image_fingerprint(buffer.getvalue())) > 6


def test_a_near_identical_page_image_flags_a_duplicate_without_text() -> None:
    first = prior(
        text_shingles=frozenset(), image_fingerprint=image_fingerprint(page_png())
    )
    again = replace(
        nordlicht_invoice(invoice_number="20260142X"),
        image_fingerprint=image_fingerprint(page_png(shift=2, blur=1.5)),
    )
    issues = duplicate_invoice(again, context(prior_invoices=(first,)))
    assert codes(issues) == ["possible_duplicate"]
    assert "its page looks the same" in issues[0].message
