"""Every write to Vouch's data, named <entity>_<action>.

Services run in a transaction, move documents between states only as the
Document docstring allows, and announce changes through `broadcast` after commit.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import django_rq
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from rq import Retry

from pipeline.decode import DecodeLimits, read_image_header
from pipeline.errors import UnreadableDocument
from pipeline.filetypes import PDF, SNIFF_BYTES, describe_accepted, sniff
from pipeline.registry import validate
from pipeline.run import PipelineResult
from pipeline.types import OcrLine
from pipeline.validate.types import ValidationResult
from pipeline.validate.vendors import find_purchase_order
from reviewapp import (
    audit,
    broadcast,
    exports,
    line_items,
    permissions,
    retention,
    review_reasons,
    routing,
    selectors,
    thresholds,
    training_data,
    vendor_memory,
    webhooks,
)
from reviewapp.models import (
    AuditEvent,
    Document,
    DocumentValidation,
    Field,
    Page,
    ProcessingRun,
    PurchaseOrder,
    SensitiveReveal,
    TextLine,
    ValidationIssue,
    Vendor,
)

logger = logging.getLogger(__name__)
EventType = AuditEvent.EventType

PROCESS_JOB = "reviewapp.jobs.process_document"


class IngestRefused(Exception):
    """The file was refused at the door; `reason` is for the person who sent it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class IngestResult:
    document: Document
    duplicate: bool  # True: this exact file was already here; nothing new stored


def decode_limits(*, use_text_layer: bool = True) -> DecodeLimits:
    return DecodeLimits(
        max_pages=settings.VOUCH_MAX_PAGES,
        max_pixels=settings.VOUCH_MAX_PIXELS,
        use_text_layer=use_text_layer,
    )


def document_ingest(
    *,
    content: bytes,
    original_name: str,
    channel: str,
    uploaded_by: AbstractBaseUser | None,
) -> IngestResult:
    """Store a file and queue it for processing, or say why it was refused.

    Cheap checks happen here (size, type by content, image pixel count); PDFs
    are parsed only in the worker. The same bytes sent twice are recognised by
    SHA-256 and return the first document with `duplicate=True`.
    Raises IngestRefused.
    """
    name = (original_name or "unnamed").replace("\x00", "")[-255:]
    if not content:
        raise IngestRefused(f"{name} is empty")
    limit = settings.VOUCH_MAX_UPLOAD_BYTES
    if len(content) > limit:
        raise IngestRefused(
            f"{name} is {len(content) / 1048576:.1f} MB; "
            f"the limit is {limit / 1048576:.0f} MB"
        )
    file_type = sniff(content[:SNIFF_BYTES])
    if file_type is None:
        raise IngestRefused(
            f"{name} is not a file Vouch can read: send {describe_accepted()}"
        )
    if file_type is not PDF:
        try:
            read_image_header(content, decode_limits())
        except UnreadableDocument as refusal:
            raise IngestRefused(f"{name}: {refusal.reason}") from None

    sha256 = hashlib.sha256(content).hexdigest()
    existing = Document.objects.filter(sha256=sha256).first()
    if existing is not None:
        return IngestResult(document=existing, duplicate=True)
    try:
        with transaction.atomic():
            document = Document(
                original_name=name,
                sha256=sha256,
                content_type=file_type.content_type,
                size_bytes=len(content),
                channel=channel,
                uploaded_by=uploaded_by,
            )
            document.original.save(
                f"original{file_type.extension}", ContentFile(content), save=False
            )
            document.save()
            retention.document_set_retention(document=document)
            _enqueue_processing(document)
            broadcast.document_changed(document)
            audit.record_event(
                EventType.DOCUMENT_INGESTED,
                actor=uploaded_by,
                document=document,
                details={
                    "channel": channel,
                    "original_name": name,
                    "sha256": sha256,
                    "size_bytes": len(content),
                    "content_type": file_type.content_type,
                },
            )
    except IntegrityError:
        # Two uploads of the same bytes raced; the other one won.
        document.original.delete(save=False)
        return IngestResult(Document.objects.get(sha256=sha256), duplicate=True)
    logger.info("ingested %s via %s as %s", name, channel, document.public_id)
    return IngestResult(document=document, duplicate=False)


