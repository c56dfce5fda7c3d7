"""RQ entry points. Each takes ids, reloads rows, runs the pipeline and hands the
result to a service; each is safe to run twice."""

from __future__ import annotations

import logging
import socket
import time
import traceback
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from rq import get_current_job
from rq.job import Job

from pipeline.einvoice import embedded_xml
from pipeline.errors import UnreadableDocument
from pipeline.filetypes import SNIFF_BYTES, XML, sniff
from pipeline.ocr import ocr_engines
from pipeline.run import (
    PipelineResult,
    ProcessedPage,
    finish_pipeline,
    prepare_document,
    read_page,
)
from pipeline.splitting import propose_split
from reviewapp import webhooks
from reviewapp.audit.trail import origin
from reviewapp.learning.extractor_versions import (
    extractor_for_processing,
    extractor_retrain,
)
from reviewapp.learning.vendor_memory import (
    document_memory_notes_store,
    with_vendor_memory,
)
from reviewapp.models.documents import Document, PageReading, ProcessingRun
from reviewapp.models.learning import ExtractorVersion
from reviewapp.models.webhooks import WebhookDelivery
from reviewapp.selectors.splitting import split_settled, stored_pages_for_reading
from reviewapp.selectors.validation import evidence_context_for
from reviewapp.services.ingest import decode_limits, document_enqueue_processing
from reviewapp.services.page_jobs import (
    page_prepared,
    page_reading_store,
    run_claim_assembly,
    run_is_running,
    run_pages_close,
    run_read_pages,
    run_split_into_pages,
    run_wants_page_jobs,
)
from reviewapp.services.processing import (
    document_claim_for_processing,
    document_record_failure,
    document_record_result,
)
from reviewapp.services.splitting import batch_hold_for_split

logger = logging.getLogger(__name__)


def process_document(document_id: int) -> str:
    """Read one document end to end.

    Returns what happened, for the job's result. Unreadable input fails the
    document with its reason and the job succeeds (retrying cannot help); any
    other error fails this attempt, requeues the document while attempts remain,
    and re-raises so RQ's retry policy schedules the next attempt.
    """
    job = get_current_job()
    # Audit events of this job carry its id where a request would carry its own.
    with origin(request_id=job.id if job else ""):
        return _process_document(document_id, job)


def _process_document(document_id: int, job: Job | None) -> str:
    run = document_claim_for_processing(
        document_id=document_id,
        job_id=job.id if job else "",
        worker=_worker_name(job),
    )
    if run is None:
        return "skipped: not queued (already taken, finished or deleted)"
    document = run.document
    try:
        with document.original.open("rb") as original:
            data = original.read()
        limits = decode_limits()
        # A part of a batch: its pages were read with the batch, not again.
        stored = stored_pages_for_reading(document)
        prepared = None if stored is not None else prepare_document(data, limits=limits)
        if prepared is not None and run_wants_page_jobs(prepared):
            pages = run_split_into_pages(run=run, prepared=prepared)
            return f"reading {pages} pages as separate jobs: {document.public_id}"
        # ~0 in a DocumentWorker, which loads engines at start; recorded so a slow
        # first job shows where its time went.
        loading_started = time.perf_counter()
        ocr = ocr_engines.get(settings.VOUCH_OCR_ENGINE)
        extractor, version = extractor_for_processing()
        engine_seconds = round(time.perf_counter() - loading_started, 4)
        if prepared is not None:
            seconds = dict(prepared.seconds)
            text_started = time.perf_counter()
            pages_read = tuple(read_page(done, ocr) for done in prepared.pages)
            seconds["text"] = round(time.perf_counter() - text_started, 4)
            if _held_as_batch(run, data, pages_read, seconds):
                return f"split to confirm: {document.public_id}"
        else:
            pages_read, seconds = stored or (), {"text": 0.0}
        result = finish_pipeline(
            data,
            pages_read,
            ocr_engine=f"{ocr.name} {ocr.version}",
            extractor=extractor,
            limits=limits,
            evidence_context=evidence_context_for(document),
            seconds=seconds,
        )
        result.stage_seconds["engine_load"] = engine_seconds
        # Second pass, once the first reading names the vendor: its memory.
        result, memory_notes = with_vendor_memory(result)
    except UnreadableDocument as unreadable:
        document_record_failure(run=run, reason=unreadable.reason)
        return f"failed: {unreadable.reason}"
    except Exception as error:
        logger.exception("processing %s failed", document.public_id)
        document_record_failure(
            run=run,
            reason=_plain_reason(error),
            error=traceback.format_exc(),
            retry=True,
        )
        raise
    _record(run, result, memory_notes, version)
    return f"ready: {document.public_id}"


def read_document_page(document_id: int, run_id: int, page_number: int) -> str:
    """Read one page of a document split into page jobs; the job that reads
    the last page assembles the document (see services.page_jobs).

    Safe to run twice: a page read again replaces its text, and a run that is
    no longer running (assembled, failed or abandoned) is left alone. A failure
    fails the run; with attempts left the document is queued again whole."""
    job = get_current_job()
    with origin(request_id=job.id if job else ""):
        return _read_document_page(document_id, run_id, page_number, job)


