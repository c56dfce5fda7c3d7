"""Vouch's data: documents, their pages and text, extracted fields, processing runs."""

from __future__ import annotations

import secrets
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


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    """A receiver (typically the ERP) told when something happens, e.g. a document
    is approved. Payloads are signed with `secret` (see reviewapp.webhooks)."""

    class Event(models.TextChoices):
        DOCUMENT_APPROVED = "document.approved", "Document approved"
        DOCUMENT_EXPORTED = "document.exported", "Document exported"

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    secret = models.CharField(
        max_length=100,
        default=new_webhook_secret,
        help_text="Shared with the receiver to verify the X-Vouch-Signature header.",
    )
    events = models.JSONField(
        default=list, help_text='Event names, e.g. ["document.approved"]'
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.url})"

    def wants(self, event: str) -> bool:
        return self.active and event in self.events


class WebhookDelivery(models.Model):
    """One event for one endpoint; its id is the receiver's idempotency key and
    stays the same across retries."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed, no retries left"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=50)
    payload = models.JSONField()
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event} -> {self.endpoint.name} ({self.status})"


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery and what came back: every try is kept, for
    the admin who asks why the ERP never got an invoice."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveIntegerField()
    attempted_at = models.DateTimeField(auto_now_add=True)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField()

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        outcome = self.status_code or self.error
        return f"attempt {self.number} of {self.delivery_id}: {outcome}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