def _enqueue_processing(document: Document) -> None:
    # django-rq's on_db_commit mode sends this only when the transaction commits,
    # so a worker never looks for a row that does not exist yet.
    django_rq.get_queue("default").enqueue(
        PROCESS_JOB,
        document.pk,
        job_timeout=settings.VOUCH_JOB_TIMEOUT,
        retry=Retry(
            max=settings.VOUCH_JOB_MAX_ATTEMPTS - 1,
            interval=settings.VOUCH_JOB_RETRY_DELAYS,
        ),
        description=f"process document {document.public_id}",
    )


def document_claim_for_processing(
    *, document_id: int, job_id: str, worker: str
) -> ProcessingRun | None:
    """Move a queued document to processing and open a run for this attempt.

    Returns None when the document is not queued (another worker has it, it is
    finished, or it no longer exists): the caller then has nothing to do.
    """
    with transaction.atomic():
        claimed = Document.objects.filter(
            pk=document_id, status=Document.Status.QUEUED
        ).update(
            status=Document.Status.PROCESSING,
            attempts=F("attempts") + 1,
            status_changed_at=timezone.now(),
        )
        if claimed != 1:
            return None
        document = Document.objects.get(pk=document_id)
        run = ProcessingRun.objects.create(
            document=document, attempt=document.attempts, job_id=job_id, worker=worker
        )
        broadcast.document_changed(document)
        audit.record_event(
            EventType.JOB_STARTED,
            document=document,
            details={"attempt": run.attempt, "job_id": job_id, "worker": worker},
            request_id=job_id,
        )
    return run


def run_stage_started(*, run: ProcessingRun, stage: str) -> None:
    """Record which stage a run is in, for the status page and for stale checks."""
    ProcessingRun.objects.filter(pk=run.pk).update(
        stage_seconds={**run.stage_seconds, "current": stage}
    )


def document_record_result(*, run: ProcessingRun, result: PipelineResult) -> Document:
    """Store pages, text and fields from a successful run; the document is ready.

    Machine values are replaced; a field a person has set keeps its value, and
    only its machine_* columns learn what the machine now thinks.
    """
    with transaction.atomic():
        document = Document.objects.select_for_update().get(pk=run.document_id)
        pages_by_number = _store_pages(document, result)
        _store_fields(document, result, pages_by_number)
        _store_classification(document, result)
        line_items.line_items_store(
            document=document, lines=result.line_items, pages=pages_by_number
        )
        # In the same transaction: a ready document always has its checks.
        document_validate(document=document)
        document_refresh_review_columns(document=document)
        now = timezone.now()
        document.status = Document.Status.READY
        document.page_count = len(result.pages)
        document.failure_reason = ""
        document.processed_at = now
        document.status_changed_at = now
        document.save(
            update_fields=[
                "status",
                "page_count",
                "failure_reason",
                "processed_at",
                "status_changed_at",
            ]
        )
        route = _route(document, now=now)
        run.outcome = ProcessingRun.Outcome.SUCCEEDED
        run.ocr_engine = result.ocr_engine[:100]
        run.extractor = result.extractor[:100]
        run.stage_seconds = result.stage_seconds
        run.finished_at = now
        run.save()
        broadcast.document_changed(document)
        audit.record_event(
            EventType.JOB_FINISHED,
            document=document,
            details={
                "attempt": run.attempt,
                "job_id": run.job_id,
                "ocr_engine": run.ocr_engine,
                "extractor": run.extractor,
                "pages": document.page_count,
                # Names and confidences only: values are on the document, and
                # some (IBAN) must not be copied into the trail in clear.
                "field_confidence": {
                    value.name: value.confidence for value in result.extraction.fields
                },
            },
            request_id=run.job_id,
        )
        if route.destination == routing.APPROVE:
            audit.record_event(
                EventType.DOCUMENT_APPROVED,
                document=document,
                details={"straight_through": True, "why": route.explanation},
                request_id=run.job_id,
            )
        elif route.destination == routing.SUPERVISORS:
            audit.record_event(
                EventType.DOCUMENT_ESCALATED,
                document=document,
                details={
                    "reason": route.escalation_reason,
                    "note": route.explanation,
                    "by_routing": True,
                },
                request_id=run.job_id,
            )
    return document


