"""Retention: how long each kind of document is kept, and the purge that
deletes a document's content once that time is over.

A purge deletes the original file, the page images, the text read from them,
the field values, the validation findings and anything else that repeats
values (run errors, webhook payloads, notes), and redacts the encrypted
sensitive values of its audit events. It keeps the emptied Document row and
the audit events: their hashes cover only masks and keyed digests of
sensitive values (see reviewapp.audit.trail), so `verify_audit` still passes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.utils import timezone

from reviewapp.audit.trail import record_event, redact_document_secrets
from reviewapp.models.audit import AuditEvent
from reviewapp.models.configuration import RetentionPolicy
from reviewapp.models.documents import Document, Page, ProcessingRun
from reviewapp.models.fields import Field
from reviewapp.models.learning import ConfirmedVendor
from reviewapp.models.review import SensitiveReveal
from reviewapp.models.webhooks import WebhookAttempt, WebhookDelivery

logger = logging.getLogger(__name__)
EventType = AuditEvent.EventType
# Rows about a document that record what was done, not what it says: kept
# (their free text is scrubbed where it could repeat a value).
_KEPT_RECORDS = (ProcessingRun, SensitiveReveal)
# Only a settled document is purged: one still being read or reviewed is held
# until it is decided (the command lists them), so nobody reviews an empty page.
PURGEABLE_STATUSES = (
    Document.Status.APPROVED,
    Document.Status.REJECTED,
    Document.Status.FAILED,
)


def retention_days(document_type: str) -> int:
    """Days documents of this type are kept: the policy, else the setting."""
    policy = RetentionPolicy.objects.filter(document_type=document_type).first()
    if policy is not None:
        return policy.days
    return int(
        settings.VOUCH_RETENTION_DAYS.get(
            document_type, settings.VOUCH_RETENTION_DEFAULT_DAYS
        )
    )


def retain_until_for(*, document_type: str, arrived: date) -> date:
    return arrived + timedelta(days=retention_days(document_type))


def document_set_retention(*, document: Document) -> None:
    """Set the document's retain-until day from its type and arrival (at
    ingest, and again when the classifier says what it is)."""
    arrived = timezone.localdate(document.created_at) if document.created_at else None
    document.retain_until = retain_until_for(
        document_type=document.document_type,
        arrived=arrived or timezone.localdate(),
    )
    Document.objects.filter(pk=document.pk).update(retain_until=document.retain_until)


def policy_changed(
    *, document_type: str, user: AbstractBaseUser, days: int | None, note: str = ""
) -> int:
    """After an administrator saved (`days`) or deleted (None) a policy:
    audit it and move the retain-until day of every unpurged document of the
    type. Returns how many documents moved."""
    documents = Document.objects.filter(
        document_type=document_type, purged_at__isnull=True
    )
    kept_for = timedelta(days=retention_days(document_type))
    changed = []
    for document in documents.only("pk", "created_at"):
        document.retain_until = timezone.localdate(document.created_at) + kept_for
        changed.append(document)
    Document.objects.bulk_update(changed, ["retain_until"], batch_size=500)
    record_event(
        EventType.SETTINGS_CHANGED,
        actor=user,
        details={
            "setting": f"retention:{document_type}",
            "days": days,
            "effective_days": kept_for.days,
            "note": note,
            "documents_rescheduled": len(changed),
        },
    )
    return len(changed)


@dataclass(frozen=True)
class Purged:
    """What one purge removed, in counts: never the content itself."""

    public_id: str
    original_name: str
    retain_until: date | None
    files: int
    pages: int
    text_lines: int
    fields: int
    audit_secrets: int


def expired_documents(now: datetime) -> models.QuerySet[Document]:
    """Documents whose retain-until day has passed and are not purged yet,
    decided or not (see PURGEABLE_STATUSES)."""
    return Document.objects.filter(
        retain_until__lt=timezone.localdate(now), purged_at__isnull=True
    ).order_by("retain_until", "id")


def documents_purge_expired(*, now: datetime | None = None) -> list[Purged]:
    """Purge every document whose retention has run out (see the module
    docstring). Safe to run repeatedly and while others work: each document is
    purged once, under a row lock, and files are deleted only after commit."""
    now = now or timezone.now()
    purged = []
    expired = expired_documents(now).filter(status__in=PURGEABLE_STATUSES)
    for document_id in expired.values_list("pk", flat=True):
        result = document_purge(document_id=document_id, now=now)
        if result is not None:
            purged.append(result)
    return purged


def document_purge(*, document_id: int, now: datetime | None = None) -> Purged | None:
    """Purge one document now; None when it is gone, already purged or not
    settled. Use `documents_purge_expired` for the retention schedule."""
    now = now or timezone.now()
    with transaction.atomic():
        document = (
            Document.objects.select_for_update()
            .filter(
                pk=document_id, purged_at__isnull=True, status__in=PURGEABLE_STATUSES
            )
            .first()
        )
        if document is None:
            return None
        pages = list(Page.objects.filter(document=document))
        stored = (document.original, *(page.image for page in pages))
        files = [file.name for file in stored if file.name]
        text_lines = sum(page.lines.count() for page in pages)
        fields = Field.objects.filter(document=document).count()
        _delete_content_rows(document)
        ProcessingRun.objects.filter(document=document).update(error="")
        _scrub_webhooks(document)
        _scrub_vendor_directory(document)
        secrets = redact_document_secrets(document_public_id=document.public_id)
        retain_until = document.retain_until
        Document.objects.filter(pk=document.pk).update(
            original="",
            # The content hash identifies the content; freed, the same file
            # sent again is a new document.
            sha256=f"purged-{document.public_id.hex}",
            failure_reason="",
            document_type_evidence="",
            escalation_note="",
            decision_note="",
            vendor_name="",
            memory_notes=[],
            purged_at=now,
        )
        purged = Purged(
            public_id=str(document.public_id),
            original_name=document.original_name,
            retain_until=retain_until,
            files=len(files),
            pages=len(pages),
            text_lines=text_lines,
            fields=fields,
            audit_secrets=secrets,
        )
        record_event(
            EventType.DOCUMENT_PURGED,
            document=document,
            details={
                "retain_until": retain_until,
                "document_type": document.document_type,
                "retention_days": retention_days(document.document_type),
                "files_deleted": purged.files,
                "pages_deleted": purged.pages,
                "text_lines_deleted": purged.text_lines,
                "fields_deleted": purged.fields,
                "audit_values_redacted": purged.audit_secrets,
            },
        )
        # After commit: a rolled-back purge must still have its files.
        transaction.on_commit(lambda: _delete_files(files))
    logger.info("purged %s under the retention policy", purged.public_id)
    return purged


def _delete_content_rows(document: Document) -> None:
    """Delete every row that belongs to the document and holds its content:
    pages (and their text lines), fields, validation results, and whatever
    later models hang off Document by a cascading key (line items ...), so a
    new kind of content is purged without this list being updated. Only
    records of what people and workers did are kept."""
    for relation in Document._meta.related_objects:
        if relation.related_model in _KEPT_RECORDS:
            continue
        if relation.on_delete is not models.CASCADE:
            continue
        relation.related_model._default_manager.filter(
            **{relation.field.name: document}
        ).delete()


def _scrub_webhooks(document: Document) -> None:
    # An approval's payload is the whole export, IBAN included; keep that it
    # was sent, not what.
    deliveries = WebhookDelivery.objects.filter(payload__id=str(document.public_id))
    WebhookAttempt.objects.filter(delivery__in=deliveries).update(response_excerpt="")
    deliveries.update(payload={"id": str(document.public_id), "purged": True})


def _scrub_vendor_directory(document: Document) -> None:
    # What the directory learned from this document that identifies an account
    # or a taxpayer, or that a person typed about the customer, goes with it;
    # the vendor's name and address stay (they describe the vendor, not this
    # document), and the next approval teaches the identifiers again.
    for confirmed in ConfirmedVendor.objects.filter(learned_from=document):
        entry = dict(confirmed.entry)
        entry["ibans"] = []
        entry["vat_ids"] = []
        entry["texts"] = [
            text
            for text in entry.get("texts", [])
            if text.get("field_name") in ("vendor_name", "vendor_address")
            or text.get("learned_from") != document.original_name
        ]
        confirmed.entry = entry
        confirmed.save(update_fields=["entry", "updated_at"])


def _delete_files(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)
