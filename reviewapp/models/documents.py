"""Documents as they arrive, their processing runs, pages and OCR text lines."""

from __future__ import annotations

import copy
import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.postgres.indexes import OpClass
from django.db import models
from django.db.models.expressions import OrderBy
from django.db.models.functions import Upper


class NullsFirstIndex(models.Index):
    """An index whose ascending expressions may put NULL first. PostgreSQL
    must be told NULLS FIRST (its ascending default puts NULL last) to walk
    the index in that order; SQLite puts NULL first anyway and refuses the
    words in CREATE INDEX, so they are left out where that is the default."""

    def create_sql(
        self, model: Any, schema_editor: Any, using: str = "", **kwargs: Any
    ) -> Any:
        if not schema_editor.connection.features.order_by_nulls_first:
            return super().create_sql(model, schema_editor, using, **kwargs)
        index = copy.copy(self)
        index.expressions = tuple(
            OrderBy(expression.expression)
            if isinstance(expression, OrderBy)
            and expression.nulls_first
            and not expression.descending
            else expression
            for expression in self.expressions
        )
        return super(NullsFirstIndex, index).create_sql(
            model, schema_editor, using, **kwargs
        )


class PrefixMatchIndex(models.Index):
    """An index whose computed text expressions answer LIKE 'prefix%' with a
    range scan. PostgreSQL does that only with the text_pattern_ops operator
    class, unless the database happens to use the C collation; SQLite has no
    operator classes and refuses the words, so there they are left out. Plain
    columns keep their default class (equality and order)."""

    def create_sql(
        self, model: Any, schema_editor: Any, using: str = "", **kwargs: Any
    ) -> Any:
        if schema_editor.connection.vendor != "postgresql":
            return super().create_sql(model, schema_editor, using, **kwargs)
        index = copy.copy(self)
        index.expressions = tuple(
            expression
            if isinstance(expression, models.F)
            else OpClass(expression, name="text_pattern_ops")
            for expression in self.expressions
        )
        return super(PrefixMatchIndex, index).create_sql(
            model, schema_editor, using, **kwargs
        )


# What the queue's vendor filter compares: the vendor's name in capitals, so
# that "globex" finds "Globex Ltd". One definition for the filter
# (selectors.queues) and for the index that serves it (Document.Meta).
VENDOR_KEY = Upper("vendor_name")

# The "least sure first" queue order: the documents most likely to hold a
# wrong value first (no confidence yet counts as least sure), oldest first
# among equals. One definition for the queue's ORDER BY and for the index
# that serves it (Document.Meta), so the two cannot drift apart.
LEAST_SURE_FIRST = (
    models.F("confidence").asc(nulls_first=True),
    models.F("created_at").asc(),
    models.F("id").asc(),
)


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
        needs_new_copy                 (at ingest: the image will not read;
                                        the sender is told why, nothing is read)
        needs_new_copy -> queued       (a person has it read anyway; audited)
        processing -> split_to_confirm (several documents in one file: the
                                        split proposed waits for a person)
        processing|split_to_confirm -> split
                                       (the split is confirmed, by a person or,
                                        when every page is certain, by the
                                        worker: each part is a new document,
                                        queued; the batch itself is done)
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
        NEEDS_NEW_COPY = "needs_new_copy", "Needs a new copy"
        SPLIT_TO_CONFIRM = "split_to_confirm", "Split to confirm"
        SPLIT = "split", "Split into documents"
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
        PO_MISMATCH = "po_mismatch", "Does not match its purchase order"
        NOT_RECEIVED = "not_received", "Bills more than was received"
        UNKNOWN_PO = "unknown_po", "Its purchase order is not on file"
        UNEXPECTED_CURRENCY = "unexpected_currency", "Not in the vendor's currency"
        OVER_LIMIT = "over_limit", "Amount over my approval limit"
        RULE_EXCEPTION = "rule_exception", "Another check a supervisor decides"
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
    # The capture check (pipeline.quality) of an image as received: 0-100,
    # and what the sender was told, [{"page", "code", "advice"}]. Empty for
    # a PDF, which is checked by reading it.
    quality_score = models.FloatField(null=True, blank=True)
    quality_issues = models.JSONField(default=list, blank=True)
    # Retention (reviewapp.services.retention): the content is deleted after this day;
    # the row, emptied, and its audit trail stay.
    retain_until = models.DateField(null=True, blank=True, db_index=True)
    purged_at = models.DateTimeField(null=True, blank=True)
    # What the vendor directory did when the document was last read: per
    # field, applied or not and why (pipeline.extract.vendor_directory notes).
    memory_notes = models.JSONField(default=list, blank=True)
    # A part of a batch split into documents: the batch, and which of its
    # pages (batch page numbers, in order) this part holds.
    split_from = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="split_parts",
    )
    split_pages = models.JSONField(default=list, blank=True)
    # The status with "claimed" read as "ready": a claimed document still sits
    # in the review queue. Kept by the database. The queues filter on it with
    # one equality, which lets SQLite and PostgreSQL walk the index below in
    # queue order and stop after a page; `status IN (ready, claimed)` made
    # SQLite (without statistics) sort the whole queue on every request.
    queue_status = models.GeneratedField(
        expression=models.Case(
            models.When(status=Status.CLAIMED, then=models.Value(Status.READY)),
            default=models.F("status"),
        ),
        output_field=models.CharField(max_length=20),
        db_persist=True,
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "status_changed_at"]),
            models.Index(fields=["status", "created_at"]),
            models.Index(fields=["status", "review_reason"]),
            # A queue's pages, oldest or newest first, walked in order and left
            # after the page; it holds what my queue's claim rule and the vendor
            # filter read, so PostgreSQL answers from the index alone.
            models.Index(
                fields=[
                    "queue_status",
                    "created_at",
                    "id",
                    "status",
                    "claimed_by",
                    "claim_expires_at",
                    "vendor_name",
                ],
                name="document_queue_order",
            ),
            # The vendor sort: a page without sorting the queue.
            models.Index(
                fields=["queue_status", "vendor_name", "created_at", "id"],
                name="document_queue_vendor_order",
            ),
            # The least-sure-first sort, with what my queue's claim rule reads,
            # so PostgreSQL answers a page from the index alone.
            NullsFirstIndex(
                models.F("queue_status"),
                *LEAST_SURE_FIRST,
                models.F("status"),
                models.F("claimed_by"),
                models.F("claim_expires_at"),
                name="document_queue_least_sure",
            ),
            # The vendor filter ("starts with", any case): the range of one
            # queue's documents whose vendor begins with the words typed, with
            # what the counts, the claim rule and the sorts read, so that
            # PostgreSQL counts and pages them from the index alone instead of
            # testing every document of the queue (at 100,000 documents the
            # filtered queue page took 30 ms more than the unfiltered one).
            PrefixMatchIndex(
                models.F("queue_status"),
                VENDOR_KEY,
                models.F("status"),
                models.F("review_reason"),
                models.F("document_type"),
                models.F("claimed_by"),
                models.F("claim_expires_at"),
                models.F("vendor_name"),
                models.F("created_at"),
                models.F("id"),
                name="document_queue_vendor_prefix",
            ),
            # A queue's counts per reason and type, grouped in index order
            # (selectors.queues._grouped_counts): no sort.
            models.Index(
                fields=[
                    "queue_status",
                    "status",
                    "review_reason",
                    "document_type",
                    "claimed_by",
                    "claim_expires_at",
                    "vendor_name",
                ],
                name="document_queue_counts",
            ),
            # The operations dashboard's date ranges.
            models.Index(fields=["created_at"]),
            models.Index(fields=["processed_at"]),
            models.Index(fields=["decided_at"]),
            models.Index(fields=["exported_at"]),
            # The dashboard's export queue (approved, not exported: its count,
            # oldest and median, of one type or all) read from the index
            # alone. Led by exported_at, not status: SQLite (no ANALYZE) took
            # a status-led composite for every status query, reading rows out
            # of id order (the simulator went from 0.2 to 0.5 s at 100,000).
            models.Index(
                fields=["exported_at", "status", "document_type", "decided_at"]
            ),
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


