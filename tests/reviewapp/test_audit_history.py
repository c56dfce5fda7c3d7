"""A document's history on its page, masked, and audited reveals."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from reviewapp.audit.trail import redact_document_secrets, verify_chain
from reviewapp.models.audit import AuditEvent, AuditSecret
from reviewapp.models.documents import Document
from reviewapp.services.fields import field_correct
from reviewapp.services.ingest import document_ingest
from tests.conftest import logged_in, processed_upload

pytestmark = pytest.mark.django_db

IBAN = "DE89370400440532013000"
MASK = "DE****************3000"


@pytest.fixture
def corrected(clerk: User, media_root: Path, invoice_png: bytes) -> Document:
    """A processed document whose IBAN and total a clerk corrected."""
    document = processed_upload(invoice_png, name="acme.png", uploaded_by=clerk)
    field_correct(document=document, name="iban", value=IBAN, user=clerk)
    field_correct(
        document=document, name="total_amount", value="99.00", user=clerk,
        reason="credit note applied",
    )  # fmt: skip
    return document


def iban_event(document: Document) -> AuditEvent:
    return AuditEvent.objects.get(
        document_public_id=document.public_id, details__field="iban"
    )


def reveal_url(document: Document) -> str:
    event = iban_event(document)
    return reverse(
        "history-reveal", args=[document.public_id, event.sequence, "new_value"]
    )


def test_the_review_page_shows_the_documents_history_masked(
    clerk: User, corrected: Document
) -> None:
    page = logged_in(clerk).get(reverse("document-detail", args=[corrected.public_id]))
    assert page.status_code == 200
    html = page.content.decode()
    start = html.index('id="history"')
    history = html[start : html.index("</section>", start)]
    for sentence in (
        "clerk uploaded acme.png",
        "Read by the machine in",
        "clerk filled in IBAN",
        "clerk corrected Total",
    ):
        assert sentence in history
    assert "credit note applied" in history and "<ins>99.00</ins>" in history
    assert MASK in history and IBAN not in html
    assert "Reveal" not in history  # a clerk may not reveal


def test_another_documents_events_stay_off_the_page(
    clerk: User, corrected: Document, invoice_png: bytes
) -> None:
    other = document_ingest(
        content=invoice_png + b"other", original_name="other.png", channel="upload",
        uploaded_by=clerk,
    ).document  # fmt: skip
    page = logged_in(clerk).get(reverse("document-detail", args=[other.public_id]))
    history = page.content.decode().split('id="history"')[1]
    assert "clerk uploaded other.png" in history
    assert "corrected" not in history and "filled in" not in history


def test_an_administrator_reveals_a_value_with_a_reason_that_is_recorded(
    admin_user: User, corrected: Document
) -> None:
    client = logged_in(admin_user)
    page = client.get(reverse("document-detail", args=[corrected.public_id]))
    assert reveal_url(corrected) in page.content.decode()

    refused = client.post(reveal_url(corrected), {"reason": ""})
    assert refused.status_code == 400
    assert b"Say why you need to see this value." in refused.content
    assert not AuditEvent.objects.filter(event_type="sensitive_revealed").exists()

    shown = client.post(reveal_url(corrected), {"reason": "supplier called about it"})
    assert shown.status_code == 200 and IBAN in shown.content.decode()
    assert shown["Cache-Control"] == "no-store"
    [reveal] = AuditEvent.objects.filter(event_type="sensitive_revealed")
    assert reveal.actor_username == "admin"
    assert reveal.document_public_id == corrected.public_id
    assert reveal.details == {
        "event_sequence": iban_event(corrected).sequence,
        "event_type": "field_changed",
        "value_of": "new_value",
        "reason": "supplier called about it",
    }


def test_a_redacted_value_cannot_be_revealed(
    admin_user: User, corrected: Document
) -> None:
    assert redact_document_secrets(document_public_id=corrected.public_id) == 1
    assert not AuditSecret.objects.exists()
    assert verify_chain().ok
    response = logged_in(admin_user).post(
        reveal_url(corrected), {"reason": "supplier called about it"}
    )
    assert response.status_code == 200
    assert b"cannot be shown: this value was redacted" in response.content
    assert not AuditEvent.objects.filter(event_type="sensitive_revealed").exists()


def test_reveal_is_refused_to_those_without_the_right(
    clerk: User, other_clerk: User, outsider: User, corrected: Document
) -> None:
    reason = {"reason": "just curious, honestly"}
    assert logged_in(clerk).post(reveal_url(corrected), reason).status_code == 403
    # Another clerk sees it in the shared queue, but may not reveal either.
    assert logged_in(other_clerk).post(reveal_url(corrected), reason).status_code == 403
    # Someone who cannot see the document does not learn that it exists.
    assert logged_in(outsider).post(reveal_url(corrected), reason).status_code == 404
    assert not AuditEvent.objects.filter(event_type="sensitive_revealed").exists()
