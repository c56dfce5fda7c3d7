"""A long scanned document is read one page per job and assembled exactly once:
in process with recorded OCR (each step, the claim race, a failing page), and
across two real workers with real PaddleOCR."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import django_rq
import pytest
import redis
from django.contrib.auth.models import User
from django.utils import timezone
from PIL import Image
from pytest_django.fixtures import Settings as SettingsWrapper
from rq import Queue
from rq.job import Job

from pipeline.ocr.recorded import RecordedOcrEngine
from reviewapp import jobs
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document, PageReading, ProcessingRun
from reviewapp.runtime.live_jobs import document_ids_held_by_live_jobs
from reviewapp.runtime.local_redis import PrivateRedis
from reviewapp.runtime.runstack import stop_processes
from reviewapp.selectors.health import ready_workers
from reviewapp.services.ingest import PROCESS_JOB, document_ingest
from reviewapp.services.page_jobs import PAGE_JOB, run_claim_assembly
from reviewapp.services.processing import documents_requeue_orphaned
from tests.conftest import make_user, recorded_line, text_image
from tests.reviewapp.real_workers import private_redis, start_worker, wait_for

__all__ = ["private_redis"]  # a fixture

CaptureOnCommit = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]

# Each page a different width: recorded OCR is keyed by page size.
PAGES = [
    (800, ["ACME GMBH            INVOICE", "Invoice No: INV-3001"]),
    (810, ["Widgets   2 x 30,00   60,00", "Gadgets   1 x 60,50   60,50"]),
    (820, ["Date: 16.09.2019", "Total EUR 120,50"]),
]


def three_page_tiff(
    record: type[RecordedOcrEngine] | None, *, compression: str = "raw"
) -> bytes:
    """The pages as one TIFF (`compression`: the same pixels in other bytes,
    which the ingest does not take for a duplicate)."""
    images = []
    for width, lines in PAGES:
        if record is not None:
            boxes = [
                (40, 40 + i * 48, 40 + 15 * len(text), 70 + i * 48)
                for i, text in enumerate(lines)
            ]
            record.record(
                width,
                600,
                tuple(recorded_line(t, b) for t, b in zip(lines, boxes, strict=True)),
            )
        images.append(Image.open(io.BytesIO(text_image(lines, size=(width, 600)))))
    buffer = io.BytesIO()
    images[0].save(
        buffer,
        format="TIFF",
        save_all=True,
        append_images=images[1:],
        compression=compression,
    )
    return buffer.getvalue()


@pytest.fixture
def page_jobs_on(settings: SettingsWrapper) -> None:
    settings.VOUCH_PAGE_JOBS_MIN_PAGES = 2


@pytest.fixture
def queue() -> Iterator[Queue]:
    queue = django_rq.get_queue("default")
    yield queue
    # No job of these tests is left for a later test's worker.
    for job in _jobs(queue, PAGE_JOB) + _jobs(queue, PROCESS_JOB):
        if job.args and Document.objects.filter(pk=job.args[0]).exists():
            queue.remove(job)


def _jobs(queue: Queue, func_name: str) -> list[Job]:
    fetched = Job.fetch_many(
        queue.get_job_ids(), connection=queue.connection, serializer=queue.serializer
    )
    return [job for job in fetched if job is not None and job.func_name == func_name]


def _ingest(clerk: User, content: bytes) -> Document:
    return document_ingest(
        content=content,
        original_name="three-pages.tif",
        channel=Document.Channel.UPLOAD,
        uploaded_by=clerk,
    ).document


def _split(
    document: Document, queue: Queue, capture: CaptureOnCommit
) -> tuple[ProcessingRun, list[Job]]:
    with capture(execute=True):
        outcome = jobs.process_document(document.pk)
    assert outcome.startswith("reading 3 pages as separate jobs")
    run = ProcessingRun.objects.get(document=document)
    page_jobs = sorted(
        (job for job in _jobs(queue, PAGE_JOB) if job.args[0] == document.pk),
        key=lambda job: job.args[2],
    )
    return run, page_jobs


@dataclass
class SplitScan:
    """A three-page scan split into page jobs, none of them run yet."""

    document: Document
    run: ProcessingRun
    page_jobs: list[Job]
    clerk: User
    queue: Queue
    media_root: Path
    on_commit: CaptureOnCommit


@pytest.fixture
def scan(
    db: None,
    clerk: User,
    recorded_ocr: type[RecordedOcrEngine],
    media_root: Path,
    page_jobs_on: None,
    queue: Queue,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> SplitScan:
    document = _ingest(clerk, three_page_tiff(recorded_ocr))
    run, page_jobs = _split(document, queue, django_capture_on_commit_callbacks)
    return SplitScan(
        document, run, page_jobs, clerk, queue, media_root,
        django_capture_on_commit_callbacks,
    )  # fmt: skip


def test_a_long_scan_is_read_one_page_per_job_and_assembled_once(
    scan: SplitScan,
) -> None:
    document, run, page_jobs = scan.document, scan.run, scan.page_jobs

    assert [job.args for job in page_jobs] == [
        [document.pk, run.pk, number] for number in (1, 2, 3)
    ]
    assert run.pages_expected == 3
    assert (scan.media_root / "page-jobs" / f"run-{run.pk}").is_dir()

    # Pages arrive in any order; only the last one assembles.
    for number in (3, 1):
        assert jobs.read_document_page(*page_jobs[number - 1].args).startswith(
            f"read page {number}"
        )
        document.refresh_from_db()
        assert document.status == Document.Status.PROCESSING
    assert jobs.read_document_page(*page_jobs[1].args).startswith("ready")

    document.refresh_from_db()
    run.refresh_from_db()
    assert document.status in (Document.Status.READY, Document.Status.APPROVED)
    assert document.page_count == 3 and document.pages.count() == 3
    values = {field.name: field.value for field in document.fields.all()}
    assert values["invoice_number"] == "INV-3001"  # page 1
    assert values["total_amount"] == "120.50"  # page 3
    assert run.outcome == ProcessingRun.Outcome.SUCCEEDED
    assert set(run.page_workers) == {"1", "2", "3"}
    assert not PageReading.objects.filter(run=run).exists()
    assert not any((scan.media_root / "page-jobs" / f"run-{run.pk}").iterdir())
    finished = AuditEvent.objects.filter(
        document_public_id=document.public_id, event_type="job_finished"
    )
    assert finished.count() == 1

    # A page job run again (a requeue) finds its run over and does nothing.
    assert jobs.read_document_page(*page_jobs[0].args).startswith("skipped")
    assert finished.count() == 1

    # The same document read in one job reads the same.
    single = _ingest(scan.clerk, three_page_tiff(None, compression="tiff_lzw"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("django.conf.settings.VOUCH_PAGE_JOBS_MIN_PAGES", 0)
        assert jobs.process_document(single.pk).startswith("ready")
    assert {f.name: f.value for f in single.fields.all()} == values


def test_two_jobs_finding_every_page_read_assemble_once(
    scan: SplitScan,
) -> None:
    run = scan.run
    assert not run_claim_assembly(run_id=run.pk)  # nothing read yet
    PageReading.objects.filter(run=run).update(lines=[], read_at=timezone.now())

    assert [run_claim_assembly(run_id=run.pk) for _ in range(3)] == [
        True,
        False,
        False,
    ]


def test_a_page_that_fails_fails_its_run_and_queues_the_document_again(
    scan: SplitScan,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    document, run, page_jobs = scan.document, scan.run, scan.page_jobs

    def broken(self: RecordedOcrEngine, page: object) -> None:
        raise RuntimeError("the engine crashed")

    monkeypatch.setattr(RecordedOcrEngine, "recognize", broken)
    with scan.on_commit(execute=True):
        outcome = jobs.read_document_page(*page_jobs[1].args)

    assert outcome.startswith("failed: Vouch could not process this document")
    document.refresh_from_db()
    run.refresh_from_db()
    assert document.status == Document.Status.QUEUED
    assert "retrying" in document.failure_reason
    assert run.outcome == ProcessingRun.Outcome.FAILED
    assert [job.args for job in _jobs(scan.queue, PROCESS_JOB)].count(
        [document.pk]
    ) == 1
    assert not PageReading.objects.filter(run=run).exists()
    # The other pages' jobs find their run failed and leave it.
    assert jobs.read_document_page(*page_jobs[0].args).startswith("skipped")


@pytest.mark.integration
def test_two_real_workers_share_a_three_page_scan_and_assemble_it_once(
    transactional_db: None,
    private_redis: PrivateRedis,
    media_root: Path,
    tmp_path: Path,
) -> None:
    clerk = make_user("clerk", "clerk")
    names = [f"pages-{n}-{os.getpid()}" for n in (1, 2)]
    logs = [tmp_path / f"{name}.log" for name in names]
    environment = {
        "VOUCH_OCR_ENGINE": "pipeline.ocr.paddle.PaddleOcrEngine",
        "VOUCH_PAGE_JOBS_MIN_PAGES": "2",
    }
    workers = [
        start_worker(name, private_redis.url, media_root, log, environment)
        for name, log in zip(names, logs, strict=True)
    ]
    try:
        client = redis.Redis.from_url(private_redis.url)
        wait_for(
            lambda: len(ready_workers(client)) == 2, "both workers ready", logs, 180
        )
        document = _ingest(clerk, three_page_tiff(None))

        def finished() -> bool:
            document.refresh_from_db()
            return document.status not in ("queued", "processing")

        wait_for(finished, "the three-page document read", logs, 240)
    finally:
        stop_processes(workers)

    assert document.status in ("ready", "approved"), document.failure_reason
    assert document.pages.count() == 3
    run = ProcessingRun.objects.get(document=document)
    assert run.outcome == ProcessingRun.Outcome.SUCCEEDED
    readers = {worker.split(":", 1)[1] for worker in run.page_workers.values()}
    assert sorted(run.page_workers) == ["1", "2", "3"]
    assert readers == set(names), f"both workers read pages: {run.page_workers}"
    assert (
        AuditEvent.objects.filter(
            document_public_id=document.public_id, event_type="job_finished"
        ).count()
        == 1
    )
    texts = " ".join(
        line.text for page in document.pages.all() for line in page.lines.all()
    )
    assert "INV-3001" in texts.replace(" ", "") and "120,50" in texts


def test_a_document_whose_page_jobs_were_lost_is_read_again_whole(
    scan: SplitScan,
) -> None:
    document, run, page_jobs = scan.document, scan.run, scan.page_jobs
    # Waiting page jobs hold their document: it is not an orphan.
    assert document.pk in document_ids_held_by_live_jobs(scan.queue)
    scan.queue.remove(page_jobs[0])
    jobs.read_document_page(*page_jobs[0].args)

    # The worker holding the rest died with them (or Redis lost them).
    for job in page_jobs[1:]:
        scan.queue.remove(job)
    assert document.pk not in document_ids_held_by_live_jobs(scan.queue)
    with scan.on_commit(execute=True):
        assert [d.pk for d in documents_requeue_orphaned()] == [document.pk]

    run.refresh_from_db()
    assert run.outcome == ProcessingRun.Outcome.FAILED
    assert "abandoned" in run.error
    # A page of the abandoned run arriving late changes nothing.
    assert jobs.read_document_page(*page_jobs[2].args).startswith("skipped")
    # The new processing job reads it whole, as a new run.
    with scan.on_commit(execute=True):
        jobs.process_document(document.pk)
    new_run = ProcessingRun.objects.filter(document=document).latest("attempt")
    for job in _jobs(scan.queue, PAGE_JOB):
        if job.args[1] == new_run.pk:
            jobs.read_document_page(*job.args)
    document.refresh_from_db()
    assert document.status in (Document.Status.READY, Document.Status.APPROVED)
    assert (
        ProcessingRun.objects.filter(
            document=document, outcome=ProcessingRun.Outcome.SUCCEEDED
        ).count()
        == 1
    )
