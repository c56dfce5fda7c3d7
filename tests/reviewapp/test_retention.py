"""Retention: every document has a retain-until day from its type's policy;
the purge deletes its content and keeps an emptied row and a verifiable,
redacted audit trail."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from pipeline.ocr.recorded import RecordedOcrEngine
from reviewapp import jobs
from reviewapp.audit.trail import SecretUnavailable, reveal_value, verify_chain
from reviewapp.models.audit import AuditEvent
from reviewapp.models.configuration import RetentionPolicy
from reviewapp.models.documents import Document
from reviewapp.models.master_data import Vendor
from reviewapp.models.webhooks import WebhookDelivery, WebhookEndpoint
from reviewapp.selectors.review_page import unconfirmed_flagged_fields
from reviewapp.services.fields import field_confirm, field_correct
from reviewapp.services.ingest import document_ingest
from reviewapp.services.retention import documents_purge_expired
from reviewapp.services.review import document_approve
from tests.browser.demo_cases import approve_bank_change
from tests.conftest import logged_in, processed_upload, recorded_text_image, text_image

pytestmark = pytest.mark.django_db

IBAN = "DE89370400440532013000"
IBAN_SPACED = "DE89 3704 0044 0532 0130 00"
LINES = [
    "ACME GMBH",
    "Invoice No: INV-7001",
    "Date: 16.09.2019",
    f"IBAN: {IBAN_SPACED}",
    "Total EUR 120,50",
]


def iban_forms() -> list[str]:
    return [IBAN, IBAN_SPACED, IBAN.lower(), IBAN_SPACED.lower(), IBAN[4:]]


def approved_invoice(clerk: User, capture: Callable[..., Any]) -> Document:
    """Read (recorded OCR), the IBAN corrected by the clerk (so the audit
    trail holds it, encrypted) and approved, with an ERP webhook that carries
    the export."""
    content = recorded_text_image(LINES)
    WebhookEndpoint.objects.create(
        name="ERP", url="http://127.0.0.1:9/hook", events=["document.approved"]
    )
    document = read(content, clerk, "acme-invoice.png")
    assert document.fields.get(name="iban").value == IBAN
    field_correct(
        document=document, name="iban", value=IBAN, user=clerk, reason="checked"
    )
    # The clerk confirms what is flagged, as approval requires.
    for flagged, _ in unconfirmed_flagged_fields(document.pk):
        field_confirm(document=document, name=flagged, user=clerk)
    with capture(execute=False):  # the webhook is not sent anywhere
        document_approve(document=document, user=clerk)
    document.refresh_from_db()
    assert document.status == Document.Status.APPROVED
    assert WebhookDelivery.objects.filter(payload__id=str(document.public_id)).exists()
    return document


def read(content: bytes, user: User, name: str = "a.png") -> Document:
    document = processed_upload(content, name=name, uploaded_by=user)
    return document


def expire(document: Document) -> None:
    Document.objects.filter(pk=document.pk).update(retain_until=date(2020, 1, 1))


def every_stored_row() -> str:
    """Every row of every table, as text: what a database dump would show."""
    dumped = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608
            dumped.extend(f"{table}: {row!r}" for row in cursor.fetchall())
    return "\n".join(dumped)


def files_under(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def contains_iban(text: str) -> bool:
    squashed = re.sub(r"\s", "", text).lower()
    return any(form.lower() in text.lower() for form in iban_forms()) or (
        IBAN.lower() in squashed
    )


def test_a_document_is_kept_per_its_type_s_policy(
    clerk: User, media_root: Path, invoice_png: bytes
) -> None:
    document = document_ingest(
        content=invoice_png, original_name="a.png", channel="upload", uploaded_by=clerk
    ).document
    today = timezone.localdate()
    # Not yet read: the default period.
    assert document.retain_until == today + timedelta(days=3653)
    days = {"invoice": 30, "receipt": 20, "credit_note": 10}
    for document_type, kept in days.items():
        RetentionPolicy.objects.create(document_type=document_type, days=kept)
    jobs.process_document(document.pk)
    document.refresh_from_db()
    assert document.document_type in days  # once read, its type's period
    assert document.retain_until == today + timedelta(days=days[document.document_type])


def test_after_purge_no_file_row_or_log_line_holds_the_iban(
    clerk: User,
    admin_user: User,
    media_root: Path,
    recorded_ocr: type[RecordedOcrEngine],
    caplog: pytest.LogCaptureFixture,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    caplog.set_level(logging.DEBUG)
    document = approved_invoice(clerk, django_capture_on_commit_callbacks)
    assert files_under(media_root)  # the original and the page image
    before = logged_in(clerk).get(reverse("document-detail", args=[document.public_id]))
    assert f"kept until {document.retain_until:%Y-%m-%d}" in before.text
    assert contains_iban(every_stored_row())  # the premise: it was there
    expire(document)

    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_expired", stdout=out)
    assert f"purged {document.public_id}" in out.getvalue()

    assert files_under(media_root) == []
    assert not contains_iban(every_stored_row())
    assert not contains_iban(caplog.text)
    assert not contains_iban(out.getvalue())

    document.refresh_from_db()
    assert document.purged_at is not None
    assert not document.fields.exists() and not document.pages.exists()
    assert not document.original
    assert document.status == Document.Status.APPROVED  # the decision stays known

    # The trail stays, values redacted, and still verifies.
    verified = io.StringIO()
    call_command("verify_audit", stdout=verified)
    assert verify_chain().ok
    # The IBAN correction (the confirmations of flagged fields follow it).
    change = AuditEvent.objects.get(
        event_type="field_changed",
        document_public_id=document.public_id,
        details__field="iban",
        details__has_key="new_value",
    )
    assert change.details["new_value"]["mask"] == "DE****************3000"
    with pytest.raises(SecretUnavailable):
        reveal_value(change, "new_value")
    purged = AuditEvent.objects.get(event_type="document_purged")
    assert purged.document_public_id == document.public_id
    assert purged.details["files_deleted"] == 2
    assert purged.details["audit_values_redacted"] == 1

    # The page says what happened, and shows nothing of the content.
    page = logged_in(clerk).get(reverse("document-detail", args=[document.public_id]))
    assert page.status_code == 200
    assert "under the retention policy" in page.text
    assert "INV-7001" not in page.text and "120.50" not in page.text
    assert not contains_iban(page.text)
    original = logged_in(clerk).get(
        reverse("document-original", args=[document.public_id])
    )
    assert original.status_code == 404


def test_the_purge_is_idempotent_and_the_dry_run_changes_nothing(
    clerk: User,
    media_root: Path,
    recorded_ocr: type[RecordedOcrEngine],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    document = approved_invoice(clerk, django_capture_on_commit_callbacks)
    expire(document)
    dry = io.StringIO()
    call_command("purge_expired", "--dry-run", stdout=dry)
    assert f"would purge {document.public_id}" in dry.getvalue()
    document.refresh_from_db()
    assert document.purged_at is None and document.fields.exists()

    assert len(documents_purge_expired()) == 1
    assert documents_purge_expired() == []
    assert AuditEvent.objects.filter(event_type="document_purged").count() == 1


def test_a_document_not_yet_expired_or_still_in_review_is_kept(
    clerk: User, media_root: Path, invoice_png: bytes
) -> None:
    document = read(invoice_png, clerk)
    assert documents_purge_expired() == []  # kept for ten years
    expire(document)
    out = io.StringIO()
    call_command("purge_expired", stdout=out)
    assert "0 document(s) purged" in out.getvalue()
    assert f"held {document.public_id}" in out.getvalue()
    document.refresh_from_db()
    assert document.purged_at is None and document.fields.exists()


def test_a_purged_file_sent_again_is_a_new_document(
    clerk: User,
    media_root: Path,
    recorded_ocr: type[RecordedOcrEngine],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    document = approved_invoice(clerk, django_capture_on_commit_callbacks)
    expire(document)
    documents_purge_expired()
    again = document_ingest(
        content=text_image(LINES), original_name="again.png", channel="upload",
        uploaded_by=clerk,
    )  # fmt: skip
    assert not again.duplicate and again.document.pk != document.pk


def test_an_admin_changes_a_policy_audited_and_documents_follow(
    admin_user: User, clerk: User, media_root: Path, invoice_png: bytes
) -> None:
    document = read(invoice_png, clerk)
    admin_user.is_staff = True
    admin_user.save()
    response = logged_in(admin_user).post(
        reverse("admin:reviewapp_retentionpolicy_add"),
        {"document_type": document.document_type, "days": "365", "note": "law"},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    document.refresh_from_db()
    assert document.retain_until == timezone.localdate(document.created_at) + timedelta(
        days=365
    )
    event = AuditEvent.objects.filter(event_type="settings_changed").last()
    assert event is not None and event.actor_username == "admin"
    assert event.details["setting"] == f"retention:{document.document_type}"
    assert event.details["days"] == 365
    assert event.details["documents_rescheduled"] == 1


def test_an_escalated_invoice_leaves_no_iban_either(
    clerk: User,
    supervisor: User,
    admin_user: User,
    media_root: Path,
    recorded_ocr: type[RecordedOcrEngine],
    caplog: pytest.LogCaptureFixture,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    """New bank details: the checks escalate it (the IBAN masked in their
    messages), a supervisor approves it; the purge leaves nothing of the IBAN."""
    caplog.set_level(logging.DEBUG)
    Vendor.objects.create(
        number="V-1", name="ACME GmbH", ibans=["DE02120300000000202051"]
    )
    document = read(recorded_text_image(LINES), clerk)
    assert document.status == Document.Status.ESCALATED
    assert document.validation_issues.filter(code="bank_details_changed").exists()
    with django_capture_on_commit_callbacks(execute=False):
        # Attested by one supervisor, approved by another.
        approve_bank_change(document)
    expire(document)
    with django_capture_on_commit_callbacks(execute=True):
        assert len(documents_purge_expired()) == 1
    assert files_under(media_root) == []
    assert not contains_iban(every_stored_row())
    assert not contains_iban(caplog.text)
    assert verify_chain().ok
