"""A document's trip through the pipeline: claim, store results, route, fail, retry."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import django_rq
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from pipeline.run import PipelineResult, ProcessedPage
from pipeline.types import OcrLine
from reviewapp import (
    broadcast,
    routing,
    thresholds,
)
from reviewapp.audit.trail import record_event
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document, Page, ProcessingRun, TextLine
from reviewapp.models.fields import Field
from reviewapp.models.validation import DocumentValidation
from reviewapp.runtime.live_jobs import document_ids_held_by_live_jobs
from reviewapp.selectors.documents import document_type_unsure
from reviewapp.services.ingest import document_enqueue_processing
from reviewapp.services.line_items import line_items_store
from reviewapp.services.retention import document_set_retention
from reviewapp.services.validation import (
    document_refresh_review_columns,
    document_validate,
)
from reviewapp.webhooks import document_publish_approved

logger = logging.getLogger(__name__)
EventType = AuditEvent.EventType


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
        record_event(
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
        if run_was_abandoned(run):
            return document
        pages_by_number = document_pages_store(document=document, pages=result.pages)
        _store_fields(document, result, pages_by_number)
        _store_classification(document, result)
        line_items_store(
            document=document, lines=result.line_items, pages=pages_by_number
        )
        # In the same transaction: a ready document always has its checks.
        document_validate(document=document, pages_just_read=True)
        document_refresh_review_columns(document=document)
        now = document_mark_read(
            document=document, status=Document.Status.READY, pages=len(result.pages)
        )
        route = _route(document, now=now)
        run.outcome = ProcessingRun.Outcome.SUCCEEDED
        run.ocr_engine = result.ocr_engine[:100]
        run.extractor = result.extractor[:100]
        run.stage_seconds = result.stage_seconds
        run.finished_at = now
        run.save()
        broadcast.document_changed(document)
        record_event(
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
            record_event(
                EventType.DOCUMENT_APPROVED,
                document=document,
                details={"straight_through": True, "why": route.explanation},
                request_id=run.job_id,
            )
        elif route.destination == routing.SUPERVISORS:
            record_event(
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


def document_mark_read(*, document: Document, status: str, pages: int) -> datetime:
    """Record that a document was read into `status` (ready for review, or a
    batch waiting for its split): its page count, no failure, and when.
    Returns that moment."""
    now = timezone.now()
    document.status = status
    document.page_count = pages
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
    return now


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
        document_type_sure=not document_type_unsure(document),
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
        document_publish_approved(document)
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
    document_set_retention(document=document)


def document_pages_store(
    *, document: Document, pages: Sequence[ProcessedPage]
) -> dict[int, Page]:
    """Store the page images and their text, replacing what the document had."""
    existing = {page.number: page for page in document.pages.all()}
    stored: dict[int, Page] = {}
    for processed in pages:
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
        stored[image.number] = page
    for stale_page in existing.values():  # the document now has fewer pages
        stale_page.image.delete(save=False)
        stale_page.delete()
    return stored


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


def document_record_failure(
    *, run: ProcessingRun, reason: str, error: str = "", retry: bool = False
) -> Document:
    """Close a failed run. With `retry` and attempts left, the document goes back
    to queued for the job's retry; otherwise it is failed with `reason`, which
    the uploader sees."""
    with transaction.atomic():
        document = Document.objects.select_for_update().get(pk=run.document_id)
        if run_was_abandoned(run):
            return document
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
        record_event(
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
        document_enqueue_processing(document)
        broadcast.document_changed(document)
        record_event(
            EventType.DOCUMENT_RETRY,
            actor=user,
            document=document,
            details={"failure_reason": failure_reason},
        )
    return True


@dataclass(frozen=True)
class RequeueOutcome:
    requeued: list[Document]
    skipped: int  # no longer failed (someone else requeued them meanwhile)


def failed_documents_requeue(
    *, document_ids: Iterable[int], actor: AbstractBaseUser
) -> RequeueOutcome:
    """Queue failed documents again, each audited as a retry by `actor`.
    Documents no longer failed (requeued meanwhile) are counted as skipped."""
    wanted = set(document_ids)
    requeued = [
        document
        for document in Document.objects.filter(
            pk__in=wanted, status=Document.Status.FAILED
        )
        if document_retry(document=document, user=actor)
    ]
    return RequeueOutcome(requeued=requeued, skipped=len(wanted) - len(requeued))


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
        document_enqueue_processing(document)
        broadcast.document_changed(document)
        record_event(EventType.DOCUMENT_REPROCESS, actor=user, document=document)
    return True


def run_was_abandoned(run: ProcessingRun) -> bool:
    """A run closed as abandoned (its document was requeued while it seemed
    dead) must not write: the document's new run owns it. Call under the
    document's row lock."""
    if ProcessingRun.objects.filter(
        pk=run.pk, outcome=ProcessingRun.Outcome.RUNNING
    ).exists():
        return False
    logger.warning(
        "run %s of document %s was abandoned; its result is dropped",
        run.pk,
        run.document_id,
    )
    return True


