"""Vouch's data: documents, their pages and text, extracted fields, processing runs,
the vendor and purchase-order master data, and what validation found."""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from pipeline.extract.scorer import SCORED_FIELDS
from pipeline.registry import validation_rules
from pipeline.validate.identifiers import check_iban, check_vat_id


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
        processing -> ready            (fields extracted; it needs review)
        processing -> approved         (straight through: every field sure, every
                                        check passed, total within the limit)
        processing -> escalated        (a check only a supervisor settles failed;
                                        escalated_by is empty)
        processing -> failed           (unreadable input, or retries exhausted)
        processing -> queued           (a failed attempt that will be retried,
                                        or `requeue_stale` after a lost worker)
        failed -> queued               (a person presses "retry")
        ready|claimed -> queued        (reprocess; human corrections survive,
                                        a claim is dropped)
    Review, by people (see services.document_claim and the actions after it):
        ready -> claimed               (a reviewer claims it until claim_expires_at)
        claimed -> claimed             (another reviewer takes an expired claim,
                                        or the claimant renews it by working)
        claimed -> ready               (the claimant releases it)
        claimed -> approved            (the claimant approves it)
        claimed -> escalated           (the claimant escalates it, with a reason)
        escalated -> approved|rejected (a supervisor other than the one who
                                        escalated it: four eyes)
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready for review"
        FAILED = "failed", "Failed"
        CLAIMED = "claimed", "In review"
        ESCALATED = "escalated", "Escalated"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    class EscalationReason(models.TextChoices):
        WRONG_DATA = "wrong_data", "Values on the document look wrong"
        UNREADABLE = "unreadable", "Cannot be read reliably"
        BANK_DETAILS = "bank_details", "Bank details differ from the vendor's"
        DUPLICATE = "duplicate", "Looks like a duplicate"
        OVER_LIMIT = "over_limit", "Amount over my approval limit"
        RULE_EXCEPTION = "rule_exception", "A check failed that a supervisor decides"
        OTHER = "other", "Other (explain in the note)"

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
    # What kind of document the classifier took it for, how sure it was and why
    # (pipeline.classify); empty until read.
    document_type = models.CharField(max_length=30, blank=True, db_index=True)
    document_type_confidence = models.FloatField(null=True, blank=True)
    # P(every value read is right), from the fields (review_reasons).
    confidence = models.FloatField(null=True, blank=True)
    document_type_evidence = models.TextField(blank=True)
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

    # Review: who holds the document now, and who decided what about it.
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="claimed_documents",
    )
    claim_expires_at = models.DateTimeField(null=True, blank=True)
    escalation_reason = models.CharField(
        max_length=20, choices=EscalationReason.choices, blank=True
    )
    escalation_note = models.TextField(blank=True)
    escalated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    escalated_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who approved or rejected it",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    straight_through = models.BooleanField(
        default=False, help_text="Approved by routing, without a person"
    )
    # The ERP's pull: when it confirmed taking the approved document, and who.
    exported_at = models.DateTimeField(null=True, blank=True)
    exported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Copies of what the fields say, kept by services.document_refresh_review_columns
    # so that queues filter, sort and count without a subquery per document.
    vendor_name = models.CharField(max_length=255, blank=True)
    review_reason = models.CharField(max_length=20, blank=True)
    # Retention (reviewapp.retention): the content is deleted after this day;
    # the row, emptied, and its audit trail stay.
    retain_until = models.DateField(null=True, blank=True, db_index=True)
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "status_changed_at"]),
            models.Index(fields=["status", "created_at"]),
            models.Index(fields=["status", "review_reason"]),
        ]
        permissions = [
            ("view_all_documents", "Can see every document, not only own uploads"),
            (
                "review_document",
                "Can work the shared review queue: claim, correct, approve, escalate",
            ),
            ("handle_exceptions", "Can approve or reject escalated documents"),
            ("reveal_sensitive", "Can reveal masked sensitive values, with a reason"),
            (
                "export_documents",
                "Can export approved documents in batches and mark them exported",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.public_id})"

    @property
    def is_finished(self) -> bool:
        """The pipeline is done with it (read, failed, or under review)."""
        return self.status in FINISHED_STATUSES

    def claim_is_live(self, now: datetime) -> bool:
        return (
            self.status == self.Status.CLAIMED
            and self.claim_expires_at is not None
            and self.claim_expires_at > now
        )


