"""What Vouch writes to the audit trail as people and jobs work."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from pipeline.ocr.recorded import RecordedOcrEngine
from reviewapp import jobs
from reviewapp.audit.trail import canonical_content, reveal_value, verify_chain
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document
from reviewapp.models.fields import Field
from reviewapp.selectors.review_page import unconfirmed_flagged_fields
from reviewapp.services.fields import (
    field_confirm,
    field_correct,
    sensitive_value_reveal,
)
from reviewapp.services.ingest import document_ingest
from reviewapp.services.processing import document_reprocess, documents_requeue_stale
from reviewapp.services.review import (
    ReviewRefused,
    document_approve,
    document_claim,
    document_escalate,
)
from tests.conftest import PASSWORD, logged_in, processed_upload

pytestmark = pytest.mark.django_db

EventType = AuditEvent.EventType
IBAN = "DE89370400440532013000"
ACCOUNT_CHANGES = [EventType.USER_CHANGED, EventType.ROLE_CHANGED]


def events(event_type: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event_type=event_type))


@pytest.fixture
def processed(clerk: User, media_root: Path, invoice_png: bytes) -> Document:
    document = processed_upload(invoice_png, name="acme.png", uploaded_by=clerk)
    return document


def test_sign_in_sign_out_and_a_failed_sign_in_are_recorded(clerk: User) -> None:
    client = Client(REMOTE_ADDR="203.0.113.7")
    refused = client.post(reverse("login"), {"username": "clerk", "password": "wrong"})
    assert refused.status_code == 200
    signed_in = client.post(
        reverse("login"),
        {"username": "clerk", "password": PASSWORD},
        headers={"X-Request-ID": "proxy-chose-this-id-1"},
    )
    assert signed_in.status_code == 302
    client.post(reverse("logout"))

    [failed] = events(EventType.LOGIN_FAILED)
    assert failed.actor_id is None and failed.details == {"username": "clerk"}
    assert failed.ip_address == "203.0.113.7"
    assert failed.request_id == refused["X-Request-ID"]
    [login] = events(EventType.LOGIN)
    assert (login.actor_id, login.actor_username, login.actor_role) == (
        clerk.pk,
        "clerk",
        "clerk",
    )
    assert login.request_id == "proxy-chose-this-id-1" == signed_in["X-Request-ID"]
    assert login.ip_address == "203.0.113.7"
    [logout] = events(EventType.LOGOUT)
    assert logout.actor_id == clerk.pk
    assert [
        e.event_type for e in AuditEvent.objects.exclude(event_type__in=ACCOUNT_CHANGES)
    ] == ["login_failed", "login", "logout"]
    # Signing in saves last_login; that is not a change to the account.
    assert not AuditEvent.objects.filter(
        event_type=EventType.USER_CHANGED, details__action="changed"
    ).exists()


def test_an_upload_records_who_sent_what_from_where(
    clerk: User, media_root: Path, invoice_png: bytes
) -> None:
    client = logged_in(clerk)
    response = client.post(
        reverse("document-upload"),
        {"file": SimpleUploadedFile("acme.png", invoice_png)},
        REMOTE_ADDR="198.51.100.4",
    )
    assert response.status_code == 201
    document = Document.objects.get()
    [ingested] = events(EventType.DOCUMENT_INGESTED)
    assert ingested.document_public_id == document.public_id
    assert ingested.actor_username == "clerk" and ingested.actor_role == "clerk"
    assert ingested.ip_address == "198.51.100.4"
    assert ingested.request_id == response["X-Request-ID"]
    assert ingested.details["channel"] == "upload"
    assert ingested.details["sha256"] == document.sha256
    # The same bytes again store nothing new, so nothing new is recorded.
    client.post(
        reverse("document-upload"),
        {"file": SimpleUploadedFile("again.png", invoice_png)},
    )
    assert len(events(EventType.DOCUMENT_INGESTED)) == 1


def test_a_command_line_ingest_is_recorded_without_a_person(
    media_root: Path, invoice_png: bytes
) -> None:
    document = document_ingest(
        content=invoice_png, original_name="a.png", channel="cli", uploaded_by=None
    ).document
    [ingested] = events(EventType.DOCUMENT_INGESTED)
    assert ingested.document_public_id == document.public_id
    assert (ingested.actor_id, ingested.details["channel"]) == (None, "cli")


def test_a_job_records_its_start_and_finish_under_its_id(
    processed: Document,
) -> None:
    [started] = events(EventType.JOB_STARTED)
    [finished] = events(EventType.JOB_FINISHED)
    assert started.document_public_id == processed.public_id
    assert finished.document_public_id == processed.public_id
    assert started.sequence < finished.sequence
    assert finished.details["attempt"] == 1 and finished.details["pages"] == 1
    assert set(finished.details["field_confidence"]) >= {"total_amount"}
    assert "120.50" not in canonical_content(finished)


def test_a_failed_job_and_a_retry_are_recorded(
    clerk: User, media_root: Path, recorded_ocr: type[RecordedOcrEngine]
) -> None:
    document = document_ingest(
        content=b"%PDF-1.7\n broken", original_name="b.pdf", channel="upload",
        uploaded_by=clerk,
    ).document  # fmt: skip
    jobs.process_document(document.pk)
    [failed] = events(EventType.JOB_FAILED)
    document.refresh_from_db()
    assert failed.details["reason"] == document.failure_reason
    assert failed.details["will_retry"] is False

    response = logged_in(clerk).post(
        reverse("document-retry", args=[document.public_id])
    )
    assert response.status_code == 302
    [retry] = events(EventType.DOCUMENT_RETRY)
    assert retry.actor_username == "clerk"
    assert retry.details == {"failure_reason": document.failure_reason}


def test_reprocess_and_requeue_are_recorded(
    processed: Document, invoice_png: bytes
) -> None:
    assert document_reprocess(document=processed)
    [reprocess] = events(EventType.DOCUMENT_REPROCESS)
    assert reprocess.document_public_id == processed.public_id
    Document.objects.filter(pk=processed.pk).update(
        status_changed_at=timezone.now() - timedelta(hours=1)
    )
    documents_requeue_stale(older_than=timedelta(minutes=15))
    [requeued] = events(EventType.DOCUMENT_REQUEUED)
    assert requeued.details == {"stuck_in": "queued", "stale_after_seconds": 900}


def test_downloading_the_original_is_recorded(clerk: User, processed: Document) -> None:
    response = logged_in(clerk).get(
        reverse("document-original", args=[processed.public_id])
    )
    assert response.status_code == 200
    [download] = events(EventType.DOCUMENT_DOWNLOADED)
    assert download.actor_username == "clerk"
    assert download.document_public_id == processed.public_id
    assert download.request_id == response["X-Request-ID"]


def test_a_field_correction_records_old_new_confidence_role_and_reason(
    supervisor: User, processed: Document
) -> None:
    total = processed.fields.get(name="total_amount")
    response = logged_in(supervisor).post(
        reverse("field-correct", args=[processed.public_id, "total_amount"]),
        {"value": "125.50", "reason": "total on page 2 differs"},
    )
    assert response.status_code == 200
    [change] = events(EventType.FIELD_CHANGED)
    assert change.details == {
        "field": "total_amount",
        "old_value": "120.50",
        "new_value": "125.50",
        "machine_confidence": total.machine_confidence,
        "previously_set_by": "machine",
        "reason": "total on page 2 differs",
    }
    assert (change.actor_username, change.actor_role) == ("supervisor", "supervisor")
    assert change.document_public_id == processed.public_id


def test_a_sensitive_field_change_keeps_only_masks_in_the_row(
    clerk: User, processed: Document
) -> None:
    field_correct(document=processed, name="iban", value=IBAN, user=clerk)
    [change] = events(EventType.FIELD_CHANGED)
    assert change.details["old_value"] == ""
    assert change.details["new_value"]["mask"] == "DE****************3000"
    assert IBAN not in canonical_content(change)
    assert reveal_value(change, "new_value") == IBAN


def test_an_event_is_rolled_back_with_the_change_it_records(
    clerk: User, processed: Document
) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        field_correct(document=processed, name="total_amount", value="1.00", user=clerk)
        raise RuntimeError("the surrounding work failed")
    assert events(EventType.FIELD_CHANGED) == []
    assert processed.fields.get(name="total_amount").set_by == Field.SetBy.MACHINE
    assert verify_chain().ok


def account_events(username: str) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            event_type__in=ACCOUNT_CHANGES, details__username=username
        )
    )


def test_account_and_role_changes_are_recorded_without_secrets(clerk: User) -> None:
    user = User.objects.create_user("newbie", password="first pass 123")
    user.is_active = False
    user.save()
    user.set_password("second pass 456")
    user.save()
    clerks, supervisors = (
        Group.objects.get(name=name) for name in ("clerk", "supervisor")
    )
    user.groups.add(clerks)
    clerks.user_set.remove(user)
    user.groups.add(clerks, supervisors)
    user.groups.clear()

    details = [event.details for event in account_events("newbie")]
    for entry in details:
        assert entry.pop("user_id") == user.pk and entry.pop("username") == "newbie"
    assert details == [
        {
            "action": "created",
            "changes": {"is_active": True, "is_staff": False, "is_superuser": False},
        },
        {"action": "changed", "changes": {"is_active": [True, False]}},
        {"action": "changed", "changes": {"password": "changed"}},
        {"granted": ["clerk"]},
        {"revoked": ["clerk"]},
        {"granted": ["clerk", "supervisor"]},
        {"revoked": ["clerk", "supervisor"]},
    ]
    assert all(
        user.password not in canonical_content(event)
        for event in AuditEvent.objects.all()
    )


def test_an_account_change_in_the_admin_site_names_who_made_it(clerk: User) -> None:
    root = User.objects.create_superuser("root", password="root pass 789")
    client = Client(REMOTE_ADDR="192.0.2.55")
    client.force_login(root)
    response = client.post(
        reverse("admin:auth_user_change", args=[clerk.pk]),
        {
            "username": "clerk",
            "is_active": "",  # unticked: deactivated
            "groups": [Group.objects.get(name="clerk").pk],
            "date_joined_0": "2026-01-01",
            "date_joined_1": "09:00:00",
            "initial-date_joined_0": "2026-01-01",
            "initial-date_joined_1": "09:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    [change] = [
        e for e in account_events("clerk") if e.details.get("action") == "changed"
    ]
    assert change.details["changes"]["is_active"] == [True, False]
    assert (change.actor_username, change.actor_role) == ("root", "superuser")
    assert change.ip_address == "192.0.2.55"
    assert change.request_id == response["X-Request-ID"]


def test_claim_escalation_and_a_supervisor_s_decision_are_recorded(
    clerk: User, supervisor: User, processed: Document
) -> None:
    document_claim(document=processed, user=clerk)
    document_escalate(
        document=processed, user=clerk, reason="other", note="total looks doubled"
    )
    # The supervisor confirms the flagged fields first, as approval requires.
    for name, _ in unconfirmed_flagged_fields(processed.pk):
        field_confirm(document=processed, name=name, user=supervisor)
    document_approve(document=processed, user=supervisor)

    trail = list(
        AuditEvent.objects.filter(
            document_public_id=processed.public_id,
            event_type__in=[
                EventType.DOCUMENT_CLAIMED,
                EventType.DOCUMENT_ESCALATED,
                EventType.DOCUMENT_APPROVED,
            ],
        )
    )
    assert [(e.event_type, e.actor_username) for e in trail] == [
        (EventType.DOCUMENT_CLAIMED, "clerk"),
        (EventType.DOCUMENT_ESCALATED, "clerk"),
        (EventType.DOCUMENT_APPROVED, "supervisor"),
    ]
    assert trail[1].details == {"reason": "other", "note": "total looks doubled"}
    assert trail[2].details == {"was": "escalated"}
    assert trail[2].actor_role == "supervisor"


def test_a_refused_decision_leaves_no_event(
    clerk: User, other_clerk: User, processed: Document
) -> None:
    document_claim(document=processed, user=clerk)
    with pytest.raises(ReviewRefused):
        document_approve(document=processed, user=other_clerk)

    assert events(EventType.DOCUMENT_APPROVED) == []


def test_revealing_a_field_on_the_review_page_is_recorded_with_the_reason(
    supervisor: User, processed: Document
) -> None:
    Field.objects.create(document=processed, name="iban", value=IBAN)

    shown = sensitive_value_reveal(
        document=processed, name="iban", user=supervisor, reason="bank change call"
    )

    assert shown == IBAN
    (event,) = events(EventType.SENSITIVE_REVEALED)
    assert event.details == {"field": "iban", "reason": "bank change call"}
    assert event.actor_username == "supervisor"
    assert IBAN not in str(event.details)