def _route(document: Document, *, now: datetime) -> routing.Route:
    """Apply routing.route_for to a document just read (it is ready): approve
    it straight through, leave it for the clerks, or escalate it to the
    supervisors with the failing check as the reason (escalated_by empty: the
    routing did it, so any supervisor may decide)."""
    validation_row = DocumentValidation.objects.get(document=document)
    route = routing.route_for(
        document_type=validation_row.document_type,
        fields=document.fields.values_list("name", "value", "confidence"),
        issues=document.validation_issues.order_by("id"),
        flag_below=thresholds.review_thresholds(),
        straight_through_types=settings.VOUCH_STRAIGHT_THROUGH_DOCUMENT_TYPES,
        straight_through_max_amount=Decimal(settings.VOUCH_STRAIGHT_THROUGH_MAX_AMOUNT),
        document_type_sure=not selectors.document_type_unsure(document),
    )
    if route.destination == routing.APPROVE:
        document.status = Document.Status.APPROVED
        document.straight_through = True
        document.decided_by = None
        document.decided_at = now
        document.decision_note = f"Approved straight through: {route.explanation}."
        document.save(
            update_fields=[
                "status",
                "straight_through",
                "decided_by",
                "decided_at",
                "decision_note",
            ]
        )
        _publish_approved(document)
    elif route.destination == routing.SUPERVISORS:
        document.status = Document.Status.ESCALATED
        document.escalation_reason = route.escalation_reason
        document.escalation_note = route.explanation
        document.escalated_by = None
        document.escalated_at = now
        document.save(
            update_fields=[
                "status",
                "escalation_reason",
                "escalation_note",
                "escalated_by",
                "escalated_at",
            ]
        )
    logger.info(
        "routed %s to %s: %s", document.public_id, route.destination, route.explanation
    )
    return route


def _publish_approved(document: Document) -> None:
    # Inside the approving transaction: the delivery rows roll back with it, and
    # the jobs are enqueued only on commit (webhooks_publish).
    payload = exports.as_json(selectors.export_for(document, user=None))
    webhooks.webhooks_publish(event="document.approved", payload=payload)


def _store_classification(document: Document, result: PipelineResult) -> None:
    found = result.classification
    if found is None:
        return
    document.document_type = found.document_type
    document.document_type_confidence = round(found.confidence, 4)
    document.document_type_evidence = "; ".join(found.evidence)
    document.save(
        update_fields=[
            "document_type",
            "document_type_confidence",
            "document_type_evidence",
        ]
    )
    retention.document_set_retention(document=document)


def _store_pages(document: Document, result: PipelineResult) -> dict[int, Page]:
    existing = {page.number: page for page in document.pages.all()}
    pages: dict[int, Page] = {}
    for processed in result.pages:
        image = processed.image
        page = existing.pop(image.number, None) or Page(
            document=document, number=image.number
        )
        if page.image:
            page.image.delete(save=False)
        page.width, page.height, page.dpi = image.width, image.height, image.dpi
        page.text_source = processed.text.source
        page.image.save("page.jpg", ContentFile(image.image_bytes), save=False)
        page.save()
        page.lines.all().delete()
        page_lines_store(page=page, lines=processed.text.lines)
        pages[image.number] = page
    for stale_page in existing.values():  # the document now has fewer pages
        stale_page.image.delete(save=False)
        stale_page.delete()
    return pages


def page_lines_store(*, page: Page, lines: Sequence[OcrLine]) -> None:
    """Store a page's text lines in reading order, with their boxes."""
    TextLine.objects.bulk_create(
        TextLine(
            page=page,
            order=order,
            text=line.text,
            confidence=line.confidence,
            polygon=[list(point) for point in line.polygon],
            x0=line.box[0],
            y0=line.box[1],
            x1=line.box[2],
            y1=line.box[3],
        )
        for order, line in enumerate(lines)
    )


def _store_fields(
    document: Document, result: PipelineResult, pages: dict[int, Page]
) -> None:
    current = {field.name: field for field in document.fields.all()}
    extracted = {value.name: value for value in result.extraction.fields}
    for name, field in current.items():
        if name not in extracted and field.set_by == Field.SetBy.MACHINE:
            field.delete()
        elif name not in extracted:
            field.machine_value, field.machine_confidence = "", None
            field.save(update_fields=["machine_value", "machine_confidence"])
    for name, value in extracted.items():
        field = current.get(name) or Field(document=document, name=name)
        field.machine_value = value.value
        field.machine_confidence = value.confidence
        if field.set_by == Field.SetBy.MACHINE:
            field.raw_value = value.raw_value
            field.value = value.value
            field.confidence = value.confidence
            field.page = pages.get(value.page_number) if value.page_number else None
            field.box = list(value.box) if value.box else None
            field.explanation = value.explanation
        field.save()


