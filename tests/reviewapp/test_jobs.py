"""The processing job, called directly: outcomes, idempotency, failures, retries."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from pipeline.ocr.recorded import RecordedOcrEngine
from reviewapp import jobs
from reviewapp.models.documents import Document, ProcessingRun
from reviewapp.models.fields import Field
from reviewapp.services.fields import field_correct
from reviewapp.services.ingest import document_ingest
from reviewapp.services.processing import (
    document_claim_for_processing,
    document_reprocess,
    document_retry,
    documents_requeue_stale,
)
from tests.conftest import recorded_line

pytestmark = pytest.mark.django_db


def ingested(content: bytes, user: User | None = None) -> Document:
    return document_ingest(
        content=content, original_name="invoice.png", channel="upload", uploaded_by=user
    ).document


def test_a_run_stores_pages_lines_fields_and_timings(
    clerk: User, media_root: Path, invoice_png: bytes
) -> None:
    document = ingested(invoice_png, clerk)
    assert jobs.process_document(document.pk).startswith("ready")
    document.refresh_from_db()
    assert document.status == Document.Status.READY
    assert document.page_count == 1 and document.attempts == 1
    page = document.pages.get()
    assert (page.width, page.height, page.text_source) == (800, 600, "ocr")
    assert Path(page.image.path).is_file()
    assert page.lines.count() == 6
    total = document.fields.get(name="total_amount")
    assert (total.value, total.set_by) == ("120.50", Field.SetBy.MACHINE)
    assert total.page == page and total.box == [40, 400, 420, 430]
    assert 0 < total.confidence <= 1
    run = document.runs.get()
    assert run.outcome == ProcessingRun.Outcome.SUCCEEDED
    assert set(run.stage_seconds) >= {"decode", "text", "extract", "total"}
    assert run.ocr_engine.startswith("recorded")


def test_a_second_job_for_the_same_document_does_nothing(
    media_root: Path, invoice_png: bytes
) -> None:
    document = ingested(invoice_png)
    jobs.process_document(document.pk)
    assert jobs.process_document(document.pk).startswith("skipped")
    assert document.runs.count() == 1
    assert jobs.process_document(999_999).startswith("skipped")


def test_reprocessing_replaces_machine_values_but_never_human_ones(
    clerk: User, media_root: Path, invoice_png: bytes
) -> None:
    document = ingested(invoice_png, clerk)
    jobs.process_document(document.pk)
    field_correct(document=document, name="total_amount", value="99.00", user=clerk)
    # The engine now reads different text on the same page.
    RecordedOcrEngine.record(
        800,
        600,
        (
            recorded_line("OTHER VENDOR LTD", (40, 40, 300, 80)),
            recorded_line("Invoice No: INV-2002", (40, 100, 420, 130)),
            recorded_line("Total EUR 130,00", (40, 400, 420, 430)),
        ),
    )
    assert document_reprocess(document=document)
    jobs.process_document(document.pk)

    fields = {field.name: field for field in document.fields.all()}
    total = fields["total_amount"]
    assert (total.value, total.set_by, total.corrected_by) == ("99.00", "human", clerk)
    assert total.machine_value == "130.00"
    assert fields["invoice_number"].value == "INV-2002"
    assert "invoice_date" not in fields  # the machine no longer finds one
    assert document.runs.count() == 2
    assert document.pages.count() == 1


def test_unreadable_input_fails_the_document_with_its_reason_and_keeps_the_file(
    media_root: Path, recorded_ocr: type[RecordedOcrEngine]
) -> None:
    document = ingested(b"%PDF-1.7\n this is not really a PDF")
    result = jobs.process_document(document.pk)  # does not raise: retry can't help
    document.refresh_from_db()
    assert result.startswith("failed")
    assert document.status == Document.Status.FAILED
    assert document.failure_reason.startswith("could not read this PDF")
    assert "Traceback" not in document.failure_reason
    assert Path(document.original.path).is_file()
    assert document.runs.get().outcome == ProcessingRun.Outcome.FAILED


class ExplodingEngine:
    name = "exploding"
    version = "1"

    def recognize(self, page: object) -> tuple[()]:
        raise RuntimeError("engine crashed")


def test_an_engine_crash_is_retried_then_fails_with_a_plain_reason(
    settings, media_root: Path, invoice_png: bytes
) -> None:
    settings.VOUCH_OCR_ENGINE = f"{__name__}.ExplodingEngine"
    settings.VOUCH_JOB_MAX_ATTEMPTS = 2
    document = ingested(invoice_png)

    with pytest.raises(RuntimeError):
        jobs.process_document(document.pk)
    document.refresh_from_db()
    assert document.status == Document.Status.QUEUED  # RQ's retry will run it
    assert "retrying" in document.failure_reason

    with pytest.raises(RuntimeError):
        jobs.process_document(document.pk)
    document.refresh_from_db()
    assert document.status == Document.Status.FAILED
    assert document.failure_reason == (
        "Vouch could not process this document because of an internal error"
    )
    assert "engine crashed" in document.runs.last().error  # for the admins


def test_retry_queues_a_failed_document_once(
    media_root: Path, recorded_ocr: type[RecordedOcrEngine]
) -> None:
    document = ingested(b"%PDF-1.7\n broken")
    jobs.process_document(document.pk)
    document.refresh_from_db()
    assert document_retry(document=document)
    assert not document_retry(document=document)
    document.refresh_from_db()
    assert (document.status, document.attempts) == (Document.Status.QUEUED, 0)


def test_requeue_stale_picks_up_abandoned_documents_once(
    media_root: Path, invoice_png: bytes
) -> None:
    document = ingested(invoice_png)
    document_claim_for_processing(
        document_id=document.pk, job_id="lost", worker="dead-worker"
    )
    Document.objects.filter(pk=document.pk).update(
        status_changed_at=timezone.now() - timedelta(hours=1)
    )
    fresh = ingested(invoice_png + b"different bytes")

    requeued = documents_requeue_stale(older_than=timedelta(minutes=15))
    assert [d.pk for d in requeued] == [document.pk]
    assert documents_requeue_stale(older_than=timedelta(minutes=15)) == []
    document.refresh_from_db()
    assert document.status == Document.Status.QUEUED
    assert document.runs.get().outcome == ProcessingRun.Outcome.FAILED
    fresh.refresh_from_db()
    assert fresh.status == Document.Status.QUEUED
    assert jobs.process_document(document.pk).startswith("ready")