# Read documents: the review workflow's states. Reviewers share these.
REVIEW_STATUSES = (
    Document.Status.READY,
    Document.Status.CLAIMED,
    Document.Status.ESCALATED,
    Document.Status.APPROVED,
    Document.Status.REJECTED,
)
FINISHED_STATUSES = (*REVIEW_STATUSES, Document.Status.FAILED)


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
    # The trained version that read the document, when one was active.
    extractor_version = models.ForeignKey(
        "ExtractorVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="runs",
    )
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


class LineItem(models.Model):
    """One invoice line. Like Field: a machine run rewrites machine_* and, while
    no person has touched the document's lines, the values too; a line a person
    has edited, added or split keeps its values (set_by=human)."""

    class SetBy(models.TextChoices):
        MACHINE = "machine", "Machine"
        HUMAN = "human", "Person"

    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="line_items"
    )
    position = models.PositiveIntegerField(help_text="1-based, as the grid shows it")
    description = models.TextField(blank=True)
    item_code = models.CharField(max_length=100, blank=True)
    quantity = models.DecimalField(
        max_digits=18, decimal_places=6, null=True, blank=True
    )
    unit_price = models.DecimalField(
        max_digits=18, decimal_places=6, null=True, blank=True
    )
    amount = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    tax_rate = models.DecimalField(
        max_digits=7, decimal_places=4, null=True, blank=True, help_text="Percent"
    )
    confidence = models.FloatField(null=True, blank=True)
    page = models.ForeignKey(Page, null=True, blank=True, on_delete=models.SET_NULL)
    box = models.JSONField(null=True, blank=True, help_text="[x0, y0, x1, y1]")
    source = models.CharField(max_length=20, blank=True, help_text="xml, pdf_text, ocr")
    explanation = models.TextField(blank=True)
    set_by = models.CharField(
        max_length=20, choices=SetBy.choices, default=SetBy.MACHINE
    )
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    corrected_at = models.DateTimeField(null=True, blank=True)
    machine_description = models.TextField(blank=True)
    machine_quantity = models.DecimalField(
        max_digits=18, decimal_places=6, null=True, blank=True
    )
    machine_unit_price = models.DecimalField(
        max_digits=18, decimal_places=6, null=True, blank=True
    )
    machine_amount = models.DecimalField(
        max_digits=18, decimal_places=4, null=True, blank=True
    )
    machine_tax_rate = models.DecimalField(
        max_digits=7, decimal_places=4, null=True, blank=True
    )
    machine_confidence = models.FloatField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["document", "position", "id"]

    def __str__(self) -> str:
        return f"line {self.position}: {self.description[:40]!r} {self.amount}"


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


# --- master data ---------------------------------------------------------------


