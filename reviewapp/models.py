"""Vouch's data: documents, their pages and text, extracted fields, processing runs."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models


def original_upload_path(instance: Document, filename: str) -> str:
    # The stored name is ours, never the sender's: `filename` carries only the
    # extension we chose from the sniffed type.
    suffix = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
    return f"originals/{instance.public_id.hex[:2]}/{instance.public_id}.{suffix}"


def page_image_path(instance: Page, filename: str) -> str:
    document_id = instance.document.public_id
    return f"pages/{document_id.hex[:2]}/{document_id}/{instance.number}.jpg"


class Document(models.Model):
    """A file someone sent, kept untouched, and what the pipeline made of it.

    Status moves only through services:
        queued -> processing           (a worker claims it)
        processing -> ready            (fields extracted)
        processing -> failed           (unreadable input, or retries exhausted)
        processing -> queued           (a failed attempt that will be retried,
                                        or `requeue_stale` after a lost worker)
        failed -> queued               (a person presses "retry")
        ready -> queued                (reprocess; human corrections survive)
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready for review"
        FAILED = "failed", "Failed"

    class Channel(models.TextChoices):
        UPLOAD = "upload", "Browser upload"
        CLI = "cli", "Command line"
        API = "api", "REST API"
        EMAIL = "email", "Email"
        WATCH_FOLDER = "watch_folder", "Watch folder"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    original = models.FileField(upload_to=original_upload_path, max_length=255)
    original_name = models.CharField(max_length=255, help_text="As sent; display only")
    sha256 = models.CharField(max_length=64, unique=True)
    content_type = models.CharField(max_length=100)
    size_bytes = models.PositiveBigIntegerField()
    page_count = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    failure_reason = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="uploaded_documents",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "status_changed_at"])]
        permissions = [
            ("view_all_documents", "Can see every document, not only own uploads"),
        ]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.public_id})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.READY, self.Status.FAILED)


class ProcessingRun(models.Model):
    """One attempt at processing a document: who ran it, with what, how long."""

    class Outcome(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="runs"
    )
    attempt = models.PositiveIntegerField()
    job_id = models.CharField(max_length=64, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    ocr_engine = models.CharField(max_length=100, blank=True)
    extractor = models.CharField(max_length=100, blank=True)
    outcome = models.CharField(
        max_length=20, choices=Outcome.choices, default=Outcome.RUNNING
    )
    stage_seconds = models.JSONField(default=dict)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["document", "attempt"]

    def __str__(self) -> str:
        return f"run {self.attempt} of {self.document_id}: {self.outcome}"


class Page(models.Model):
    class TextSource(models.TextChoices):
        OCR = "ocr", "OCR"
        PDF_TEXT = "pdf_text", "PDF text layer"
        XML = "xml", "E-invoice XML"

    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="pages"
    )
    number = models.PositiveIntegerField()
    image = models.FileField(upload_to=page_image_path, max_length=255)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    dpi = models.PositiveIntegerField()
    text_source = models.CharField(max_length=20, choices=TextSource.choices)

    class Meta:
        ordering = ["document", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "number"], name="page_number_unique"
            )
        ]

    def __str__(self) -> str:
        return f"page {self.number} of {self.document_id}"


class TextLine(models.Model):
    """A line of text on a page, from OCR or the PDF text layer, in page pixels."""

    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="lines")
    order = models.PositiveIntegerField()
    text = models.TextField()
    confidence = models.FloatField()
    polygon = models.JSONField(help_text="[[x, y] x 4], clockwise from top-left")
    x0 = models.IntegerField()
    y0 = models.IntegerField()
    x1 = models.IntegerField()
    y1 = models.IntegerField()

    class Meta:
        ordering = ["page", "order"]

    def __str__(self) -> str:
        return self.text

    @property
    def box(self) -> list[int]:
        return [self.x0, self.y0, self.x1, self.y1]


class Field(models.Model):
    """One extracted value. A machine run rewrites machine_* and, unless a person
    has set the field, value and confidence; a human value is never overwritten."""

    class SetBy(models.TextChoices):
        MACHINE = "machine", "Machine"
        HUMAN = "human", "Person"

    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="fields"
    )
    name = models.CharField(max_length=50)
    raw_value = models.TextField(blank=True)
    value = models.TextField(blank=True, help_text="Normalised")
    confidence = models.FloatField(null=True, blank=True)
    page = models.ForeignKey(Page, null=True, blank=True, on_delete=models.SET_NULL)
    box = models.JSONField(null=True, blank=True, help_text="[x0, y0, x1, y1]")
    explanation = models.TextField(blank=True)
    set_by = models.CharField(
        max_length=20, choices=SetBy.choices, default=SetBy.MACHINE
    )
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    corrected_at = models.DateTimeField(null=True, blank=True)
    machine_value = models.TextField(blank=True)
    machine_confidence = models.FloatField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["document", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "name"], name="field_name_unique_per_document"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}={self.value!r}"

    def as_payload(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "raw_value": self.raw_value,
            "confidence": self.confidence,
            "set_by": self.set_by,
        }


