"""Every non-trivial read, shaped for the page or command that needs it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Prefetch, QuerySet

from reviewapp.audit import canonical_json, is_envelope, masked_details
from reviewapp.models import AuditEvent, Document, Field, Page
from reviewapp.permissions import visible_documents


def documents_for(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Document]:
    """The documents `user` may see, newest first, ready for the list page."""
    return (
        visible_documents(user)
        .select_related("uploaded_by")
        .order_by("-created_at", "-id")
    )


def document_for_review(*, document: Document) -> Document:
    """One document with its pages, each page's lines and its fields: the
    review page's data in four queries whatever the page count."""
    return (
        Document.objects.filter(pk=document.pk)
        .prefetch_related(
            Prefetch("pages", queryset=Page.objects.prefetch_related("lines")),
            Prefetch("fields", queryset=Field.objects.select_related("page")),
        )
        .get()
    )


def document_as_json(document: Document) -> dict[str, Any]:
    """The document as a JSON-ready dict (what `ingest --wait` prints)."""
    return {
        "id": str(document.public_id),
        "name": document.original_name,
        "status": document.status,
        "failure_reason": document.failure_reason,
        "pages": document.page_count,
        "fields": {
            field.name: {
                "value": field.value,
                "confidence": field.confidence,
                "set_by": field.set_by,
                "page": field.page.number if field.page else None,
                "box": field.box,
            }
            for field in document.fields.select_related("page")
        },
    }


def status_payload(document: Document) -> dict[str, Any]:
    """What a browser needs to update one document's status in place."""
    return {
        "id": str(document.public_id),
        "name": document.original_name,
        "status": document.status,
        "status_display": document.get_status_display(),
        "failure_reason": document.failure_reason,
        "pages": document.page_count,
    }


@dataclass(frozen=True)
class HistoryEntry:
    """One audit event as a document's page shows it: sensitive values masked."""

    sequence: int
    occurred_at: datetime
    event_type: str
    label: str
    actor: str
    role: str
    details: list[tuple[str, str]]
    sensitive_keys: list[str]


HISTORY_LIMIT = 500


def document_history(*, document: Document) -> list[HistoryEntry]:
    """The audit events of `document`, oldest first (the newest HISTORY_LIMIT),
    with every sensitive value replaced by its mask."""
    newest = AuditEvent.objects.filter(document_public_id=document.public_id).order_by(
        "-sequence"
    )[:HISTORY_LIMIT]
    entries = []
    for event in reversed(list(newest)):
        sensitive = [key for key, value in event.details.items() if is_envelope(value)]
        entries.append(
            HistoryEntry(
                sequence=event.sequence,
                occurred_at=event.occurred_at,
                event_type=event.event_type,
                label=event.get_event_type_display(),
                actor=event.actor_username or "Vouch",
                role=event.actor_role,
                details=[
                    (key.replace("_", " ").capitalize(), _display(value))
                    for key, value in masked_details(event.details).items()
                ],
                sensitive_keys=sensitive,
            )
        )
    return entries


def _display(value: Any) -> str:
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return canonical_json(value)
    return str(value)
