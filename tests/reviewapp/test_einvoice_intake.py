"""Standalone e-invoice XML through every door (upload page, API, mail, watched
folder), read by the processing job without OCR; hostile or non-invoice XML is
kept, marked failed with its reason, and the job returns normally."""

from __future__ import annotations

import mailbox
import os
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from pipeline.ocr.recorded import RecordedOcrEngine
from reviewapp import jobs
from reviewapp.intake import mailbox_fetch, watch_folder_scan
from reviewapp.models.documents import Document
from tests.conftest import REPO, logged_in
from tests.hostile_corpus import XXE, billion_laughs
from tests.reviewapp.test_api import send, token_client

pytestmark = pytest.mark.django_db

PEPPOL = REPO / "fixtures" / "einvoices" / "peppol-bis3-invoice.xml"
CREDIT_NOTE = REPO / "fixtures" / "einvoices" / "xrechnung-ubl-credit-note.xml"
NOT_AN_INVOICE = b'<?xml version="1.0"?><catalog><book>Dune</book></catalog>'
# Read; an unknown purchase order routes the invoice to supervisors.
READ = (Document.Status.READY, Document.Status.ESCALATED)


def processed(public_id: str) -> Document:
    document = Document.objects.get(public_id=public_id)
    jobs.process_document(document.pk)
    document.refresh_from_db()
    return document


def fields(document: Document) -> dict[str, str]:
    return {field.name: field.value for field in document.fields.all()}


def test_a_ubl_invoice_uploaded_on_the_page_is_read_without_ocr(
    clerk: User, media_root: Path, recorded_ocr: type[RecordedOcrEngine]
) -> None:
    response = logged_in(clerk).post(
        reverse("document-upload"),
        {"file": SimpleUploadedFile("INV-2024-0815.xml", PEPPOL.read_bytes())},
    )

    assert response.status_code == 201, response.content
    document = processed(response.json()["id"])
    assert document.status in READ, document.failure_reason
    assert document.content_type == "application/xml"
    assert Path(document.original.path).read_bytes() == PEPPOL.read_bytes()
    values = fields(document)
    assert values["invoice_number"] == "INV-2024-0815"
    assert values["total_amount"] == "1576.75"
    assert values["iban"] == "DE89370400440532013000"
    assert values["po_number"] == "PO-77120"
    assert all(f.confidence == 1.0 and f.box for f in document.fields.all())
    # The review page has a page to show: Vouch's layout, with a text layer.
    page = document.pages.get()
    assert page.text_source == "pdf_text" and Path(page.image.path).is_file()
    assert document.line_items.count() == 2
    detail = logged_in(clerk).get(reverse("document-detail", args=[document.public_id]))
    assert detail.status_code == 200
    assert "INV-2024-0815" in detail.content.decode()


def test_a_ubl_credit_note_sent_through_the_api_is_a_credit_note(
    clerk: User, media_root: Path, recorded_ocr: type[RecordedOcrEngine]
) -> None:
    response = send(token_client(clerk), CREDIT_NOTE.read_bytes(), "gs.xml")

    assert response.status_code == 201, response.content
    document = processed(response.json()["document"]["id"])
    assert document.status in READ, document.failure_reason
    assert document.document_type == "credit_note"
    assert fields(document)["total_amount"] == "107.00"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (NOT_AN_INVOICE, "not an e-invoice: its root element is <catalog>"),
        (XXE, "declares a DOCTYPE or entities"),
        (billion_laughs(), "declares a DOCTYPE or entities"),
    ],
    ids=["not-an-invoice", "xxe", "billion-laughs"],
)
def test_xml_that_will_not_read_is_kept_and_failed_with_its_reason(
    clerk: User,
    media_root: Path,
    recorded_ocr: type[RecordedOcrEngine],
    content: bytes,
    reason: str,
) -> None:
    response = send(token_client(clerk), content, "invoice.xml")
    assert response.status_code == 201, response.content

    document = processed(response.json()["document"]["id"])

    assert document.status == Document.Status.FAILED
    assert reason in document.failure_reason
    assert "internal error" not in document.failure_reason
    assert Path(document.original.path).read_bytes() == content
    assert "root:" not in document.failure_reason  # /etc/passwd never read


def test_xml_arrives_by_mail_and_by_watched_folder(
    clerk: User,
    media_root: Path,
    recorded_ocr: type[RecordedOcrEngine],
    tmp_path: Path,
) -> None:
    clerk.email = "clerk@vouch.example"
    clerk.save()
    message = EmailMessage()
    message["From"] = clerk.email
    message["Subject"] = "invoice"
    message.set_content("attached")
    message.add_attachment(
        PEPPOL.read_bytes(), maintype="application", subtype="xml", filename="inv.xml"
    )
    mailbox.Maildir(tmp_path / "Maildir", create=True).add(message)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "gs.xml").write_bytes(CREDIT_NOTE.read_bytes())
    os.utime(inbox / "gs.xml", (time.time() - 10, time.time() - 10))

    [by_mail] = mailbox_fetch(maildir=tmp_path / "Maildir")
    [by_folder] = watch_folder_scan(inbox=inbox, owner=clerk, settle_seconds=0)

    [attachment] = by_mail.files
    assert attachment.document is not None
    assert "received, it will be read shortly" in mail.outbox[0].body
    assert by_folder.document is not None
    assert list((inbox / "processed").rglob("gs.xml"))
    for document in (attachment.document, by_folder.document):
        assert processed(str(document.public_id)).status in READ