class AuditImmutable(Exception):
    """Raised on any attempt to change or delete an audit row through the ORM."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    """Audit rows are append-only: bulk update and delete are refused."""

    def update(self, **kwargs: Any) -> int:
        raise AuditImmutable("audit events cannot be changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditImmutable("audit events cannot be deleted")

    def bulk_update(self, *args: Any, **kwargs: Any) -> int:
        raise AuditImmutable("audit events cannot be changed")

    def update_or_create(self, *args: Any, **kwargs: Any) -> Any:
        raise AuditImmutable("audit events cannot be changed")


class AuditEvent(models.Model):
    """One thing that happened, append-only and hash-chained (see reviewapp.audit).

    Actor and document are copied in, not foreign keys: the trail must outlive
    deleted users and documents, and a cascade would have to rewrite it.
    Sensitive values in `details` are envelopes holding a keyed digest and a mask;
    their ciphertext lives in AuditSecret so it can be purged without touching
    the hashed row.
    """

    class EventType(models.TextChoices):
        LOGIN = "login", "Logged in"
        LOGOUT = "logout", "Logged out"
        LOGIN_FAILED = "login_failed", "Failed login"
        DOCUMENT_INGESTED = "document_ingested", "Document received"
        DOCUMENT_DOWNLOADED = "document_downloaded", "Original downloaded"
        DOCUMENT_RETRY = "document_retry", "Retry requested"
        DOCUMENT_REPROCESS = "document_reprocess", "Reprocess requested"
        DOCUMENT_REQUEUED = "document_requeued", "Requeued after a lost job"
        JOB_STARTED = "job_started", "Processing started"
        JOB_FINISHED = "job_finished", "Processing finished"
        JOB_FAILED = "job_failed", "Processing failed"
        FIELD_CHANGED = "field_changed", "Field changed"
        # Review workflow; the actions themselves come in a later issue.
        DOCUMENT_CLAIMED = "document_claimed", "Claimed for review"
        DOCUMENT_RELEASED = "document_released", "Released"
        DOCUMENT_APPROVED = "document_approved", "Approved"
        DOCUMENT_REJECTED = "document_rejected", "Rejected"
        DOCUMENT_ESCALATED = "document_escalated", "Escalated"
        SENSITIVE_REVEALED = "sensitive_revealed", "Sensitive value revealed"
        AUDIT_EXPORTED = "audit_exported", "Audit log exported"
        SETTINGS_CHANGED = "settings_changed", "Settings changed"
        USER_CHANGED = "user_changed", "User changed"
        ROLE_CHANGED = "role_changed", "Role changed"
        MODEL_TRAINED = "model_trained", "Model trained"
        MODEL_PROMOTED = "model_promoted", "Model promoted"

    sequence = models.PositiveBigIntegerField(unique=True)
    occurred_at = models.DateTimeField(db_index=True)
    event_type = models.CharField(
        max_length=50, choices=EventType.choices, db_index=True
    )
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_username = models.CharField(max_length=150, blank=True, db_index=True)
    actor_role = models.CharField(max_length=200, blank=True)
    ip_address = models.CharField(max_length=45, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    document_public_id = models.UUIDField(null=True, blank=True, db_index=True)
    details = models.JSONField(default=dict)
    previous_hash = models.CharField(max_length=64)
    content_hash = models.CharField(max_length=64)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["sequence"]
        default_permissions = ("view",)
        permissions = [
            ("export_auditevent", "Can export the audit log"),
            ("reveal_sensitive", "Can see sensitive values unmasked"),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.event_type}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditImmutable("audit events cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditImmutable("audit events cannot be deleted")


class AuditSecret(models.Model):
    """The encrypted form of one sensitive value in an audit event's details.

    Kept apart from the event so that retention can delete it (redaction) while
    the event, which hashes only the value's keyed digest, still verifies.
    """

    event_sequence = models.PositiveBigIntegerField()
    digest = models.CharField(max_length=64)
    ciphertext = models.TextField()

    class Meta:
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(
                fields=["event_sequence", "digest"], name="audit_secret_unique"
            )
        ]

    def __str__(self) -> str:
        return f"secret {self.digest[:8]} of #{self.event_sequence}"


class AuditChainHead(models.Model):
    """The single row that says where the chain ends. Appends lock it, so two
    writers never both extend the same event; verification compares the last
    event with it, so deleting the newest rows is noticed too."""

    singleton = models.PositiveSmallIntegerField(primary_key=True, default=1)
    sequence = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"audit chain at #{self.sequence}"
