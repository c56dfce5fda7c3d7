"""Accounts payable end to end, through the API, real Redis and a worker:
master data pushed by the ERP, an invoice matching its PO and goods receipt
approved straight through, announced by a signed webhook, pulled by the ERP and
in the CSV; its rescan flagged a duplicate; a changed IBAN kept for a second
pair of eyes.

The OCR is recorded (tests/conftest.py) and the extractor is the heuristic one
plus the PO number and IBAN from labelled lines (labelled_extractor.py): the
current extractor does not read those two fields yet."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import django_rq
import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.test import APIClient
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from pipeline.ocr.recorded import RecordedOcrEngine
from reviewapp.masking import mask_value
from reviewapp.models.configuration import SensitiveField
from reviewapp.models.documents import Document
from reviewapp.models.validation import ValidationIssue
from reviewapp.models.webhooks import WebhookEndpoint
from reviewapp.selectors.queues import queue_documents
from reviewapp.services.api_tokens import token_issue
from reviewapp.webhooks import SIGNATURE_HEADER, verify_signature
from tests.browser.demo_cases import approve_bank_change
from tests.conftest import recorded_line, text_image
from tests.reviewapp import labelled_extractor
from tests.reviewapp.test_webhooks import Receiver, receiver  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

ACME_IBAN = "DE89370400440532013000"
NEW_IBAN = "DE02120300000000202051"


def token_client(user: User) -> APIClient:
    client = APIClient()
    _, key = token_issue(owner=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def run_worker_burst() -> None:
    worker = django_rq.get_worker(
        "default", worker_class=SimpleWorker, serializer=JSONSerializer
    )
    worker.work(burst=True)


@pytest.fixture
def erp(
    admin_user: User,
    settings: SettingsWrapper,
    media_root: Path,
    recorded_ocr: type[RecordedOcrEngine],
) -> Iterator[APIClient]:
    """The ERP's API client, after it pushed vendor V-1, PO-4711 (10 x 12.05 EUR)
    and its goods receipt (10 received)."""
    django_rq.get_queue("default").empty()
    settings.VOUCH_EXTRACTOR = labelled_extractor.PATH
    # On a synthetic page the heuristic extractor is 66-89 % sure of each field,
    # and a four-line page could be a till receipt as well as an invoice.
    settings.VOUCH_FLAG_BELOW_CONFIDENCE = 0.6
    settings.VOUCH_CLASSIFY_MIN_CONFIDENCE = 0.0
    settings.VOUCH_WEBHOOK_RETRY_DELAYS = [0, 0]
    client = token_client(admin_user)
    pushes = {
        "/api/v1/vendors/": [
            {"number": "V-1", "name": "ACME GmbH", "ibans": [ACME_IBAN],
             "country": "DE", "currency": "EUR"},
        ],
        "/api/v1/purchase-orders/": [
            {"number": "PO-4711", "vendor": "V-1", "currency": "EUR",
             "lines": [{"line": "10", "description": "Widgets", "quantity": "10",
                        "unit_price": "12.05"}]},
        ],
        "/api/v1/goods-receipts/": [
            {"reference": "GR-1", "po_number": "PO-4711", "line": "10",
             "quantity_received": "10",
             "received_on": timezone.localdate().isoformat()},
        ],
    }  # fmt: skip
    for url, rows in pushes.items():
        report = client.post(url, rows, format="json").json()
        assert [row["outcome"] for row in report["rows"]] == ["created"], report
    yield client
    django_rq.get_queue("default").empty()


def invoice(recorded_ocr: type[RecordedOcrEngine], *, iban: str) -> bytes:
    today = timezone.localdate().strftime("%d.%m.%Y")
    lines = [
        "ACME GMBH",
        "Invoice No: INV-3001",
        f"Date: {today}",
        "PO: PO-4711",
        f"IBAN: {iban}",
        "Total EUR 120,50",
    ]
    # Headed as an invoice, as a real one is: the classifier's type chooses
    # the checks and whether it may go straight through.
    recorded_ocr.record(
        900,
        700,
        (
            recorded_line("INVOICE", (600, 20, 860, 80)),
            *(
                recorded_line(text, (40, 90 + 55 * index, 600, 126 + 55 * index))
                for index, text in enumerate(lines)
            ),
        ),
    )
    return text_image(["INVOICE", *lines], size=(900, 700))


def upload(user: User, content: bytes, name: str) -> Document:
    response = token_client(user).post(
        "/api/v1/documents/",
        {"file": SimpleUploadedFile(name, content)},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    run_worker_burst()
    return Document.objects.get(public_id=response.json()["document"]["id"])


def as_jpeg(png: bytes) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def test_a_matching_invoice_goes_straight_through_to_the_erp_and_its_rescan_is_a_duplicate(  # noqa: E501
    erp: APIClient,
    clerk: User,
    supervisor: User,
    recorded_ocr: type[RecordedOcrEngine],
    receiver: Receiver,  # noqa: F811
) -> None:
    # As migration 0004 marks it on every installation (a transactional test
    # before this one may have flushed the row).
    SensitiveField.objects.get_or_create(name="iban")
    hook = WebhookEndpoint.objects.create(
        name="ERP", url=receiver.url, events=["document.approved"]
    )
    receiver.answers = [500, 200]  # the ERP is down once: retried
    content = invoice(recorded_ocr, iban="DE89 3704 0044 0532 0130 00")

    document = upload(clerk, content, "acme.png")

    assert document.status == Document.Status.APPROVED, (
        document.status,
        list(document.validation_issues.values_list("code", "message")),
    )
    assert document.straight_through and document.decided_by is None
    validation = document.validation
    assert validation.purchase_order.number == "PO-4711"
    assert validation.vendor.number == "V-1"
    assert not document.validation_issues.filter(severity="error").exists()

    # The approval was announced, signed; the failed first try was retried.
    assert len(receiver.received) == 2
    for headers, body in receiver.received:
        assert verify_signature(hook.secret, headers[SIGNATURE_HEADER], body)
        assert not verify_signature("another secret", headers[SIGNATURE_HEADER], body)
    sent = json.loads(receiver.received[-1][1])
    assert sent["event"] == "document.approved"
    assert sent["data"]["id"] == str(document.public_id)
    assert sent["data"]["matched_purchase_order"] == "PO-4711"
    # Masked: a clerk's approval may trigger it; the ERP pulls the clear IBAN.
    assert sent["data"]["fields"]["iban"] == mask_value(ACME_IBAN)

    # The ERP pulls it ...
    (pulled,) = erp.get("/api/v1/exports/").json()["results"]
    assert pulled["id"] == str(document.public_id)
    assert pulled["fields"]["total_amount"] == "120.50"
    assert pulled["matched_vendor"] == {"id": "V-1", "name": "ACME GmbH"}
    # ... and it is in the supervisor's CSV.
    browser = Client()
    browser.force_login(supervisor)
    response = browser.get(reverse("export-batch", args=["csv"]), {"exported": "no"})
    rows = list(
        csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    )
    assert [(r["invoice_number"], r["matched_purchase_order"]) for r in rows] == [
        ("INV-3001", "PO-4711")
    ]
    html = browser.get(
        reverse("document-detail", args=[document.public_id])
    ).content.decode()
    assert "Approved</strong> straight through" in html
    assert 'id="export-buttons"' in html
    marked = erp.post(f"/api/v1/exports/{document.public_id}/mark-exported/")
    assert marked.status_code == 200
    assert erp.get("/api/v1/exports/").json()["count"] == 0

    # The same invoice scanned again: other bytes, flagged as a duplicate.
    rescan = upload(clerk, as_jpeg(content), "acme-scan.jpg")
    assert rescan.pk != document.pk
    assert rescan.status == Document.Status.ESCALATED
    assert rescan.escalation_reason == Document.EscalationReason.DUPLICATE
    duplicate = ValidationIssue.objects.get(document=rescan, rule="duplicate_invoice")
    assert duplicate.details["document_id"] == str(document.public_id)
    assert rescan in queue_documents(user=supervisor, queue="exceptions")


def test_a_changed_iban_goes_to_the_supervisors_and_needs_another_one(
    erp: APIClient,
    clerk: User,
    supervisor: User,
    admin_user: User,
    recorded_ocr: type[RecordedOcrEngine],
) -> None:
    document = upload(clerk, invoice(recorded_ocr, iban=NEW_IBAN), "acme.png")

    assert document.status == Document.Status.ESCALATED
    assert document.escalation_reason == Document.EscalationReason.BANK_DETAILS
    assert "is new for" in document.escalation_note
    assert "bank_details_unchanged" not in document.escalation_note
    assert document in queue_documents(user=supervisor, queue="exceptions")
    assert document not in queue_documents(user=clerk, queue="mine")

    approve = reverse("document-approve", args=[document.public_id])
    clerk_browser = Client()
    clerk_browser.force_login(clerk)
    refused = clerk_browser.post(approve, follow=True)
    assert "does not allow you to approve escalated" in refused.content.decode()
    assert Document.objects.get(pk=document.pk).status == Document.Status.ESCALATED

    supervisor_browser = Client()
    supervisor_browser.force_login(supervisor)
    html = supervisor_browser.get(
        reverse("document-detail", args=[document.public_id])
    ).content.decode()
    assert "Escalated</strong> by the checks" in html
    # Not yet: someone attests how the change was verified, another approves.
    assert "attest how they verified" in html
    assert f'action="{approve}"' not in html
    approve_bank_change(document)
    document.refresh_from_db()
    assert document.status == Document.Status.APPROVED
    assert document.decided_by.get_username() == "admin"


def test_an_iban_a_clerk_corrects_to_a_new_one_cannot_be_approved_by_that_clerk(
    erp: APIClient,
    clerk: User,
    supervisor: User,
    recorded_ocr: type[RecordedOcrEngine],
    settings: SettingsWrapper,
) -> None:
    # Over the straight-through limit, so a clerk checks it.
    settings.VOUCH_STRAIGHT_THROUGH_MAX_AMOUNT = 100
    document = upload(clerk, invoice(recorded_ocr, iban=ACME_IBAN), "acme.png")
    assert document.status == Document.Status.READY
    browser = Client()
    browser.force_login(clerk)
    # The clerk reads a different account on the page and corrects the IBAN.
    browser.post(
        reverse("field-correct", args=[document.public_id, "iban"]),
        {"value": NEW_IBAN},
    )
    assert document.validation_issues.filter(needs_supervisor=True).exists()
    approve = reverse("document-approve", args=[document.public_id])
    # The review page says so instead of offering Approve ...
    page = browser.get(reverse("document-detail", args=[document.public_id]))
    html = page.content.decode()
    assert 'id="approval-refusal"' in html
    assert "bank details differ from the vendor" in html
    assert f'action="{approve}"' not in html
    # ... and an approval sent anyway is refused with the same words.
    page = browser.post(approve, follow=True).content.decode()
    assert "bank details differ from the vendor" in page
    browser.post(
        reverse("document-escalate", args=[document.public_id]),
        {"reason": "bank_details", "note": "new account on the invoice"},
    )
    document.refresh_from_db()
    assert document.status == Document.Status.ESCALATED
    assert document.escalated_by == clerk
    # The clerk who escalated it cannot approve it ...
    page = browser.post(approve, follow=True).content.decode()
    assert "does not allow you to approve escalated" in page
    assert Document.objects.get(pk=document.pk).status == Document.Status.ESCALATED
    # ... one supervisor attests the change, another approves it.
    approve_bank_change(document)
    assert Document.objects.get(pk=document.pk).decided_by.get_username() == "admin"
