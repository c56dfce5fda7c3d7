"""The capture check: whether an image will read, decided at the door so the
sender hears at once, and a person's decision to have it read anyway."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from reviewapp import broadcast
from reviewapp.audit.trail import record_event
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document
from reviewapp.services.ingest import document_enqueue_processing

EventType = AuditEvent.EventType


def document_read_despite_quality(
    *, document: Document, user: AbstractBaseUser, reason: str
) -> bool:
    """Have a document that waits for a new copy read as it is (`user` judged
    it readable enough, for `reason`). Audited. Returns False when it no longer
    waits for a new copy (someone else decided first)."""
    with transaction.atomic():
        updated = Document.objects.filter(
            pk=document.pk, status=Document.Status.NEEDS_NEW_COPY
        ).update(
            status=Document.Status.QUEUED,
            failure_reason="",
            status_changed_at=timezone.now(),
        )
        if updated != 1:
            return False
        document.refresh_from_db()
        document_enqueue_processing(document)
        broadcast.document_changed(document)
        record_event(
            EventType.DOCUMENT_READ_DESPITE_QUALITY,
            actor=user,
            document=document,
            details={
                "quality_score": document.quality_score,
                "advice": [issue["advice"] for issue in document.quality_issues],
                "reason": reason,
            },
        )
    return True
