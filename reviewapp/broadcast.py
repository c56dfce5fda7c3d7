"""The only module that sends websocket events. Always after the transaction
commits, so a browser never hears about a change it cannot then load."""

from __future__ import annotations

from typing import Any, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from reviewapp.models import Document
from reviewapp.selectors import status_payload

ALL_DOCUMENTS_GROUP = "documents.all"


def user_group(user_id: int) -> str:
    return f"documents.user.{user_id}"


class DocumentChangedEvent(TypedDict):
    type: str  # "document.changed": handled by DocumentEventsConsumer
    uploaded_by_id: int | None  # for the consumer's visibility check; not forwarded
    document: dict[str, Any]


def document_changed(document: Document) -> None:
    """Tell everyone who may see `document` that its status or fields changed."""
    event = DocumentChangedEvent(
        type="document.changed",
        uploaded_by_id=document.uploaded_by_id,
        document=status_payload(document),
    )
    groups = [ALL_DOCUMENTS_GROUP]
    if document.uploaded_by_id is not None:
        groups.append(user_group(document.uploaded_by_id))
    transaction.on_commit(lambda: _send(groups, event))


def _send(groups: list[str], event: DocumentChangedEvent) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for group in groups:
        async_to_sync(layer.group_send)(group, dict(event))
