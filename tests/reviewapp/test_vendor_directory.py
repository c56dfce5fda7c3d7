"""The vendor directory in the product: an approved receipt from a shop the
vendor master does not know teaches its confirmed name, address and customer,
which the shop's next receipt is read with at once; the review page says what
was applied and what was not, and why; a confirmed value is training data."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from pipeline.ocr.recorded import RecordedOcrEngine
from reviewapp import jobs
from reviewapp.learning.extractor_versions import correction_documents
from reviewapp.models.documents import Document
from reviewapp.models.learning import ConfirmedVendor
from reviewapp.selectors.review_page import unconfirmed_flagged_fields
from reviewapp.services.fields import field_confirm, field_correct
from reviewapp.services.ingest import document_ingest
from reviewapp.services.review import document_approve
from tests.conftest import logged_in, recorded_text_image

pytestmark = pytest.mark.django_db

CONFIRMED = {
    "vendor_name": "KEDAI AH SENG",
    "vendor_address": "NO 5, JALAN BESAR, 81100 JOHOR BAHRU",
    "customer_name": "SYARIKAT MAJU JAYA",
}


def receipt(head: str, street: str, total: str) -> list[str]:
    return [head, street, "81100 Johor Bahru", "Bill to:", "Syarikat Maju Jaya",
            "Date: 03/12/2026", f"TOTAL RM {total}"]  # fmt: skip


def processed(lines: list[str], name: str, user: User) -> Document:
    document = document_ingest(
        content=recorded_text_image(lines),
        original_name=name,
        channel="upload",
        uploaded_by=user,
    ).document
    assert jobs.process_document(document.pk).startswith("ready")
    document.refresh_from_db()
    return document


@pytest.fixture
def approved_a(
    supervisor: User, media_root: Path, recorded_ocr: type[RecordedOcrEngine]
) -> Document:
    """Receipt A: the shop is on no master; its name, address and customer
    corrected, then approved."""
    receipt_a = processed(
        receipt("KEDAI AH SENG (12345-X)", "No 5, Jalan Besar,", "3.00"),
        "receipt-a.png",
        supervisor,
    )
    for name, value in CONFIRMED.items():
        field_correct(document=receipt_a, name=name, value=value, user=supervisor)
    # The rest of what the page flags is confirmed as read (y), as approval needs.
    for name, _ in unconfirmed_flagged_fields(receipt_a.pk):
        field_confirm(document=receipt_a, name=name, user=supervisor)
    document_approve(document=receipt_a, user=supervisor)
    return receipt_a


def test_an_approved_receipt_teaches_its_shop_and_the_next_one_reads_it(
    approved_a: Document, supervisor: User, clerk: User
) -> None:
    entry = ConfirmedVendor.objects.get()
    assert entry.vendor is None and entry.name == "KEDAI AH SENG"
    assert entry.learned_from == approved_a
    learned = {t["field_name"] for t in entry.entry["texts"]}
    assert learned == {"vendor_name", "vendor_address", "customer_name"}

    # Receipt B: the head and street printed with their spaces dropped.
    receipt_b = processed(
        receipt("KEDAIAHSENG(12345-X)", "No5,JalanBesar,", "7.50"),
        "receipt-b.png",
        clerk,
    )
    fields = {f.name: f for f in receipt_b.fields.all()}
    for name, value in CONFIRMED.items():
        assert fields[name].value == value, name
        assert fields[name].explanation.startswith("from confirmed vendors")
    assert "receipt-a.png" in fields["customer_name"].explanation
    assert fields["total_amount"].value == "7.50"
    applied = {n["field"] for n in receipt_b.memory_notes if n["applied"]}
    assert set(CONFIRMED) <= applied
    entry.refresh_from_db()
    assert entry.times_used == 1

    page = logged_in(clerk).get(reverse("document-detail", args=[receipt_b.public_id]))
    html = page.content.decode()
    assert 'id="memory-notes"' in html
    assert "<strong>Customer</strong>: applied, from confirmed vendors" in html


def test_the_page_says_why_memory_was_not_applied(
    approved_a: Document, clerk: User
) -> None:
    other_branch = processed(
        receipt("KEDAI AH SENG (12345-X)", "Lot 9, Jalan Kuching,", "1.00"),
        "receipt-c.png",
        clerk,
    )
    notes = {n["field"]: n for n in other_branch.memory_notes}
    assert notes["vendor_name"]["applied"]
    assert not notes["vendor_address"]["applied"]
    assert "does not show a known value" in notes["vendor_address"]["reason"]

    stranger = processed(
        ["WARUNG PAK ALI", "Jalan Lain 1", "TOTAL RM 2.00"], "receipt-d.png", clerk
    )
    [note] = stranger.memory_notes
    assert not note["applied"] and note["reason"].startswith("not applied: no VAT")
    html = (
        logged_in(clerk)
        .get(reverse("document-detail", args=[stranger.public_id]))
        .content.decode()
    )
    assert "not applied: no VAT id, IBAN or confirmed name on the page" in html


def test_a_confirmed_value_reaches_training_data(
    clerk: User, media_root: Path, recorded_ocr: type[RecordedOcrEngine]
) -> None:
    document = processed(
        receipt("KEDAI AH SENG", "No 5, Jalan Besar,", "3.00"), "r.png", clerk
    )
    total = document.fields.get(name="total_amount")
    assert total.value == "3.00"
    assert not [d for d in correction_documents() if d.labels]

    field_confirm(document=document, name="total_amount", user=clerk)

    [example] = correction_documents()
    assert example.doc_id == f"corrections/{document.public_id}"
    assert example.labels == {"total_amount": "3.00"}
    assert example.pages[0].lines[0].text == "KEDAI AH SENG"