def document_refresh_review_columns(*, document: Document) -> None:
    """Copy the vendor, the review reason and the document confidence from the
    document's fields onto it. Call after any change to its fields (the queues
    read these columns)."""
    fields = list(document.fields.values_list("name", "value", "confidence"))
    vendor = next((value for name, value, _ in fields if name == "vendor_name"), "")
    Document.objects.filter(pk=document.pk).update(
        vendor_name=vendor[:255],
        confidence=review_reasons.document_confidence(fields),
        review_reason=review_reasons.reason_for(
            fields,
            flag_below=thresholds.review_thresholds(),
            type_unsure=selectors.document_type_unsure(document),
        ),
    )


def document_record_failure(
    *, run: ProcessingRun, reason: str, error: str = "", retry: bool = False
) -> Document:
    """Close a failed run. With `retry` and attempts left, the document goes back
    to queued for the job's retry; otherwise it is failed with `reason`, which
    the uploader sees."""
    with transaction.atomic():
        document = Document.objects.select_for_update().get(pk=run.document_id)
        will_retry = retry and document.attempts < settings.VOUCH_JOB_MAX_ATTEMPTS
        document.status = (
            Document.Status.QUEUED if will_retry else Document.Status.FAILED
        )
        document.failure_reason = (
            f"{reason} (attempt {document.attempts}; retrying)"
            if will_retry
            else reason
        )
        document.status_changed_at = timezone.now()
        document.save(update_fields=["status", "failure_reason", "status_changed_at"])
        run.outcome = ProcessingRun.Outcome.FAILED
        run.error = error or reason
        run.finished_at = timezone.now()
        run.save(update_fields=["outcome", "error", "finished_at"])
        broadcast.document_changed(document)
        audit.record_event(
            EventType.JOB_FAILED,
            document=document,
            details={
                "attempt": run.attempt,
                "job_id": run.job_id,
                "reason": reason,
                "will_retry": will_retry,
            },
            request_id=run.job_id,
        )
    return document


def document_retry(*, document: Document, user: AbstractBaseUser | None = None) -> bool:
    """Queue a failed document again (`user` pressed "retry").

    Returns False when the document is not failed (someone else retried it).
    """
    with transaction.atomic():
        updated = Document.objects.filter(
            pk=document.pk, status=Document.Status.FAILED
        ).update(
            status=Document.Status.QUEUED,
            attempts=0,
            failure_reason="",
            status_changed_at=timezone.now(),
        )
        if updated != 1:
            return False
        failure_reason = document.failure_reason
        document.refresh_from_db()
        _enqueue_processing(document)
        broadcast.document_changed(document)
        audit.record_event(
            EventType.DOCUMENT_RETRY,
            actor=user,
            document=document,
            details={"failure_reason": failure_reason},
        )
    return True


def document_reprocess(
    *, document: Document, user: AbstractBaseUser | None = None
) -> bool:
    """Read a document waiting for review again (e.g. after an engine upgrade;
    `user` asked, or None for a command). Human corrections survive; machine
    values are replaced; a claim is dropped (the document comes back to the
    queue). Returns False when the document is not ready or claimed
    (processing, or already decided)."""
    with transaction.atomic():
        updated = Document.objects.filter(
            pk=document.pk,
            status__in=[Document.Status.READY, Document.Status.CLAIMED],
        ).update(
            status=Document.Status.QUEUED,
            attempts=0,
            claimed_by=None,
            claim_expires_at=None,
            status_changed_at=timezone.now(),
        )
        if updated != 1:
            return False
        document.refresh_from_db()
        _enqueue_processing(document)
        broadcast.document_changed(document)
        audit.record_event(EventType.DOCUMENT_REPROCESS, actor=user, document=document)
    return True


