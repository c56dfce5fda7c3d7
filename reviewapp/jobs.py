"""RQ entry points. Each takes ids, reloads rows, runs the pipeline and hands the
result to a service; each is safe to run twice."""

from __future__ import annotations

import logging
import socket
import time
import traceback

from django.conf import settings
from django.contrib.auth import get_user_model
from rq import get_current_job
from rq.job import Job

from pipeline.errors import UnreadableDocument
from pipeline.ocr import ocr_engines
from pipeline.run import run_pipeline
from reviewapp import webhooks
from reviewapp.audit.trail import origin
from reviewapp.learning.extractor_versions import (
    extractor_for_processing,
    extractor_retrain,
)
from reviewapp.learning.vendor_memory import with_vendor_memory
from reviewapp.models.documents import ProcessingRun
from reviewapp.models.webhooks import WebhookDelivery
from reviewapp.services.ingest import decode_limits
from reviewapp.services.processing import (
    document_claim_for_processing,
    document_record_failure,
    document_record_result,
)

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
        worker=f"{socket.gethostname()}:{job.worker_name if job else 'inline'}",
    )
    if run is None:
        return "skipped: not queued (already taken, finished or deleted)"
    document = run.document
    try:
        with document.original.open("rb") as original:
            data = original.read()
        # ~0 in a DocumentWorker, which loads engines at start; recorded so a slow
        # first job shows where its time went.
        loading_started = time.perf_counter()
        ocr = ocr_engines.get(settings.VOUCH_OCR_ENGINE)
        extractor, version = extractor_for_processing()
        engine_seconds = round(time.perf_counter() - loading_started, 4)
        result = run_pipeline(
            data, ocr=ocr, extractor=extractor, limits=decode_limits()
        )
        result.stage_seconds["engine_load"] = engine_seconds
        # Second pass, once the first reading names the vendor: its memory.
        result = with_vendor_memory(result)
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
    document_record_result(run=run, result=result)
    if version is not None:
        ProcessingRun.objects.filter(pk=run.pk).update(extractor_version=version)
    return f"ready: {document.public_id}"


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

    def progress(message: str) -> None:
        if job is not None:
            job.meta["progress"] = message
            job.save_meta()

    actor = get_user_model().objects.filter(pk=requested_by_id).first()
    with origin(request_id=job.id if job else ""):
        outcome = extractor_retrain(actor=actor, progress=progress)
    version = outcome.version
    if not outcome.created:
        return f"unchanged: {version.label} was trained from the same data before"
    return f"{version.decision}: {version.label}"