class Vendor(models.Model):
    """A supplier as the ERP knows it. `number` is the ERP's vendor number, the
    key an import updates by. IBANs are stored compact (no spaces, upper case)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    number = models.CharField(max_length=50, unique=True, help_text="ERP vendor number")
    name = models.CharField(max_length=200)
    aliases = models.JSONField(
        default=list, blank=True, help_text='Other names it prints, e.g. ["ACME"]'
    )
    vat_id = models.CharField("VAT id", max_length=32, blank=True, db_index=True)
    ibans = models.JSONField(
        "IBANs", default=list, blank=True, help_text='Known accounts, e.g. ["DE89..."]'
    )
    address = models.TextField(blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166, e.g. DE")
    currency = models.CharField(
        max_length=3, blank=True, help_text="ISO 4217, e.g. EUR"
    )
    payment_terms_days = models.PositiveIntegerField(null=True, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "number"]

    def __str__(self) -> str:
        return f"{self.name} ({self.number})"

    def clean(self) -> None:
        """Normalise and check identifiers; raises ValidationError per field with
        a sentence for the person importing or editing."""
        errors: dict[str, list[str]] = {}
        self.country = self.country.strip().upper()
        self.currency = self.currency.strip().upper()
        if self.country and not re.fullmatch(r"[A-Z]{2}", self.country):
            errors.setdefault("country", []).append(
                f"“{self.country}” is not a two-letter country code such as DE."
            )
        if self.currency and not re.fullmatch(r"[A-Z]{3}", self.currency):
            errors.setdefault("currency", []).append(
                f"“{self.currency}” is not a three-letter currency code such as EUR."
            )
        if not isinstance(self.aliases, list) or not all(
            isinstance(alias, str) for alias in self.aliases
        ):
            errors.setdefault("aliases", []).append("Aliases must be a list of names.")
        if not isinstance(self.ibans, list) or not all(
            isinstance(iban, str) for iban in self.ibans
        ):
            errors.setdefault("ibans", []).append("IBANs must be a list of accounts.")
        else:
            compact = []
            for iban in self.ibans:
                check = check_iban(iban)
                if not check.valid:
                    errors.setdefault("ibans", []).append(
                        f"IBAN {check.compact} is not valid: {check.problem}."
                    )
                compact.append(check.compact)
            self.ibans = list(dict.fromkeys(compact))
        if self.vat_id.strip():
            vat = check_vat_id(self.vat_id, default_country=self.country)
            if not vat.valid:
                errors.setdefault("vat_id", []).append(
                    f"VAT id {self.vat_id} is not valid: {vat.problem}."
                )
            self.vat_id = vat.compact
        if errors:
            raise ValidationError(errors)


class PurchaseOrder(models.Model):
    """An order placed with a vendor. Tolerances left empty use the settings
    VOUCH_PO_PRICE_TOLERANCE_PERCENT and VOUCH_PO_QUANTITY_TOLERANCE_PERCENT."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    number = models.CharField(max_length=50, unique=True)
    vendor = models.ForeignKey(
        Vendor, on_delete=models.PROTECT, related_name="purchase_orders"
    )
    currency = models.CharField(max_length=3)
    price_tolerance_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
    )
    quantity_tolerance_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "number"]
        verbose_name = "purchase order"

    def __str__(self) -> str:
        return self.number

    def clean(self) -> None:
        self.currency = self.currency.strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", self.currency):
            raise ValidationError(
                {"currency": f"“{self.currency}” is not a currency code such as EUR."}
            )


