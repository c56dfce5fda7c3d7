"""Recording that documents left for the ERP."""

from __future__ import annotations

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from reviewapp import (
    permissions,
    webhooks,
)
from reviewapp.audit.trail import record_event
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document
from reviewapp.services.review import ReviewRefused

logger = logging.getLogger(__name__)
EventType = AuditEvent.EventType


def document_mark_exported(*, document: Document, user: AbstractBaseUser) -> Document:
    """The ERP (or a person) confirms it took an approved document. Idempotent:
    a second call changes nothing and returns the first exported_at and
    exported_by; "document.exported" is published once.
    Raises ReviewRefused when the document is not approved."""
    with transaction.atomic():
        now = timezone.now()
        marked = Document.objects.filter(
            pk=document.pk, status=Document.Status.APPROVED, exported_at__isnull=True
        ).update(exported_at=now, exported_by=user)
        document.refresh_from_db()
        if document.status != Document.Status.APPROVED:
            raise ReviewRefused(
                f"{document.original_name} is "
                f"{document.get_status_display().lower()}: only approved "
                "documents are exported."
            )
        if marked == 1:
            record_event(
                EventType.DOCUMENT_MARKED_EXPORTED, actor=user, document=document
            )
            webhooks.webhooks_publish(
                event="document.exported",
                payload={
                    "id": str(document.public_id),
                    "exported_at": now.isoformat(),
                    "exported_by": user.get_username(),
                },
            )
    return document


def documents_export_record(
    *,
    user: AbstractBaseUser,
    document_ids: list[str],
    export_format: str,
    via: str,
) -> None:
    """Record that `user` took approved data out of Vouch: which documents, in
    which format, through the browser or the API, and whether sensitive values
    left masked. An export is a download of business data: the audit trail must
    be able to say who has a copy."""
    record_event(
        EventType.DOCUMENTS_EXPORTED,
        actor=user,
        document_public_id=document_ids[0] if len(document_ids) == 1 else None,
        details={
            "format": export_format,
            "via": via,
            "count": len(document_ids),
            "documents": document_ids,
            "sensitive_values": (
                "in clear" if permissions.can_reveal_sensitive(user) else "masked"
            ),
        },
    )
