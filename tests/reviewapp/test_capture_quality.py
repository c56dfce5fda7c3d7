"""The capture check on every channel: a real receipt scan is accepted, a
photo that will not read is kept, not read, and its sender is told why; a
person may still have it read, and that is audited."""

from __future__ import annotations

import mailbox
import os
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import django_rq
import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from reviewapp.intake import mailbox_fetch, watch_folder_scan
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document
from reviewapp.services.api_tokens import token_issue
from tests.conftest import RECEIPT, logged_in
from tests.pipeline.degraded_pages import damaged_image, jpeg_of

pytestmark = pytest.mark.django_db

TOO_DARK = "too dark: retake in better light"


def dark_receipt() -> bytes:
    """The real receipt scan as if photographed in a very dim room."""
    return jpeg_of(damaged_image("dark", 3))


def api_upload(user: User, content: bytes, name: str) -> dict:
    client = APIClient()
    _, key = token_issue(owner=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.post(
        "/api/v1/documents/",
        {"file": SimpleUploadedFile(name, content)},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    return response.json()["document"]


def queued_jobs() -> int:
    return django_rq.get_queue("default").count


def test_a_clean_scan_is_accepted_and_queued(clerk: User, media_root: Path) -> None:
    body = api_upload(clerk, RECEIPT.read_bytes(), "receipt.jpg")
    assert body["status"] == "queued"
    assert body["quality_score"] == 100
    assert body["quality_advice"] == []


def test_a_dark_photo_waits_for_a_new_copy_with_its_advice(
    clerk: User, media_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    before = queued_jobs()
    with django_capture_on_commit_callbacks(execute=True):
        body = api_upload(clerk, dark_receipt(), "dark.jpg")

    assert body["status"] == "needs_new_copy"
    assert body["quality_score"] < 50
    assert TOO_DARK in body["quality_advice"]
    document = Document.objects.get(public_id=body["id"])
    assert document.original.read() == dark_receipt()  # kept
    assert TOO_DARK in document.failure_reason
    assert queued_jobs() == before  # not read
    ingested = AuditEvent.objects.get(event_type="document_ingested")
    assert TOO_DARK in ingested.details["quality_advice"]


def test_the_upload_page_answers_with_the_advice_at_once(
    clerk: User, media_root: Path
) -> None:
    response = logged_in(clerk).post(
        "/documents/upload/",
        {"file": SimpleUploadedFile("dark.jpg", dark_receipt())},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "needs_new_copy"
    assert body["quality_advice"] == [TOO_DARK]


def test_it_waits_in_the_new_copy_queue_and_a_clerk_may_have_it_read(
    clerk: User,
    other_clerk: User,
    media_root: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    document_id = api_upload(other_clerk, dark_receipt(), "dark.jpg")["id"]
    client = logged_in(clerk)

    queue = client.get("/queue/new-copy/")
    assert queue.status_code == 200
    assert "dark.jpg" in queue.content.decode()
    assert TOO_DARK in queue.content.decode()
    page = client.get(f"/documents/{document_id}/").content.decode()
    assert TOO_DARK in page and "Read anyway" in page

    before = queued_jobs()
    refused = client.post(f"/documents/{document_id}/read-anyway/", {"reason": ""})
    assert refused.status_code == 302
    assert Document.objects.get(public_id=document_id).status == "needs_new_copy"

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/documents/{document_id}/read-anyway/",
            {"reason": "the supplier has no better copy"},
        )
    document = Document.objects.get(public_id=document_id)
    assert document.status == Document.Status.QUEUED
    assert queued_jobs() == before + 1
    event = AuditEvent.objects.get(event_type="document_read_despite_quality")
    assert event.actor_username == clerk.username
    assert event.details["reason"] == "the supplier has no better copy"
    assert TOO_DARK in event.details["advice"]
    # Decided once: a second press changes nothing.
    client.post(f"/documents/{document_id}/read-anyway/", {"reason": "again"})
    assert (
        AuditEvent.objects.filter(event_type="document_read_despite_quality").count()
        == 1
    )


def test_the_mail_reply_carries_the_advice(
    clerk: User, media_root: Path, tmp_path: Path
) -> None:
    clerk.email = "clerk@vouch.example"
    clerk.save()
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    message = EmailMessage()
    message["From"] = "clerk@vouch.example"
    message["To"] = "invoices@vouch.example"
    message["Subject"] = "Receipt"
    message.set_content("Attached.")
    message.add_attachment(
        dark_receipt(), maintype="image", subtype="jpeg", filename="dark.jpg"
    )
    box.add(message)

    mailbox_fetch(maildir=tmp_path / "Maildir")

    (reply,) = mail.outbox
    assert "dark.jpg: received but not read. It will not read well enough" in (
        reply.body
    )
    assert TOO_DARK in reply.body


def test_the_watched_folder_puts_it_aside_with_the_advice(
    clerk: User, media_root: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    dropped = inbox / "dark.jpg"
    dropped.write_bytes(dark_receipt())
    then = time.time() - 60
    os.utime(dropped, (then, then))

    (outcome,) = watch_folder_scan(inbox=inbox, owner=clerk)

    assert outcome.needs_new_copy
    assert (inbox / "needs-new-copy" / "dark.jpg").read_bytes() == dark_receipt()
    reason = (inbox / "needs-new-copy" / "dark.jpg.reason.txt").read_text()
    assert TOO_DARK in reason
