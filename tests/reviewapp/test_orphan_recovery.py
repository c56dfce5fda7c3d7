"""Documents the database calls queued or processing but that no live job holds
are enqueued again at once: when a worker starts and by the housekeeping loop.

Real Redis, real rq registries, and a real worker killed with SIGKILL mid-job.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import django_rq
import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rq import Worker
from rq.registry import ScheduledJobRegistry

from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document, ProcessingRun
from reviewapp.runtime.live_jobs import (
    SCHEDULED_OVERDUE_SECONDS,
    document_ids_held_by_live_jobs,
)
from reviewapp.runtime.worker import MAINTENANCE_INTERVAL_SECONDS, DocumentWorker
from reviewapp.services.ingest import document_ingest
from reviewapp.services.processing import (
    document_claim_for_processing,
    documents_requeue_orphaned,
)
from tests.conftest import REPO, shared_database_url, text_image

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
EventType = AuditEvent.EventType


def ingest(clerk: User, number: int) -> Document:
    return document_ingest(
        content=text_image([f"Invoice {number}"], size=(640 + number, 480)),
        original_name=f"invoice-{number}.png",
        channel=Document.Channel.UPLOAD,
        uploaded_by=clerk,
    ).document


def age(document: Document, seconds: int = 60) -> None:
    """As if the document had sat in its status for `seconds` (past the grace)."""
    Document.objects.filter(pk=document.pk).update(
        status_changed_at=timezone.now() - timezone.timedelta(seconds=seconds)
    )


def requeued_events(document: Document) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            document_public_id=document.public_id,
            event_type=EventType.DOCUMENT_REQUEUED,
        )
    )


@pytest.fixture(autouse=True)
def no_capture_gate(settings) -> None:  # type: ignore[no-untyped-def]
    # These tests are about jobs, not capture: their one-line synthetic pages
    # are queued, not held for a better copy.
    settings.VOUCH_CAPTURE_MIN_QUALITY = 0


@pytest.fixture
def queue(media_root: Path):  # type: ignore[no-untyped-def]
    queue = django_rq.get_queue("default")
    queue.empty()
    yield queue
    queue.empty()


def test_a_queued_document_whose_job_waits_is_left_alone(
    clerk: User,
    queue,  # type: ignore[no-untyped-def]
) -> None:
    document = ingest(clerk, 1)
    age(document)
    # Only this test's documents: Redis is shared with the session's other tests.
    assert document_ids_held_by_live_jobs(queue) & {document.pk} == {document.pk}
    assert documents_requeue_orphaned() == []
    assert queue.count == 1


def test_a_queued_document_whose_job_redis_lost_is_enqueued_again(
    clerk: User,
    queue,  # type: ignore[no-untyped-def]
) -> None:
    lost, kept = ingest(clerk, 1), ingest(clerk, 2)
    age(lost)
    age(kept)
    queue.remove(queue.job_ids[0])  # Redis lost the first job

    assert documents_requeue_orphaned() == [lost]

    held = document_ids_held_by_live_jobs(queue) & {lost.pk, kept.pk}
    assert held == {lost.pk, kept.pk}
    [event] = requeued_events(lost)
    assert event.details == {"stuck_in": "queued", "reason": "no live job held it"}
    assert documents_requeue_orphaned() == []  # nothing twice


def test_a_retry_no_scheduler_moved_holds_its_document_only_until_overdue(
    clerk: User,
    queue,  # type: ignore[no-untyped-def]
) -> None:
    document = ingest(clerk, 1)
    age(document)
    [job] = queue.jobs
    queue.remove(job)
    scheduled = ScheduledJobRegistry(queue=queue)
    now = timezone.now()
    try:
        # A retry after its pause: a scheduler will move it to the queue.
        scheduled.schedule(job, now + timezone.timedelta(seconds=5))
        assert documents_requeue_orphaned() == []
        scheduled.schedule(job, now - timezone.timedelta(seconds=5))
        assert documents_requeue_orphaned() == []
        # Long past its time no scheduler runs (killed with its worker, or
        # gone with a Redis restart): the document is enqueued afresh.
        overdue = SCHEDULED_OVERDUE_SECONDS + 5
        scheduled.schedule(job, now - timezone.timedelta(seconds=overdue))
        assert documents_requeue_orphaned() == [document]
        assert queue.count == 1
    finally:
        scheduled.remove(job)


def test_a_document_worker_looks_for_a_dead_scheduler_every_half_minute(
    queue,  # type: ignore[no-untyped-def]
) -> None:
    # RQ's default round is ten minutes, which left a retry unscheduled
    # that long after the worker running the scheduler was killed.
    worker = DocumentWorker([queue], connection=queue.connection)
    assert worker.maintenance_interval == MAINTENANCE_INTERVAL_SECONDS <= 30


def test_a_document_just_committed_is_given_a_moment_for_its_job(
    clerk: User,
    queue,  # type: ignore[no-untyped-def]
) -> None:
    document = ingest(clerk, 1)
    queue.empty()
    assert documents_requeue_orphaned() == []
    age(document)
    assert documents_requeue_orphaned() == [document]


def test_a_processing_document_whose_worker_died_is_requeued_and_its_run_abandoned(
    clerk: User,
    queue,  # type: ignore[no-untyped-def]
) -> None:
    document = ingest(clerk, 1)
    job = queue.jobs[0]
    run = document_claim_for_processing(
        document_id=document.pk, job_id=job.id, worker="gone:vouch-dead-worker"
    )
    assert run is not None
    # The job was taken by a worker that no longer exists.
    queue.remove(job.id)
    age(document)

    assert documents_requeue_orphaned() == [document]

    document.refresh_from_db()
    run.refresh_from_db()
    assert document.status == Document.Status.QUEUED
    assert run.outcome == ProcessingRun.Outcome.FAILED
    assert "abandoned" in run.error
    assert queue.count == 1


def _start_worker(
    name: str, ocr_engine: str, media_root: Path, *, burst: bool = True
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "VOUCH_MEDIA_ROOT": str(media_root),
        "DATABASE_URL": shared_database_url(),
        "VOUCH_OCR_ENGINE": ocr_engine,
        "DJANGO_SETTINGS_MODULE": "reviewapp.settings",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return subprocess.Popen(
        [
            sys.executable, "manage.py", "rqworker", "default",
            "--worker-class", "reviewapp.runtime.worker.DocumentWorker",
            "--serializer", "rq.serializers.JSONSerializer",
            "--name", name, *(["--burst"] if burst else ["--with-scheduler"]),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip


def _wait_for(condition, seconds: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {seconds:.0f} s")


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_the_scheduler_a_worker_forks_dies_with_the_worker(
    queue,
    media_root: Path,  # type: ignore[no-untyped-def]
) -> None:
    # Orphaned, it kept the killed worker's database socket open: PostgreSQL
    # kept that worker's transaction, and the row locks it held, for ever.
    queue.connection.delete("rq:scheduler-lock:default")
    worker = _start_worker(
        "vouch-test-scheduling",
        "pipeline.ocr.recorded.RecordedOcrEngine",
        media_root,
        burst=False,
    )
    try:
        _wait_for(lambda: _children(worker.pid), 60, "the worker forking its scheduler")
        [scheduler] = _children(worker.pid)
        assert _running(scheduler)
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    _wait_for(lambda: not _running(scheduler), 10, "the scheduler ending")


def test_a_worker_killed_mid_job_leaves_a_document_the_next_worker_reads_at_once(
    clerk: User,
    queue,
    media_root: Path,  # type: ignore[no-untyped-def]
) -> None:
    document = ingest(clerk, 1)
    slow = _start_worker(
        "vouch-test-slow", "tests.reviewapp.slow_ocr.SlowOcrEngine", media_root
    )

    def processing() -> bool:
        document.refresh_from_db()
        return document.status == Document.Status.PROCESSING

    _wait_for(processing, 60, "the first worker taking the document")
    os.kill(slow.pid, signal.SIGKILL)
    slow.wait(timeout=10)
    # The dead worker's registration and started job are still in Redis.
    assert any(worker.name == "vouch-test-slow" for worker in Worker.all(queue=queue))
    started = time.monotonic()
    fresh = _start_worker(
        "vouch-test-fresh", "pipeline.ocr.recorded.RecordedOcrEngine", media_root
    )
    output, _ = fresh.communicate(timeout=120)
    elapsed = time.monotonic() - started

    document.refresh_from_db()
    assert document.status == Document.Status.READY, output.decode(errors="replace")
    # At once, not after VOUCH_STALE_AFTER_SECONDS (15 minutes).
    assert elapsed < 60
    runs = list(document.runs.order_by("attempt"))
    assert [run.outcome for run in runs] == [
        ProcessingRun.Outcome.FAILED,
        ProcessingRun.Outcome.SUCCEEDED,
    ]
    assert "abandoned" in runs[0].error
    finished = AuditEvent.objects.filter(
        document_public_id=document.public_id, event_type=EventType.JOB_FINISHED
    )
    assert finished.count() == 1
    assert len(requeued_events(document)) == 1


def test_a_run_thought_dead_that_finishes_late_writes_nothing(
    clerk: User,
    queue,  # type: ignore[no-untyped-def]
) -> None:
    from reviewapp.services.processing import document_record_failure

    document = ingest(clerk, 1)
    run = document_claim_for_processing(
        document_id=document.pk, job_id="late", worker="gone:vouch-dead-worker"
    )
    assert run is not None
    queue.empty()
    assert documents_requeue_orphaned() == [document]
    # The "dead" worker was only slow: its late failure changes nothing.
    document_record_failure(run=run, reason="late", retry=False)
    document.refresh_from_db()
    assert document.status == Document.Status.QUEUED
    assert not AuditEvent.objects.filter(event_type=EventType.JOB_FAILED).exists()