def documents_requeue_stale(*, older_than: timedelta | None = None) -> list[Document]:
    """Re-enqueue documents stuck in queued or processing (a lost job or a dead
    worker). Safe to run repeatedly: each document is requeued only once per
    staleness period, and a duplicate job finds nothing to claim."""
    age = older_than or timedelta(seconds=settings.VOUCH_STALE_AFTER_SECONDS)
    stuck = Document.objects.filter(
        status__in=[Document.Status.QUEUED, Document.Status.PROCESSING],
        status_changed_at__lt=timezone.now() - age,
    )
    details = {"stale_after_seconds": int(age.total_seconds())}
    return [
        document for document in stuck if _document_requeue(document, details=details)
    ]


# A document committed as queued has its job sent right after the commit
# (django-rq's on_db_commit); give that moment before calling it orphaned.
ORPHAN_GRACE = timedelta(seconds=5)


def documents_requeue_orphaned() -> list[Document]:
    """Enqueue again, at once, every document the database calls queued or
    processing that no live RQ job holds (its worker was killed, or Redis lost
    the job); see `reviewapp.live_jobs`. Run when a worker starts and by the
    housekeeping loop. Safe to run at any time and in several processes: each
    requeue is a conditional update, and a job for a document that is no longer
    queued finds nothing to claim."""
    queue = django_rq.get_queue("default")
    held = document_ids_held_by_live_jobs(queue)
    # Processing was claimed by a job already in the started registry: no grace.
    candidates = Document.objects.filter(
        Q(
            status=Document.Status.QUEUED,
            status_changed_at__lt=timezone.now() - ORPHAN_GRACE,
        )
        | Q(status=Document.Status.PROCESSING)
    ).exclude(pk__in=held)
    return [
        document
        for document in candidates
        if _document_requeue(document, details={"reason": "no live job held it"})
    ]


def _document_requeue(document: Document, *, details: dict[str, object]) -> bool:
    """Put one document back in the queue with a fresh job, unless it changed
    since it was read (someone else requeued or finished it). Its running
    attempt, if any, is closed as abandoned."""
    with transaction.atomic():
        updated = Document.objects.filter(
            pk=document.pk,
            status=document.status,
            status_changed_at=document.status_changed_at,
        ).update(status=Document.Status.QUEUED, status_changed_at=timezone.now())
        if updated != 1:
            return False
        ProcessingRun.objects.filter(
            document=document, outcome=ProcessingRun.Outcome.RUNNING
        ).update(
            outcome=ProcessingRun.Outcome.FAILED,
            error="abandoned: the worker stopped before finishing",
            finished_at=timezone.now(),
        )
        stuck_status = document.status
        document.refresh_from_db()
        document_enqueue_processing(document)
        broadcast.document_changed(document)
        record_event(
            EventType.DOCUMENT_REQUEUED,
            document=document,
            details={"stuck_in": stuck_status, **details},
        )
    return True