def _read_document_page(
    document_id: int, run_id: int, page_number: int, job: Job | None
) -> str:
    if not run_is_running(run_id):
        return f"skipped: run {run_id} of document {document_id} is not running"
    run = ProcessingRun.objects.select_related("document").get(pk=run_id)
    reading = PageReading.objects.get(run=run, number=page_number)
    try:
        processed = read_page(
            page_prepared(reading), ocr_engines.get(settings.VOUCH_OCR_ENGINE)
        )
        page_reading_store(
            reading=reading, processed=processed, worker=_worker_name(job)
        )
        if not run_claim_assembly(run_id=run_id):
            return f"read page {page_number} of document {document_id}"
        extractor, version = extractor_for_processing()
        with run.document.original.open("rb") as original:
            data = original.read()
        pages = run_read_pages(run=run)
        seconds = {
            **{k: v for k, v in run.stage_seconds.items() if k != "current"},
            "text": round(sum(page.text_seconds for page in pages), 4),
        }
        if _held_as_batch(run, data, pages, seconds):
            run_pages_close(run_id=run_id)
            return f"split to confirm: {run.document.public_id}"
        result = finish_pipeline(
            data,
            pages,
            ocr_engine=_engine_name(),
            extractor=extractor,
            limits=decode_limits(),
            evidence_context=evidence_context_for(run.document),
            seconds=seconds,
        )
        result, memory_notes = with_vendor_memory(result)
    except UnreadableDocument as unreadable:
        document_record_failure(run=run, reason=unreadable.reason)
        run_pages_close(run_id=run_id)
        return f"failed: {unreadable.reason}"
    except Exception as error:
        logger.exception(
            "reading page %s of %s failed", page_number, run.document.public_id
        )
        document = document_record_failure(
            run=run,
            reason=_plain_reason(error),
            error=traceback.format_exc(),
            retry=True,
        )
        run_pages_close(run_id=run_id)
        if document.status == Document.Status.QUEUED:
            # The processing job that split it has finished: its retry policy
            # cannot bring it back, so the next attempt is enqueued here.
            document_enqueue_processing(document)
        return f"failed: {_plain_reason(error)}"
    _record(run, result, memory_notes, version)
    run_pages_close(run_id=run_id)
    return f"ready: {run.document.public_id} ({len(pages)} pages)"


def _held_as_batch(
    run: ProcessingRun,
    data: bytes,
    pages: tuple[ProcessedPage, ...],
    seconds: dict[str, float],
) -> bool:
    """Ask the splitter whether a multi-page file holds several documents;
    if so, hold it (services.splitting) and say True. A part of a batch, or
    a batch already confirmed, is never split again; an e-invoice (its own
    XML, or a PDF carrying one) is one document by its own declaration."""
    document = run.document
    if len(pages) < 2 or split_settled(document):
        return False
    if sniff(data[:SNIFF_BYTES]) is XML or embedded_xml(data) is not None:
        return False
    started = time.perf_counter()
    proposal = propose_split([page.text for page in pages])
    seconds["split"] = round(time.perf_counter() - started, 4)
    if len(proposal.parts) < 2:
        return False
    seconds["total"] = round(sum(v for k, v in seconds.items() if k != "total"), 4)
    batch_hold_for_split(
        run=run,
        pages=pages,
        proposal=proposal,
        ocr_engine=_engine_name(),
        stage_seconds=seconds,
    )
    return True


def _engine_name() -> str:
    ocr = ocr_engines.get(settings.VOUCH_OCR_ENGINE)
    return f"{ocr.name} {ocr.version}"


def _record(
    run: ProcessingRun,
    result: PipelineResult,
    memory_notes: list[dict[str, Any]],
    version: ExtractorVersion | None,
) -> None:
    document_record_result(run=run, result=result)
    document_memory_notes_store(document_id=run.document_id, notes=memory_notes)
    if version is not None:
        ProcessingRun.objects.filter(pk=run.pk).update(extractor_version=version)


def _worker_name(job: Job | None) -> str:
    return f"{socket.gethostname()}:{job.worker_name if job else 'inline'}"


def _plain_reason(error: Exception) -> str:
    if isinstance(error, FileNotFoundError):
        return "the stored original is missing; ask an administrator to restore it"
    if error.__class__.__name__ == "JobTimeoutException":
        return "processing took too long and was stopped"
    return "Vouch could not process this document because of an internal error"


def deliver_webhook(delivery_id: int) -> str:
    """Send one webhook delivery; raises while it fails so RQ retries with backoff."""
    delivery = (
        WebhookDelivery.objects.select_related("endpoint")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None:
        return "skipped: delivery no longer exists"
    if delivery.status != WebhookDelivery.Status.PENDING:
        return f"skipped: already {delivery.status}"
    attempt = webhooks.delivery_attempt(delivery=delivery)
    if attempt.succeeded:
        return f"delivered: HTTP {attempt.status_code}"
    if delivery.status == WebhookDelivery.Status.FAILED:
        return f"gave up after {delivery.attempts} attempts: {attempt.error}"
    raise webhooks.DeliveryFailed(attempt.error)


def retrain_extractor(requested_by_id: int | None) -> str:
    """Train a candidate extractor and let the gate decide (see
    extractor_versions.extractor_retrain); progress goes to the job's meta
    for the admin page to poll. Safe to run twice: the same data trains the
    same model, which is then found already recorded."""
    job = get_current_job()

    started = time.time()

    def progress(message: str, percent: int) -> None:
        if job is not None:
            job.meta.update(progress=message, percent=percent, started=started)
            job.save_meta()

    actor = get_user_model().objects.filter(pk=requested_by_id).first()
    with origin(request_id=job.id if job else ""):
        outcome = extractor_retrain(actor=actor, progress=progress)
    version = outcome.version
    if not outcome.created:
        return f"unchanged: {version.label} was trained from the same data before"
    return f"{version.decision}: {version.label}"
