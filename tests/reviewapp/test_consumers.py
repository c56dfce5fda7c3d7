"""Live status over websockets: who hears what, through the real ASGI stack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from reviewapp.asgi import application
from reviewapp.models.documents import Document
from reviewapp.services.ingest import document_ingest
from reviewapp.services.review import (
    document_claim,
    document_escalate,
    document_release,
    documents_release_expired_claims,
)
from tests.conftest import make_document

pytestmark = pytest.mark.django_db(transaction=True)


def session_cookie(user: User | None) -> list[tuple[bytes, bytes]]:
    headers = [(b"origin", b"http://localhost")]
    if user is not None:
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    return headers


def upload_as(user: User) -> Any:
    def action() -> None:
        document_ingest(
            content=b"%PDF-1.7 a document",
            original_name="live.pdf",
            channel=Document.Channel.UPLOAD,
            uploaded_by=user,
        )

    return action


def run(user: User | None, action: Any) -> dict[str, Any]:
    # Cookies come from the sync test client, so build them before the loop.
    headers = session_cookie(user)

    async def scenario() -> dict[str, Any]:
        communicator = WebsocketCommunicator(
            application, "/ws/documents/", headers=headers
        )
        connected, close_code = await communicator.connect()
        outcome: dict[str, Any] = {"connected": connected, "close_code": close_code}
        if connected:
            await database_sync_to_async(action)()
            events = []
            while not await communicator.receive_nothing(timeout=0.5):
                events.append(await communicator.receive_json_from())
            outcome["events"] = events
            await communicator.disconnect()
        return outcome

    return async_to_sync(scenario)()


def test_anonymous_sockets_are_refused() -> None:
    outcome = run(None, lambda: None)
    assert outcome["connected"] is False


def test_the_uploader_hears_about_their_document(clerk: User, media_root: Path) -> None:
    outcome = run(clerk, upload_as(clerk))
    assert outcome["connected"]
    event = outcome["events"][0]  # a worker may already be reporting progress
    assert event["type"] == "document"
    assert (event["name"], event["status"]) == ("live.pdf", "queued")
    assert event["status_display"] == "Queued"
    assert "uploaded_by_id" not in event


def test_another_clerk_hears_nothing_of_it(
    clerk: User, other_clerk: User, media_root: Path
) -> None:
    outcome = run(other_clerk, upload_as(clerk))
    assert outcome["connected"] and outcome["events"] == []


def test_a_supervisor_hears_about_every_document(
    clerk: User, supervisor: User, media_root: Path
) -> None:
    outcome = run(supervisor, upload_as(clerk))
    assert [event["name"] for event in outcome["events"]] == ["live.pdf"]


def test_a_user_without_a_role_hears_nothing(
    clerk: User, outsider: User, media_root: Path
) -> None:
    outcome = run(outsider, upload_as(outsider))
    assert outcome["events"] == []


# ---------- review queues: which of my queues hold the document now ----------


def test_a_document_claimed_by_someone_else_leaves_my_queue(
    clerk: User, other_clerk: User
) -> None:
    document = make_document(name="shared.pdf")
    outcome = run(other_clerk, lambda: document_claim(document=document, user=clerk))
    [event] = outcome["events"]
    assert (event["id"], event["status"]) == (str(document.public_id), "claimed")
    assert event["claimed_by"] == "clerk"
    assert event["queues"] == []


def test_the_claimant_keeps_it_in_their_queue(clerk: User) -> None:
    document = make_document(name="shared.pdf")
    outcome = run(clerk, lambda: document_claim(document=document, user=clerk))
    assert [event["queues"] for event in outcome["events"]] == [["mine"]]


def test_a_released_document_comes_back_to_every_clerk(
    clerk: User, other_clerk: User
) -> None:
    document = make_document(name="shared.pdf")
    document_claim(document=document, user=clerk)
    outcome = run(other_clerk, lambda: document_release(document=document, user=clerk))
    assert [(event["status"], event["queues"]) for event in outcome["events"]] == [
        ("ready", ["mine"])
    ]


def test_the_uploader_hears_each_change_once(clerk: User) -> None:
    document = make_document(name="own.pdf", uploaded_by=clerk)
    outcome = run(clerk, lambda: document_claim(document=document, user=clerk))
    assert len(outcome["events"]) == 1


def test_a_supervisor_hears_an_escalation_for_the_exception_queue(
    clerk: User, supervisor: User
) -> None:
    document = make_document(name="odd.pdf")
    document_claim(document=document, user=clerk)

    def escalate() -> None:
        document_escalate(
            document=document,
            user=clerk,
            reason=Document.EscalationReason.DUPLICATE,
            note="",
        )

    [event] = run(supervisor, escalate)["events"]
    assert event["status"] == "escalated"
    assert event["queues"] == ["exceptions", "overview"]
    assert "claimed_by_id" not in event and "group" not in event


def test_an_expired_claim_comes_back_to_every_clerk_live(
    clerk: User, other_clerk: User
) -> None:
    document = make_document(name="forgotten.pdf")
    document_claim(document=document, user=clerk)
    Document.objects.filter(pk=document.pk).update(claim_expires_at=timezone.now())
    outcome = run(other_clerk, documents_release_expired_claims)
    assert [(event["name"], event["queues"]) for event in outcome["events"]] == [
        ("forgotten.pdf", ["mine"])
    ]