class PurchaseOrderLine(models.Model):
    """One ordered item; `line_number` is the PO's own, what receipts point at."""

    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.CASCADE, related_name="lines"
    )
    line_number = models.CharField(max_length=20)
    item_code = models.CharField(max_length=50, blank=True)
    description = models.CharField(max_length=300)
    quantity = models.DecimalField(
        max_digits=14, decimal_places=3, validators=[MinValueValidator(Decimal(0))]
    )
    unit_price = models.DecimalField(
        max_digits=14, decimal_places=4, validators=[MinValueValidator(Decimal(0))]
    )

    class Meta:
        ordering = ["purchase_order", "id"]
        verbose_name = "purchase order line"
        constraints = [
            models.UniqueConstraint(
                fields=["purchase_order", "line_number"], name="po_line_number_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.purchase_order_id} line {self.line_number}: {self.description}"


class GoodsReceipt(models.Model):
    """A quantity of one PO line received; `reference` is the receipt's number."""

    reference = models.CharField(max_length=50)
    line = models.ForeignKey(
        PurchaseOrderLine, on_delete=models.CASCADE, related_name="receipts"
    )
    quantity_received = models.DecimalField(
        max_digits=14, decimal_places=3, validators=[MinValueValidator(Decimal(0))]
    )
    received_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_on", "reference"]
        constraints = [
            models.UniqueConstraint(
                fields=["reference", "line"], name="goods_receipt_unique_per_line"
            )
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.quantity_received} of {self.line}"


# --- validation ----------------------------------------------------------------


class ValidationRuleSetting(models.Model):
    """An admin's switch for one rule on one document type. Rules without a row
    run (see `pipeline.registry.validation_rules`)."""

    document_type = models.CharField(max_length=30)
    rule = models.CharField(max_length=60)
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["document_type", "rule"]
        constraints = [
            models.UniqueConstraint(
                fields=["document_type", "rule"], name="rule_setting_unique"
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.rule} for {self.document_type}: {'on' if self.enabled else 'off'}"
        )

    def clean(self) -> None:
        known = {spec.code for spec in validation_rules.all()}
        if self.rule not in known:
            raise ValidationError(
                {
                    "rule": f"No rule is called “{self.rule}”; "
                    f"known: {', '.join(sorted(known))}."
                }
            )


class DocumentValidation(models.Model):
    """The latest validation of a document: whom it is from, which PO it bills,
    and what duplicate detection needs of it. Replaced on every run."""

    class MatchMethod(models.TextChoices):
        CONFIRMED = "confirmed", "Confirmed by a person"
        VAT_ID = "vat_id", "VAT id"
        IBAN = "iban", "IBAN"
        NAME = "name", "Name and address"

    document = models.OneToOneField(
        Document, on_delete=models.CASCADE, related_name="validation"
    )
    vendor = models.ForeignKey(
        Vendor, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    vendor_match_method = models.CharField(
        max_length=20, choices=MatchMethod.choices, blank=True
    )
    vendor_match_confidence = models.FloatField(null=True, blank=True)
    purchase_order = models.ForeignKey(
        PurchaseOrder,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    document_type = models.CharField(max_length=30)
    image_fingerprint = models.CharField(
        max_length=16, blank=True, help_text="64-bit difference hash of page 1, hex"
    )
    rules_run = models.JSONField(default=list)
    validated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"validation of {self.document_id}"


class ValidationIssue(models.Model):
    """One failing rule on a document, from the latest validation run."""

    class Severity(models.TextChoices):
        ERROR = "error", "Error"
        WARNING = "warning", "Warning"

    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="validation_issues"
    )
    rule = models.CharField(max_length=60)
    code = models.CharField(max_length=60, db_index=True)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    fields = models.JSONField(default=list, help_text="Field names involved")
    message = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    needs_supervisor = models.BooleanField(
        default=False,
        help_text="Only a supervisor other than the handler may approve",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["document", "id"]

    def __str__(self) -> str:
        return f"{self.code} on {self.document_id}"


class SensitiveField(models.Model):
    """A field whose value is masked for everyone until someone allowed to
    reveals it with a reason. Admins edit the list in Django admin."""

    name = models.CharField(max_length=50, unique=True)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SensitiveReveal(models.Model):
    """One person saw one sensitive value in clear, and said why."""

    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="reveals"
    )
    field_name = models.CharField(max_length=50)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    reason = models.TextField()
    revealed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-revealed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user_id} revealed {self.field_name} of {self.document_id}"


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
        DOCUMENTS_EXPORTED = "documents_exported", "Approved data exported"
        DOCUMENT_MARKED_EXPORTED = "document_marked_exported", "Marked exported"
        DOCUMENT_RETRY = "document_retry", "Retry requested"
        DOCUMENT_REPROCESS = "document_reprocess", "Reprocess requested"
        DOCUMENT_REQUEUED = "document_requeued", "Requeued after a lost job"
        JOB_STARTED = "job_started", "Processing started"
        JOB_FINISHED = "job_finished", "Processing finished"
        JOB_FAILED = "job_failed", "Processing failed"
        FIELD_CHANGED = "field_changed", "Field changed"
        LINE_ITEMS_CHANGED = "line_items_changed", "Line items changed"
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
        VENDOR_MEMORY_LEARNED = "vendor_memory_learned", "Vendor memory learned"
        VENDOR_MEMORY_DELETED = "vendor_memory_deleted", "Vendor memory deleted"
        DOCUMENT_PURGED = "document_purged", "Document purged (retention)"
        TRAINING_EXPORTED = "training_exported", "Training data exported"
        MODEL_REJECTED = "model_rejected", "Model rejected"
        MODEL_ROLLED_BACK = "model_rolled_back", "Model rolled back"

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


class FieldThreshold(models.Model):
    """An administrator's auto-accept threshold for one field, replacing the
    calibrated one (see reviewapp.thresholds)."""

    name = models.CharField(max_length=50, unique=True)
    threshold = models.FloatField(
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="0 to 1: machine values at or above it need no review",
    )
    note = models.CharField(
        max_length=300, blank=True, help_text="Why it differs from the calibrated one"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} >= {self.threshold:.3f}"


class FieldCorrection(models.Model):
    """One person's correction of one field, with the evidence on the page: the
    machine's value and box and the OCR text under it, the corrected value and
    the box the person clicked or drew and the OCR text under that. Training
    data for the extractor (`manage.py export_training`).

    Values and texts that are or hold a sensitive value are kept masked in
    their column; the clear text is only in `sealed`, encrypted under the
    audit key (reviewapp.training_data)."""

    class Source(models.TextChoices):
        TYPED = "typed", "Typed"
        CLICKED_LINE = "clicked_line", "Clicked a line"
        CLICKED_WORD = "clicked_word", "Clicked a word"
        DRAWN_BOX = "drawn_box", "Drew a box"

    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="corrections"
    )
    field_name = models.CharField(max_length=50)
    machine_value = models.TextField(blank=True)
    machine_confidence = models.FloatField(null=True, blank=True)
    machine_page = models.ForeignKey(
        Page, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    machine_box = models.JSONField(null=True, blank=True, help_text="[x0, y0, x1, y1]")
    machine_ocr_text = models.TextField(
        blank=True, help_text="The OCR lines under the machine's box"
    )
    corrected_value = models.TextField(blank=True)
    source = models.CharField(
        max_length=20, choices=Source.choices, default=Source.TYPED
    )
    page = models.ForeignKey(
        Page,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="corrections",
        help_text="The page of the box the person chose",
    )
    corrected_box = models.JSONField(
        null=True, blank=True, help_text="[x0, y0, x1, y1]"
    )
    corrected_ocr_text = models.TextField(
        blank=True, help_text="The OCR words inside the chosen box"
    )
    sealed = models.JSONField(
        default=dict,
        blank=True,
        help_text="Column name -> ciphertext of its clear text (sensitive only)",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    username = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        permissions = [
            ("export_fieldcorrection", "Can export corrections as training data"),
        ]

    def __str__(self) -> str:
        return f"{self.field_name} of {self.document_id} ({self.source})"


class ExtractorVersion(models.Model):
    """One trained version of the learned field scorer, with the scores that
    decided whether it went live (see reviewapp.extractor_versions).

    At most one version is active; when none is, documents are read by
    `settings.VOUCH_EXTRACTOR`. The artefact is small JSON and lives in the row,
    so every worker loads the same bytes without shared files.
    """

    class Decision(models.TextChoices):
        BASELINE = "baseline", "Checked-in model"
        PROMOTED = "promoted", "Promoted"
        REJECTED = "rejected", "Rejected by the gate"

    name = models.CharField(max_length=100)
    content_hash = models.CharField(max_length=64, unique=True)
    artefact = models.JSONField(help_text="The model as written by train_extractor")
    training_summary = models.JSONField(default=dict)
    scores = models.JSONField(default=dict, help_text="Cross-validated, per field")
    evaluation = models.JSONField(
        default=dict, help_text="The gate's comparison with the version live then"
    )
    decision = models.CharField(max_length=20, choices=Decision.choices)
    decision_reasons = models.JSONField(default=list)
    is_active = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    promoted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [
            ("manage_extractor", "Can retrain, promote and roll back the extractor"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=models.Q(is_active=True),
                name="one_active_extractor_version",
            )
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """name@hash, as processing runs record it."""
        return f"{self.name}@{self.content_hash[:12]}"

    @property
    def field_scores(self) -> list[tuple[str, dict[str, Any] | None]]:
        """Cross-validated scores per scored field, in the pipeline's order."""
        return [(name, self.scores.get(name)) for name in SCORED_FIELDS]


# Models kept beside the logic they serve; imported here so Django finds them.
from reviewapp.retention import RetentionPolicy  # noqa: E402, F401
from reviewapp.vendor_memory import VendorFieldMemory  # noqa: E402, F401
