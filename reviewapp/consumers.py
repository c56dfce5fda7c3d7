"""Websocket consumers: authenticate, subscribe, re-check visibility, forward."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils import timezone

from reviewapp import broadcast
from reviewapp.models.documents import REVIEW_STATUSES
from reviewapp.permissions import (
    can_see_document,
    can_view_all_documents,
    is_reviewer,
)
from reviewapp.selectors.queues import queues_containing

UNAUTHENTICATED = 4401


class DocumentEventsConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """Live document status for the list, upload, review and queue pages.

    Each event says, for this user, which queues now hold the document, so a
    queue page can add it or drop it (claimed by someone else)."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        self.user = user
        # Permission checks query the database: off the event loop, and cached on
        # the user object for the events that follow.
        if await database_sync_to_async(can_view_all_documents)(user):
            self.subscribed = [broadcast.ALL_DOCUMENTS_GROUP]
        elif await database_sync_to_async(is_reviewer)(user):
            self.subscribed = [broadcast.user_group(user.pk), broadcast.REVIEW_GROUP]
        else:
            self.subscribed = [broadcast.user_group(user.pk)]
        for group in self.subscribed:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "subscribed", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def document_changed(self, event: dict[str, Any]) -> None:
        status = event["document"]["status"]
        if (
            broadcast.REVIEW_GROUP in self.subscribed
            and event["group"] != broadcast.REVIEW_GROUP
            and status in REVIEW_STATUSES
        ):
            return  # the copy sent to the review group says the same
        # Rights can change while a socket is open: check every event again.
        visible = await database_sync_to_async(can_see_document)(
            self.user, uploaded_by_id=event["uploaded_by_id"], status=status
        )
        if not visible:
            return
        expires = event["claim_expires_at"]
        queues = await database_sync_to_async(queues_containing)(
            self.user,
            status=status,
            claimed_by_id=event["claimed_by_id"],
            claim_expires_at=datetime.fromisoformat(expires) if expires else None,
            now=timezone.now(),
        )
        await self.send_json(
            {"type": "document", **event["document"], "queues": queues}
        )