def documents_requeue_stale(*, older_than: timedelta | None = None) -> list[Document]:
    """Re-enqueue documents stuck in queued or processing (a lost job or a dead
    worker). Safe to run repeatedly: each document is requeued only once per
    staleness period, and a duplicate job finds nothing to claim."""
    age = older_than or timedelta(seconds=settings.VOUCH_STALE_AFTER_SECONDS)
    cutoff = timezone.now() - age
    requeued = []
    stuck = Document.objects.filter(
        status__in=[Document.Status.QUEUED, Document.Status.PROCESSING],
        status_changed_at__lt=cutoff,
    )
    for document in stuck:
        with transaction.atomic():
            updated = Document.objects.filter(
                pk=document.pk,
                status=document.status,
                status_changed_at=document.status_changed_at,
            ).update(status=Document.Status.QUEUED, status_changed_at=timezone.now())
            if updated != 1:
                continue
            ProcessingRun.objects.filter(
                document=document, outcome=ProcessingRun.Outcome.RUNNING
            ).update(
                outcome=ProcessingRun.Outcome.FAILED,
                error="abandoned: the worker stopped before finishing",
                finished_at=timezone.now(),
            )
            stuck_status = document.status
            document.refresh_from_db()
            _enqueue_processing(document)
            broadcast.document_changed(document)
            audit.record_event(
                EventType.DOCUMENT_REQUEUED,
                document=document,
                details={
                    "stuck_in": stuck_status,
                    "stale_after_seconds": int(age.total_seconds()),
                },
            )
        requeued.append(document)
    return requeued