# Read documents: the review workflow's states. Reviewers share these, and
# also what waits for a new copy (one of them may have it read anyway) or for
# its split to be confirmed, and the batches already split.
REVIEW_STATUSES = (
    Document.Status.NEEDS_NEW_COPY,
    Document.Status.SPLIT_TO_CONFIRM,
    Document.Status.SPLIT,
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
    # A long scanned document is read as one job per page (PageReading); the
    # job that finds every page read sets `assembled_at` in one conditional
    # update, so exactly one of them assembles the result. 0: read in one job.
    pages_expected = models.PositiveIntegerField(default=0)
    assembled_at = models.DateTimeField(null=True, blank=True)
    # Which worker read each page: {"1": "host:worker", ...}.
    page_workers = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["document", "attempt"]

    def __str__(self) -> str:
        return f"run {self.attempt} of {self.document_id}: {self.outcome}"


def page_job_image_path(instance: PageReading, filename: str) -> str:
    return f"page-jobs/run-{instance.run_id}/{filename}"


class PageReading(models.Model):
    """One page of a run split into page jobs: the prepared image any worker
    can read (shared media storage), and once read, its text. Kept until the
    run is assembled; writing a page's text again replaces it, so a page job
    is safe to run twice."""

    run = models.ForeignKey(
        ProcessingRun, on_delete=models.CASCADE, related_name="page_readings"
    )
    number = models.PositiveIntegerField()
    image = models.FileField(upload_to=page_job_image_path, max_length=255)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    dpi = models.PositiveIntegerField()
    # The page's PDF text layer when it has one (no OCR needed), as lines.
    text_layer = models.JSONField(null=True, blank=True)
    # What preprocessing did before OCR: [{"name", "detail"}], and its time.
    preprocessing = models.JSONField(default=list)
    preprocess_seconds = models.FloatField(default=0.0)
    preprocess_cpu_seconds = models.FloatField(default=0.0)
    # The page's text, once read: [{"text", "confidence", "polygon"}].
    lines = models.JSONField(null=True, blank=True)
    source = models.CharField(max_length=20, blank=True)
    text_seconds = models.FloatField(default=0.0)
    worker = models.CharField(max_length=200, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "number"], name="page_reading_number_unique"
            )
        ]

    def __str__(self) -> str:
        return f"page {self.number} of run {self.run_id}"


class BatchSplit(models.Model):
    """The split proposed for a batch (several documents in one file) and how
    it was settled: `proposal` is the splitter's decision for every page,
    `starts` the first pages of the parts as confirmed (equal to the
    proposal's unless a person corrected it)."""

    batch = models.OneToOneField(
        Document, on_delete=models.CASCADE, related_name="batch_split"
    )
    # [{"page", "starts_document", "confidence", "reasons": [...]}], in page order.
    proposal = models.JSONField()
    proposed_starts = models.JSONField()
    starts = models.JSONField(default=list, blank=True)
    proposed_at = models.DateTimeField(auto_now_add=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # Confirmed by the worker: every page's decision was certain.
    automatic = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"split of {self.batch_id}: starts {self.starts or self.proposed_starts}"


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
