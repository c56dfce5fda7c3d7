"""Per-vendor memory end to end: a reviewer's correction on one invoice from a
vendor is used on the vendor's next invoice at once, shown as such, and an
administrator can inspect and delete it (audited)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from pipeline.ocr.recorded import RecordedOcrEngine
from reviewapp import jobs
from reviewapp.audit.trail import verify_chain
from reviewapp.extraction_fields import auto_accept_threshold
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document
from reviewapp.models.learning import VendorFieldMemory
from reviewapp.models.master_data import Vendor
from reviewapp.services.fields import field_correct
from reviewapp.services.ingest import document_ingest
from reviewapp.services.processing import document_reprocess
from tests.conftest import logged_in, recorded_text_image, text_image

pytestmark = pytest.mark.django_db

VAT_ID = "DE136695976"


def invoice_lines(reference: str, total: str) -> list[str]:
    # The number sits under an unusual label; a decoy follows "Invoice No".
    return [
        "NORDWIND TRADING GMBH",
        f"USt-IdNr: {VAT_ID}",
        "Invoice No: 990001",
        "Ref. doc.",
        reference,
        f"Total EUR {total}",
    ]


def processed(content: bytes, name: str, user: User) -> Document:
    document = document_ingest(
        content=content, original_name=name, channel="upload", uploaded_by=user
    ).document
    assert jobs.process_document(document.pk).startswith("ready")
    document.refresh_from_db()
    return document


@pytest.fixture
def vendor(db: None) -> Vendor:
    return Vendor.objects.create(
        number="V-100", name="Nordwind Trading GmbH", vat_id=VAT_ID, country="DE"
    )


@pytest.fixture
def learned_from_a(
    clerk: User, vendor: Vendor, media_root: Path, recorded_ocr: type[RecordedOcrEngine]
) -> Document:
    """Invoice A, read wrongly, then corrected by the clerk."""
    invoice_a = processed(
        recorded_text_image(invoice_lines("RD-4711", "120,50")),
        "invoice-a.png",
        clerk,
    )
    assert invoice_a.fields.get(name="invoice_number").value == "990001"
    assert invoice_a.validation.vendor == vendor
    field_correct(
        document=invoice_a, name="invoice_number", value="RD-4711", user=clerk
    )
    return invoice_a


def test_a_correction_on_invoice_a_reads_invoice_b_right_at_once(
    clerk: User,
    vendor: Vendor,
    learned_from_a: Document,
    recorded_ocr: type[RecordedOcrEngine],
) -> None:
    memory = VendorFieldMemory.objects.get(vendor=vendor, field_name="invoice_number")
    assert memory.learned_from == learned_from_a and memory.learned_by == clerk
    assert memory.layout_hint.anchor_text == "Ref. doc."
    assert memory.layout_hint.value_shape == "AA-9999"
    assert "RD-4711" not in str(memory.hint)  # where and what shape, not the value

    invoice_b = processed(
        recorded_text_image(invoice_lines("RD-4790", "77,00")),
        "invoice-b.png",
        clerk,
    )
    number = invoice_b.fields.get(name="invoice_number")
    assert number.value == "RD-4790"
    assert number.set_by == "machine"
    assert number.confidence >= auto_accept_threshold("invoice_number")
    assert "from vendor memory" in number.explanation
    assert "invoice-a.png" in number.explanation
    assert invoice_b.fields.get(name="total_amount").value == "77.00"
    memory.refresh_from_db()
    assert memory.times_used == 1 and memory.last_used_at is not None
    assert "vendor_memory" in invoice_b.runs.get().stage_seconds

    # The review page says where the value came from.
    page = logged_in(clerk).get(reverse("document-detail", args=[invoice_b.public_id]))
    assert page.status_code == 200
    assert "from vendor memory (learned from document invoice-a.png" in page.text


def test_learning_is_audited_and_reprocessing_uses_memory_once_per_run(
    clerk: User, vendor: Vendor, learned_from_a: Document
) -> None:
    learned = AuditEvent.objects.get(event_type="vendor_memory_learned")
    assert learned.document_public_id == learned_from_a.public_id
    assert learned.details["field"] == "invoice_number"
    assert learned.details["vendor"] == "V-100"
    # A's own reprocessing keeps the clerk's value and reads the same by memory.
    assert document_reprocess(document=learned_from_a, user=clerk)
    jobs.process_document(learned_from_a.pk)
    field = learned_from_a.fields.get(name="invoice_number")
    assert (field.value, field.set_by, field.machine_value) == (
        "RD-4711",
        "human",
        "RD-4711",
    )
    assert VendorFieldMemory.objects.get().times_used == 1


def test_another_vendor_s_invoice_ignores_the_memory(
    clerk: User, learned_from_a: Document, recorded_ocr: type[RecordedOcrEngine]
) -> None:
    lines = invoice_lines("RD-5555", "10,00")
    lines[0], lines[1] = "SUEDWIND HANDEL AG", "USt-IdNr: DE811907980"
    other = processed(recorded_text_image(lines), "other.png", clerk)
    assert other.fields.get(name="invoice_number").value == "990001"
    assert VendorFieldMemory.objects.get().times_used == 0


def test_no_memory_is_learned_without_a_known_vendor(
    clerk: User, media_root: Path, recorded_ocr: type[RecordedOcrEngine]
) -> None:
    invoice = processed(
        recorded_text_image(invoice_lines("RD-4711", "1,00")), "a.png", clerk
    )
    field_correct(document=invoice, name="invoice_number", value="RD-4711", user=clerk)
    assert not VendorFieldMemory.objects.exists()


def test_an_admin_inspects_and_deletes_memory_and_it_is_audited(
    admin_user: User,
    clerk: User,
    vendor: Vendor,
    learned_from_a: Document,
    recorded_ocr: type[RecordedOcrEngine],
) -> None:
    admin_user.is_staff = True
    admin_user.save()
    admin = logged_in(admin_user)
    listing = admin.get(
        reverse("admin:reviewapp_vendorfieldmemory_changelist"),
        {"vendor__id__exact": vendor.pk},
    )
    assert listing.status_code == 200
    assert "below &#x27;Ref. doc.&#x27;" in listing.text
    vendor_page = admin.get(reverse("admin:reviewapp_vendor_change", args=[vendor.pk]))
    assert "below &#x27;Ref. doc.&#x27;" in vendor_page.text
    memory = VendorFieldMemory.objects.get()
    response = admin.post(
        reverse("admin:reviewapp_vendorfieldmemory_delete", args=[memory.pk]),
        {"post": "yes"},
    )
    assert response.status_code == 302
    assert not VendorFieldMemory.objects.exists()
    deleted = AuditEvent.objects.get(event_type="vendor_memory_deleted")
    assert deleted.actor_username == "admin"
    assert deleted.details["field"] == "invoice_number"
    assert deleted.document_public_id == learned_from_a.public_id
    assert verify_chain().ok

    # Forgotten: the next invoice is read by the generic extractor again.
    invoice_c = processed(
        recorded_text_image(invoice_lines("RD-4800", "5,00")), "c.png", clerk
    )
    assert invoice_c.fields.get(name="invoice_number").value == "990001"


def test_bulk_deletion_from_the_admin_list_is_audited_per_memory(
    admin_user: User, vendor: Vendor, learned_from_a: Document
) -> None:
    admin_user.is_staff = True
    admin_user.save()
    memory = VendorFieldMemory.objects.get()
    response = logged_in(admin_user).post(
        reverse("admin:reviewapp_vendorfieldmemory_changelist"),
        {"action": "delete_selected", "_selected_action": [memory.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not VendorFieldMemory.objects.exists()
    assert AuditEvent.objects.filter(event_type="vendor_memory_deleted").count() == 1


def test_clerks_cannot_see_or_delete_memory(
    clerk: User, learned_from_a: Document
) -> None:
    client = logged_in(clerk)
    url = reverse("admin:reviewapp_vendorfieldmemory_changelist")
    assert client.get(url).status_code in (302, 403)
    assert VendorFieldMemory.objects.count() == 1


@pytest.mark.integration
def test_real_ocr_reads_the_next_invoice_from_memory(
    clerk: User,
    vendor: Vendor,
    media_root: Path,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    """The same story with PaddleOCR reading both images."""
    settings.VOUCH_OCR_ENGINE = "pipeline.ocr.paddle.PaddleOcrEngine"
    invoice_a = processed(
        text_image(invoice_lines("RD-4711", "120,50")), "invoice-a.png", clerk
    )
    assert invoice_a.runs.get().ocr_engine.startswith("paddleocr")
    assert invoice_a.fields.get(name="invoice_number").value != "RD-4711"
    assert invoice_a.validation.vendor == vendor
    field_correct(
        document=invoice_a, name="invoice_number", value="RD-4711", user=clerk
    )
    assert VendorFieldMemory.objects.filter(vendor=vendor).exists()

    invoice_b = processed(
        text_image(invoice_lines("RD-4790", "77,00")), "invoice-b.png", clerk
    )
    number = invoice_b.fields.get(name="invoice_number")
    assert number.value == "RD-4790"
    assert number.confidence >= auto_accept_threshold("invoice_number")
    assert "from vendor memory" in number.explanation
