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

from reviewapp import services
from reviewapp.asgi import application
from reviewapp.models import Document

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
        services.document_ingest(
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