class ReviewRefused(Exception):
    """A review action is not allowed now; `reason` is for the person who tried
    (someone else holds the claim, the document was approved meanwhile, ...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _why_not(document_id: int, user: AbstractBaseUser, action: str) -> ReviewRefused:
    """Explain a refused action from the document as it is now."""
    document = Document.objects.select_related("claimed_by").get(pk=document_id)
    if document.claim_is_live(timezone.now()) and document.claimed_by_id != user.pk:
        holder = document.claimed_by.get_username() if document.claimed_by else "?"
        until = timezone.localtime(document.claim_expires_at).strftime("%H:%M")
        return ReviewRefused(
            f"{document.original_name} is being reviewed by {holder} "
            f"(claimed until {until}); you cannot {action} it."
        )
    if document.status in (Document.Status.READY, Document.Status.CLAIMED):
        return ReviewRefused(
            f"Claim {document.original_name} first; then you can {action} it."
        )
    return ReviewRefused(
        f"{document.original_name} is {document.get_status_display().lower()}; "
        f"you cannot {action} it."
    )


def _require(user: AbstractBaseUser, permission: str, action: str) -> None:
    if not user.has_perm(permission):
        raise ReviewRefused(f"Your role does not allow you to {action} documents.")


def _claim_update(document_id: int, user: AbstractBaseUser) -> int:
    # One conditional UPDATE: of two reviewers claiming at once, exactly one
    # matches the row; an expired claim is free for anyone to take.
    now = timezone.now()
    takeable = (
        Q(status=Document.Status.READY)
        | Q(status=Document.Status.CLAIMED, claimed_by=user)
        | Q(status=Document.Status.CLAIMED, claim_expires_at__lte=now)
        | Q(status=Document.Status.CLAIMED, claim_expires_at__isnull=True)
    )
    return Document.objects.filter(takeable, pk=document_id).update(
        status=Document.Status.CLAIMED,
        claimed_by=user,
        claim_expires_at=now + timedelta(minutes=settings.VOUCH_CLAIM_MINUTES),
        status_changed_at=now,
    )


def _changed(
    document: Document,
    user: AbstractBaseUser,
    event_type: str,
    details: dict[str, Any],
) -> None:
    """After a workflow step: reload, tell the pages, record it (inside the
    step's transaction, so a rolled-back step leaves no event)."""
    document.refresh_from_db()
    broadcast.document_changed(document)
    audit.record_event(event_type, actor=user, document=document, details=details)


def document_claim(*, document: Document, user: AbstractBaseUser) -> Document:
    """`user` takes the document for review until the claim expires
    (VOUCH_CLAIM_MINUTES); claiming one's own claim renews it.
    Raises ReviewRefused when someone else holds a live claim or it is not
    waiting for review."""
    _require(user, permissions.REVIEW, "claim")
    with transaction.atomic():
        if _claim_update(document.pk, user) != 1:
            raise _why_not(document.pk, user, "claim")
        _changed(
            document,
            user,
            EventType.DOCUMENT_CLAIMED,
            {
                "claim_expires_at": document.claim_expires_at.isoformat()
                if document.claim_expires_at
                else None
            },
        )
    return document


def document_release(*, document: Document, user: AbstractBaseUser) -> Document:
    """The claimant gives the document back to the queue.
    Raises ReviewRefused when `user` does not hold the claim."""
    with transaction.atomic():
        released = Document.objects.filter(
            pk=document.pk, status=Document.Status.CLAIMED, claimed_by=user
        ).update(
            status=Document.Status.READY,
            claimed_by=None,
            claim_expires_at=None,
            status_changed_at=timezone.now(),
        )
        if released != 1:
            raise _why_not(document.pk, user, "release")
        _changed(document, user, EventType.DOCUMENT_RELEASED, {})
    return document


def document_approve(*, document: Document, user: AbstractBaseUser) -> Document:
    """Approve: the claimant approves a claimed document, or a supervisor an
    escalated one that someone else escalated (four eyes).
    Raises ReviewRefused otherwise."""
    now = timezone.now()
    decided = {
        "status": Document.Status.APPROVED,
        "claimed_by": None,
        "claim_expires_at": None,
        "decided_by": user,
        "decided_at": now,
        "status_changed_at": now,
    }
    with transaction.atomic():
        current, holder = Document.objects.values_list("status", "claimed_by").get(
            pk=document.pk
        )
        if current == Document.Status.ESCALATED:
            _require(user, permissions.HANDLE_EXCEPTIONS, "approve escalated")
            _require_approver(document.pk, user, escalated=True)
            updated = (
                Document.objects.filter(pk=document.pk, status=current)
                .exclude(escalated_by=user)
                .update(**decided)
            )
            if updated != 1:
                raise _four_eyes_or_why_not(document.pk, user, "approve")
        else:
            _require(user, permissions.REVIEW, "approve")
            if current == Document.Status.CLAIMED and holder == user.pk:
                _require_approver(document.pk, user, escalated=False)
            updated = Document.objects.filter(
                pk=document.pk, status=Document.Status.CLAIMED, claimed_by=user
            ).update(**decided)
            if updated != 1:
                raise _why_not(document.pk, user, "approve")
        document.refresh_from_db()
        _publish_approved(document)
        broadcast.document_changed(document)
        audit.record_event(
            EventType.DOCUMENT_APPROVED,
            actor=user,
            document=document,
            details={"was": current},
        )
    return document


def _require_approver(
    document_id: int, user: AbstractBaseUser, *, escalated: bool
) -> None:
    refusal = selectors.approval_refusal(document_id, user, escalated=escalated)
    if refusal:
        raise ReviewRefused(refusal)


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
            audit.record_event(
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
    audit.record_event(
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


def _four_eyes_or_why_not(
    document_id: int, user: AbstractBaseUser, action: str
) -> ReviewRefused:
    escalated_by = Document.objects.values_list("escalated_by", flat=True).get(
        pk=document_id
    )
    if escalated_by == user.pk:
        return ReviewRefused(
            f"You escalated this document yourself: another supervisor must "
            f"{action} it."
        )
    return _why_not(document_id, user, action)


def document_escalate(
    *, document: Document, user: AbstractBaseUser, reason: str, note: str
) -> Document:
    """The claimant hands the document to the supervisors' exception queue
    with a reason code (Document.EscalationReason) and a note ("other" needs
    one). Raises ReviewRefused without a claim or a valid reason."""
    note = note.strip()
    if reason not in Document.EscalationReason.values:
        raise ReviewRefused("Choose why you escalate this document.")
    if reason == Document.EscalationReason.OTHER and not note:
        raise ReviewRefused("Say in the note why you escalate this document.")
    now = timezone.now()
    with transaction.atomic():
        updated = Document.objects.filter(
            pk=document.pk, status=Document.Status.CLAIMED, claimed_by=user
        ).update(
            status=Document.Status.ESCALATED,
            claimed_by=None,
            claim_expires_at=None,
            escalation_reason=reason,
            escalation_note=note,
            escalated_by=user,
            escalated_at=now,
            status_changed_at=now,
        )
        if updated != 1:
            raise _why_not(document.pk, user, "escalate")
        _changed(
            document,
            user,
            EventType.DOCUMENT_ESCALATED,
            {"reason": reason, "note": note},
        )
    return document


def document_reject(
    *, document: Document, user: AbstractBaseUser, note: str
) -> Document:
    """A supervisor rejects an escalated document someone else escalated, and
    says why. Raises ReviewRefused otherwise."""
    _require(user, permissions.HANDLE_EXCEPTIONS, "reject")
    note = note.strip()
    if not note:
        raise ReviewRefused("Say why you reject this document.")
    now = timezone.now()
    with transaction.atomic():
        updated = (
            Document.objects.filter(pk=document.pk, status=Document.Status.ESCALATED)
            .exclude(escalated_by=user)
            .update(
                status=Document.Status.REJECTED,
                decided_by=user,
                decided_at=now,
                decision_note=note,
                status_changed_at=now,
            )
        )
        if updated != 1:
            raise _four_eyes_or_why_not(document.pk, user, "reject")
        _changed(document, user, EventType.DOCUMENT_REJECTED, {"note": note})
    return document


def documents_release_expired_claims() -> list[Document]:
    """Return documents whose claim expired to the queue, and say so live, so
    they reappear in everyone's queue. Safe to run repeatedly and alongside
    reviewers: a claim renewed or taken over meanwhile is left alone."""
    released = []
    expired = Document.objects.filter(
        status=Document.Status.CLAIMED, claim_expires_at__lte=timezone.now()
    )
    for document in expired:
        with transaction.atomic():
            updated = Document.objects.filter(
                pk=document.pk,
                status=Document.Status.CLAIMED,
                claimed_by=document.claimed_by_id,
                claim_expires_at=document.claim_expires_at,
            ).update(
                status=Document.Status.READY,
                claimed_by=None,
                claim_expires_at=None,
                status_changed_at=timezone.now(),
            )
            if updated != 1:
                continue
            document.refresh_from_db()
            broadcast.document_changed(document)
        released.append(document)
    return released


def _hold_for_editing(document: Document, user: AbstractBaseUser) -> None:
    """Make sure `user` may edit fields now: a supervisor deciding an exception,
    or the claimant. Editing a takeable document claims it (and renews one's
    own claim), so two people never correct the same document."""
    status = Document.objects.values_list("status", flat=True).get(pk=document.pk)
    if status == Document.Status.ESCALATED and user.has_perm(
        permissions.HANDLE_EXCEPTIONS
    ):
        return
    _require(user, permissions.REVIEW, "correct")
    if _claim_update(document.pk, user) != 1:
        raise _why_not(document.pk, user, "correct")


def document_hold_for_editing(*, document: Document, user: AbstractBaseUser) -> None:
    """`_hold_for_editing` for other edit services (line items). Raises
    ReviewRefused when `user` may not edit the document now."""
    _hold_for_editing(document, user)


def field_correct(
    *,
    document: Document,
    name: str,
    value: str,
    user: AbstractBaseUser,
    reason: str = "",
    evidence: training_data.CorrectionEvidence = training_data.TYPED,
) -> Field:
    """A person sets a field's value (already normalised, see
    `extraction_fields.normalise_human_value`). It is never overwritten by a later
    machine run; the machine's own value stays in machine_value. The change is
    audited with the old and new value (encrypted for sensitive fields), the
    machine's confidence, the person, their role and `reason`; `evidence` (the
    box the person took the value from) is kept as training data. When the
    vendor is known, where the value is printed (under the evidence box, if the
    person pointed at it) is remembered for the vendor's next documents
    (vendor_memory).

    Only the claimant (or a supervisor on an escalated document) may: editing
    an unclaimed document claims it. Raises ReviewRefused otherwise."""
    with transaction.atomic():
        _hold_for_editing(document, user)
        field, _ = Field.objects.select_for_update().get_or_create(
            document=document, name=name
        )
        old_value, old_set_by = field.value, field.set_by
        field.value = value
        field.raw_value = value
        field.set_by = Field.SetBy.HUMAN
        field.corrected_by = user  # type: ignore[assignment]
        field.corrected_at = timezone.now()
        field.confidence = 1.0
        field.save()
        training_data.correction_record(field=field, evidence=evidence, user=user)
        document_validate(document=document)
        document_refresh_review_columns(document=document)
        document.refresh_from_db()
        broadcast.document_changed(document)
        values = {"old_value": old_value, "new_value": value}
        sensitive = name in audit.SENSITIVE_FIELD_NAMES
        audit.record_event(
            EventType.FIELD_CHANGED,
            actor=user,
            document=document,
            details={
                "field": name,
                "machine_confidence": field.machine_confidence,
                "previously_set_by": old_set_by,
                "reason": reason,
                **({} if sensitive else values),
            },
            sensitive=values if sensitive else None,
        )
        vendor_memory.memory_learn_from_correction(
            field=field, user=user, box=evidence.box
        )
    return field


def document_validate(*, document: Document) -> ValidationResult:
    """Run the validation rules on the document's current field values and
    replace the previous run's ValidationIssue rows and DocumentValidation.

    Safe to run twice; a rule that raises propagates (and, inside
    `document_record_result`, fails the attempt) rather than leave a document
    looking clean without its checks.
    """
    with transaction.atomic():
        # One validation per document at a time: two corrections saved together
        # must not leave both runs' issues behind.
        Document.objects.select_for_update().filter(pk=document.pk).first()
        invoice = selectors.invoice_data_for(document)
        context = selectors.validation_context_for(
            invoice, document, today=timezone.localdate()
        )
        result = validate(
            invoice,
            context,
            enabled=selectors.enabled_rules_for(invoice.document_type),
        )
        match = result.vendor_match
        order = find_purchase_order(invoice, context)
        ValidationIssue.objects.filter(document=document).delete()
        ValidationIssue.objects.bulk_create(
            ValidationIssue(
                document=document,
                rule=issue.rule,
                code=issue.code,
                severity=issue.severity,
                fields=list(issue.fields),
                message=issue.message,
                details=dict(issue.details),
                needs_supervisor=issue.needs_supervisor,
            )
            for issue in result.issues
        )
        DocumentValidation.objects.update_or_create(
            document=document,
            defaults={
                "vendor": (
                    Vendor.objects.filter(public_id=match.vendor_id).first()
                    if match
                    else None
                ),
                "vendor_match_method": match.method if match else "",
                "vendor_match_confidence": match.confidence if match else None,
                "purchase_order": (
                    PurchaseOrder.objects.filter(number=order.number).first()
                    if order
                    else None
                ),
                "document_type": invoice.document_type,
                "image_fingerprint": (
                    f"{invoice.image_fingerprint:016x}"
                    if invoice.image_fingerprint is not None
                    else ""
                ),
                "rules_run": list(result.rules_run),
                "validated_at": timezone.now(),
            },
        )
    return result


def field_confirm(*, document: Document, name: str, user: AbstractBaseUser) -> Field:
    """A person confirms a field's value as read (it need not be shown to them:
    masked values too). It counts as a person's value from then on.
    Raises ReviewRefused when there is no value or `user` may not edit."""
    with transaction.atomic():
        _hold_for_editing(document, user)
        field = (
            Field.objects.select_for_update()
            .filter(document=document, name=name)
            .exclude(value="")
            .first()
        )
        if field is None:
            raise ReviewRefused("There is no value to confirm: type one instead.")
        field.set_by = Field.SetBy.HUMAN
        field.corrected_by = user  # type: ignore[assignment]
        field.corrected_at = timezone.now()
        field.confidence = 1.0
        field.save()
        document_refresh_review_columns(document=document)
        _changed(
            document,
            user,
            EventType.FIELD_CHANGED,
            {
                "field": name,
                "confirmed_as_read": True,
                "machine_confidence": field.machine_confidence,
            },
        )
    return field


def sensitive_value_reveal(
    *, document: Document, name: str, user: AbstractBaseUser, reason: str
) -> str:
    """Record that `user` sees field `name` of `document` in clear, and why;
    return the clear value (for this one answer only, never stored elsewhere).
    Raises ReviewRefused without the permission or a reason."""
    _require(user, permissions.REVEAL_SENSITIVE, "reveal values on")
    reason = reason.strip()
    if not reason:
        raise ReviewRefused("Say why you need to see this value.")
    field = Field.objects.filter(document=document, name=name).first()
    if field is None or not field.value:
        raise ReviewRefused("There is no value to reveal.")
    with transaction.atomic():
        SensitiveReveal.objects.create(
            document=document, field_name=name, user=user, reason=reason
        )
        audit.record_event(
            EventType.SENSITIVE_REVEALED,
            actor=user,
            document=document,
            details={"field": name, "reason": reason},
        )
    return field.value
