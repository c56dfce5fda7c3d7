"""The document pages over HTTP: uploads, reads, and who may see what."""

from __future__ import annotations

from pathlib import Path

import pypdfium2
import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from reviewapp import jobs
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document
from reviewapp.models.review import SensitiveReveal
from reviewapp.services.ingest import document_ingest
from tests.conftest import RECEIPT, logged_in, processed_upload

pytestmark = pytest.mark.django_db


def upload(client: Client, content: bytes, name: str):
    return client.post(
        reverse("document-upload"), {"file": SimpleUploadedFile(name, content)}
    )


@pytest.fixture
def processed(clerk: User, media_root: Path, invoice_png: bytes) -> Document:
    document = processed_upload(invoice_png, name="acme.png", uploaded_by=clerk)
    return document


def test_every_page_requires_login(processed: Document) -> None:
    client = logged_in(None)
    for url in (
        reverse("document-list"),
        reverse("document-upload"),
        reverse("document-detail", args=[processed.public_id]),
        reverse("page-image", args=[processed.public_id, 1]),
        reverse("document-original", args=[processed.public_id]),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login"))


def test_upload_answers_json_with_the_new_document(
    clerk: User, media_root: Path
) -> None:
    response = upload(logged_in(clerk), RECEIPT.read_bytes(), "receipt.jpg")
    assert response.status_code == 201
    body = response.json()
    document = Document.objects.get(public_id=body["id"])
    assert body["status"] == "queued" and body["url"].endswith(f"{document.public_id}/")
    assert document.uploaded_by == clerk and document.channel == "upload"


def test_upload_tells_which_document_a_duplicate_repeats(
    clerk: User, media_root: Path
) -> None:
    client = logged_in(clerk)
    first = upload(client, RECEIPT.read_bytes(), "receipt.jpg").json()
    again = upload(client, RECEIPT.read_bytes(), "receipt-copy.jpg")
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["id"] == first["id"]
    assert (
        "receipt-copy.jpg was already uploaded as receipt.jpg"
        in again.json()["message"]
    )


def test_a_duplicate_of_someone_else_s_document_reveals_nothing_of_it(
    clerk: User, other_clerk: User, media_root: Path
) -> None:
    upload(logged_in(clerk), RECEIPT.read_bytes(), "secret-name.jpg")
    again = upload(logged_in(other_clerk), RECEIPT.read_bytes(), "mine.jpg").json()
    assert again["duplicate"] is True
    assert "id" not in again and "secret-name" not in again["message"]


def test_upload_refusal_is_a_message_for_the_sender(
    clerk: User, media_root: Path
) -> None:
    response = upload(logged_in(clerk), b"just some text", "invoice.pdf")
    assert response.status_code == 400
    assert "invoice.pdf is not a file Vouch can read" in response.json()["error"]


def test_a_user_without_a_role_cannot_upload(outsider: User, media_root: Path) -> None:
    response = upload(logged_in(outsider), RECEIPT.read_bytes(), "receipt.jpg")
    assert response.status_code == 403
    assert Document.objects.count() == 0


def test_the_review_page_shows_fields_and_boxes(
    clerk: User, processed: Document
) -> None:
    response = logged_in(clerk).get(
        reverse("document-detail", args=[processed.public_id])
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "120.50" in html and "INV-1001" in html
    assert html.count('class="ocr-line') >= 4


@pytest.mark.parametrize(
    ("persona", "expected"),
    # A read document is in the shared review queue: every reviewer sees it.
    [("clerk", 200), ("other_clerk", 200), ("supervisor", 200), ("admin_user", 200),
     ("outsider", 404)],
)  # fmt: skip
def test_documents_are_served_only_to_those_allowed(
    request: pytest.FixtureRequest, processed: Document, persona: str, expected: int
) -> None:
    client = logged_in(request.getfixturevalue(persona))
    for url in (
        reverse("document-detail", args=[processed.public_id]),
        reverse("document-row", args=[processed.public_id]),
        reverse("page-image", args=[processed.public_id, 1]),
        reverse("document-original", args=[processed.public_id]),
    ):
        assert client.get(url).status_code == expected, url


def test_another_clerk_cannot_see_a_document_before_it_is_read(
    clerk: User, other_clerk: User, media_root: Path
) -> None:
    document = document_ingest(
        content=b"%PDF-1.7 not read yet", original_name="q.pdf", channel="upload",
        uploaded_by=clerk,
    ).document  # fmt: skip
    detail = reverse("document-detail", args=[document.public_id])
    assert logged_in(other_clerk).get(detail).status_code == 404
    assert logged_in(clerk).get(detail).status_code == 200
    original = reverse("document-original", args=[document.public_id])
    assert logged_in(other_clerk).get(original).status_code == 404
    # Its masked PDF is made of page images, which it has none of yet.
    assert logged_in(clerk).get(original).status_code == 404


def test_the_page_image_and_masked_pdf_come_from_private_storage(
    clerk: User, processed: Document, invoice_png: bytes
) -> None:
    client = logged_in(clerk)
    image = client.get(reverse("page-image", args=[processed.public_id, 1]))
    assert image["Content-Type"] == "image/jpeg"
    assert b"".join(image.streaming_content).startswith(b"\xff\xd8")
    download = client.get(reverse("document-original", args=[processed.public_id]))
    assert download["Content-Type"] == "application/pdf"
    assert download.content.startswith(b"%PDF")
    assert invoice_png not in download.content
    assert 'filename="acme-masked.pdf"' in download["Content-Disposition"]
    assert len(pypdfium2.PdfDocument(download.content)) == 1


def test_only_a_revealer_gets_the_original_with_a_recorded_reason(
    clerk: User, supervisor: User, processed: Document, invoice_png: bytes
) -> None:
    url = reverse("document-original", args=[processed.public_id])
    refused = logged_in(clerk).post(url, {"reason": "need to see it all"})
    assert refused.status_code == 403
    no_reason = logged_in(supervisor).post(url, {"reason": ""})
    assert no_reason.status_code == 302  # back to the page, which says why
    original = logged_in(supervisor).post(url, {"reason": "vendor asked for a copy"})
    assert original.status_code == 200
    assert b"".join(original.streaming_content) == invoice_png
    assert 'filename="acme.png"' in original["Content-Disposition"]
    reveal = AuditEvent.objects.get(event_type=AuditEvent.EventType.SENSITIVE_REVEALED)
    assert reveal.actor_username == "supervisor"
    assert reveal.details == {
        "field": "original file",
        "reason": "vendor asked for a copy",
    }
    assert SensitiveReveal.objects.filter(
        document=processed, user=supervisor, field_name="original file"
    ).exists()


def test_status_refresh_returns_only_visible_documents(
    clerk: User, outsider: User, processed: Document
) -> None:
    url = reverse("document-statuses") + f"?id={processed.public_id}&id=not-a-uuid"
    assert logged_in(clerk).get(url).json()["documents"][0]["status"] == "ready"
    assert logged_in(outsider).get(url).json()["documents"] == []


def test_a_field_correction_is_saved_as_human(clerk: User, processed: Document) -> None:
    url = reverse("field-correct", args=[processed.public_id, "total_amount"])
    response = logged_in(clerk).post(url, {"value": "121.00"})
    assert response.status_code == 200
    field = processed.fields.get(name="total_amount")
    assert (field.value, field.set_by, field.machine_value) == (
        "121.00",
        "human",
        "120.50",
    )


def test_unknown_fields_cannot_be_invented(clerk: User, processed: Document) -> None:
    url = reverse("field-correct", args=[processed.public_id, "bank_password"])
    assert logged_in(clerk).post(url, {"value": "x"}).status_code == 400


def test_retry_requeues_a_failed_document(clerk: User, media_root: Path) -> None:
    document = document_ingest(
        content=b"%PDF-1.7 broken", original_name="b.pdf", channel="upload",
        uploaded_by=clerk,
    ).document  # fmt: skip
    jobs.process_document(document.pk)
    response = logged_in(clerk).post(
        reverse("document-retry", args=[document.public_id])
    )
    assert response.status_code == 302
    document.refresh_from_db()
    assert document.status == Document.Status.QUEUED


@pytest.mark.parametrize(
    ("name", "typed", "stored"),
    [
        ("total_amount", "1.234,50", "1234.50"),
        ("invoice_date", "31/03/2026", "2026-03-31"),
        ("currency", " eur ", "EUR"),
        ("vendor_name", "  ACME   GmbH ", "ACME GmbH"),
    ],
)
def test_typed_values_are_normalised_like_machine_values(
    clerk: User, processed: Document, name: str, typed: str, stored: str
) -> None:
    url = reverse("field-correct", args=[processed.public_id, name])
    assert logged_in(clerk).post(url, {"value": typed}).status_code == 200
    assert processed.fields.get(name=name).value == stored


def test_a_value_that_is_not_a_date_is_refused_with_a_hint(
    clerk: User, processed: Document
) -> None:
    url = reverse("field-correct", args=[processed.public_id, "invoice_date"])
    response = logged_in(clerk).post(url, {"value": "next tuesday-ish"})
    assert response.status_code == 400
    assert "Enter a date" in str(response.json()["error"])
    assert processed.fields.get(name="invoice_date").set_by == "machine"


LONG_NAME = "a" * 1_000 + ".jpg"


def raw_multipart(filename: str, content: bytes) -> tuple[bytes, str]:
    """A multipart body as a browser or curl sends it: Django's test client
    would shorten the file name to 255 characters first."""
    boundary = "vouch-test-boundary"
    body = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def test_a_very_long_name_sent_beside_the_file_is_kept_shortened_and_audited(
    clerk: User, media_root: Path
) -> None:
    # What upload.js sends: the file under a short name, the full name beside it.
    response = logged_in(clerk).post(
        reverse("document-upload"),
        {
            "file": SimpleUploadedFile("aaaa….jpg", RECEIPT.read_bytes()),
            "original_name": LONG_NAME,
        },
    )

    assert response.status_code == 201, response.content
    document = Document.objects.get(public_id=response.json()["id"])
    name = document.original_name
    assert len(name) == 255
    assert name.startswith("a" * 190) and name.endswith("a" * 50 + ".jpg")
    assert "…" in name
    ingested = AuditEvent.objects.get(
        document_public_id=document.public_id,
        event_type=AuditEvent.EventType.DOCUMENT_INGESTED,
    )
    assert ingested.details["full_name"] == LONG_NAME
    assert ingested.details["original_name"] == name


def test_a_name_too_long_for_a_multipart_header_gets_a_plain_reason(
    clerk: User, media_root: Path
) -> None:
    body, content_type = raw_multipart(LONG_NAME, RECEIPT.read_bytes())

    response = logged_in(clerk).generic(
        "POST", reverse("document-upload"), body, content_type=content_type
    )

    assert response.status_code == 400
    reason = response.json()["error"]
    assert reason.startswith("The file name is too long to upload")
    assert "Rename the file" in reason
    assert Document.objects.count() == 0


def test_an_ordinary_multipart_upload_passes_the_early_parse(
    clerk: User, media_root: Path
) -> None:
    body, content_type = raw_multipart("receipt.jpg", RECEIPT.read_bytes())

    response = logged_in(clerk).generic(
        "POST", reverse("document-upload"), body, content_type=content_type
    )

    assert response.status_code == 201, response.content
