"""Exceptions settled from the review page: a duplicate beside the document it
repeats (values side by side, differences marked, sensitive values masked,
only to who may see both), and a PO mismatch as a line-by-line table."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from reviewapp.models.documents import Document
from reviewapp.models.master_data import (
    GoodsReceipt,
    PurchaseOrder,
    PurchaseOrderLine,
    Vendor,
)
from reviewapp.models.validation import ValidationIssue
from reviewapp.selectors.exceptions import duplicate_comparison
from tests.conftest import logged_in, make_document, make_line_item

pytestmark = pytest.mark.django_db

IBAN = "DE89370400440532013000"


def invoice(name: str, total: str, **extra: str) -> Document:
    values = {
        "vendor_name": "Nordlicht GmbH",
        "invoice_number": "2026-0142",
        "total_amount": total,
        "iban": IBAN,
        **extra,
    }
    document = make_document(
        name=name, fields={key: (value, 0.99) for key, value in values.items()}
    )
    Document.objects.filter(pk=document.pk).update(document_type="invoice")
    document.refresh_from_db()
    return document


def flag_duplicate(document: Document, of: Document) -> None:
    ValidationIssue.objects.create(
        document=document,
        rule="duplicate_invoice",
        code="duplicate_invoice_number",
        severity="error",
        fields=["invoice_number"],
        message="Invoice 2026-0142 was already received.",
        details={"document_id": str(of.public_id), "channel": "Email"},
    )


def test_a_duplicate_is_shown_beside_its_original_with_differences_marked(
    supervisor: User,
) -> None:
    original = invoice("first.pdf", "1190.00")
    again = invoice("again.jpg", "1190.50")
    flag_duplicate(again, of=original)

    view = duplicate_comparison(document=again, user=supervisor)
    assert view is not None and view.original == original
    rows = {row.label: row for row in view.rows}
    assert rows["Invoice number"].same
    assert not rows["Total"].same
    assert (rows["Total"].this, rows["Total"].original) == ("1190.50", "1190.00")
    assert view.differences == 1
    # Sensitive values are masked on both sides, and still compared.
    assert IBAN not in rows["IBAN"].this + rows["IBAN"].original
    assert rows["IBAN"].same


def test_nothing_is_shown_without_a_duplicate_or_to_who_may_not_see_the_original(
    clerk: User, supervisor: User
) -> None:
    original = invoice("first.pdf", "1190.00")
    again = invoice("again.jpg", "1190.00")
    assert duplicate_comparison(document=again, user=supervisor) is None
    flag_duplicate(again, of=original)
    # A clerk sees only read documents (and their own uploads).
    Document.objects.filter(pk=original.pk).update(status=Document.Status.PROCESSING)
    assert duplicate_comparison(document=again, user=clerk) is None
    assert duplicate_comparison(document=again, user=supervisor) is not None


def test_the_review_page_links_the_original_and_compares_them(
    supervisor: User,
) -> None:
    original = invoice("first.pdf", "1190.00")
    again = invoice("again.jpg", "1190.50")
    flag_duplicate(again, of=original)
    page = logged_in(supervisor).get(reverse("document-detail", args=[again.public_id]))
    html = page.content.decode()
    start = html.index('id="duplicate"')
    section = html[start : html.index("</section>", start)]
    assert reverse("document-detail", args=[original.public_id]) in section
    assert "1 value differs" in section
    assert '<tr class="is-different"><th scope="row">Total' in section
    assert IBAN not in html


def harbor_mismatch() -> Document:
    """An invoice billing 10 cases of gloves against a PO for 8, 8 received,
    with its failed PO check."""
    vendor = Vendor.objects.create(number="V-7", name="Harbor Supply Co. Inc.")
    order = PurchaseOrder.objects.create(
        number="PO-55120", vendor=vendor, currency="USD"
    )
    line = PurchaseOrderLine.objects.create(
        purchase_order=order, line_number="10", description="Nitrile gloves",
        quantity=Decimal(8), unit_price=Decimal("38.00"),
    )  # fmt: skip
    GoodsReceipt.objects.create(
        line=line, quantity_received=Decimal(8), received_on=date(2026, 11, 2)
    )
    document = invoice("harbor.pdf", "380.00", po_number="PO-55120")
    make_line_item(
        document, 1, "Nitrile gloves", quantity="10", unit_price="38.00",
        amount="380.00",
    )  # fmt: skip
    ValidationIssue.objects.create(
        document=document, rule="two_way_match", code="po_quantity_mismatch",
        severity="error", fields=["line_items[0].quantity"],
        message="Line 1 (Nitrile gloves): 10 invoiced, but only 8 ordered.",
    )  # fmt: skip
    return document


def test_a_po_mismatch_shows_the_invoice_against_the_order_line_by_line(
    supervisor: User,
) -> None:
    document = harbor_mismatch()
    url = reverse("document-detail", args=[document.public_id])
    html = logged_in(supervisor).get(url).content.decode()
    start = html.index('id="po-match"')
    section = html[start : html.index("</section>", start)]
    assert "Invoice against purchase order PO-55120" in section
    row = section[section.index("1. Nitrile gloves") :]
    cells = row.split("<td")[1:7]
    shown = [cell.split(">", 1)[1].split("<", 1)[0] for cell in cells]
    assert shown == ["8", "8", "10", "38.00", "38.00", "76.00"]
    # Invoiced and the difference are marked; what was ordered and received not.
    marked = ["is-off" in cell.split(">", 1)[0] for cell in cells]
    assert marked == [False, False, True, False, False, True]


def test_no_po_table_without_a_failed_po_check(supervisor: User) -> None:
    document = harbor_mismatch()
    ValidationIssue.objects.filter(document=document).delete()
    url = reverse("document-detail", args=[document.public_id])
    assert 'id="po-match"' not in logged_in(supervisor).get(url).content.decode()


def test_the_line_grid_does_not_tick_a_line_a_check_names(supervisor: User) -> None:
    document = harbor_mismatch()  # 10 x 38.00 = 380.00: its arithmetic holds
    url = reverse("document-detail", args=[document.public_id])
    html = logged_in(supervisor).get(url).content.decode()
    start = html.index('data-index="0"')
    row = html[start : html.index("</tr>", start)]
    assert "Fails a check: see Checks" in row
    assert "line-ok" not in row
