"""Websocket consumers: authenticate, subscribe, re-check visibility, forward."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from reviewapp import broadcast
from reviewapp.permissions import can_see_document, can_view_all_documents

UNAUTHENTICATED = 4401


class DocumentEventsConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """Live document status for the list and upload pages."""

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
        else:
            self.subscribed = [broadcast.user_group(user.pk)]
        for group in self.subscribed:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "subscribed", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def document_changed(self, event: dict[str, Any]) -> None:
        # Rights can change while a socket is open: check every event again.
        visible = await database_sync_to_async(can_see_document)(
            self.user, uploaded_by_id=event["uploaded_by_id"]
        )
        if visible:
            await self.send_json({"type": "document", **event["document"]})
