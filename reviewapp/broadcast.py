"""The only module that sends websocket events. Always after the transaction
commits, so a browser never hears about a change it cannot then load."""

from __future__ import annotations

from typing import Any, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from reviewapp.models.documents import REVIEW_STATUSES, Document
from reviewapp.selectors.documents import status_payload

ALL_DOCUMENTS_GROUP = "documents.all"
# Reviewers share the queue of read documents, whoever uploaded them.
REVIEW_GROUP = "documents.review"


def user_group(user_id: int) -> str:
    return f"documents.user.{user_id}"


class DocumentChangedEvent(TypedDict):
    type: str  # "document.changed": handled by DocumentEventsConsumer
    group: str  # which group this copy went to, so a consumer in two skips one
    # For the consumer's per-user checks; not forwarded.
    uploaded_by_id: int | None
    claimed_by_id: int | None
    claim_expires_at: str | None
    document: dict[str, Any]


def document_changed(document: Document) -> None:
    """Tell everyone who may see `document` that its status, claim or fields
    changed. The payload carries no field values (they may be sensitive)."""
    groups = [ALL_DOCUMENTS_GROUP]
    if document.uploaded_by_id is not None:
        groups.append(user_group(document.uploaded_by_id))
    if document.status in REVIEW_STATUSES:
        groups.append(REVIEW_GROUP)
    events = [
        DocumentChangedEvent(
            type="document.changed",
            group=group,
            uploaded_by_id=document.uploaded_by_id,
            claimed_by_id=document.claimed_by_id,
            claim_expires_at=(
                document.claim_expires_at.isoformat()
                if document.claim_expires_at
                else None
            ),
            document=status_payload(document),
        )
        for group in groups
    ]
    transaction.on_commit(lambda: _send(events))


def _send(events: list[DocumentChangedEvent]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for event in events:
        async_to_sync(layer.group_send)(event["group"], dict(event))
