"""/health/, /health/detail/ and /metrics against a real private Redis and a
real worker process (recorded OCR, so it loads in seconds): healthy while
everything answers, 503 once Redis is stopped, no worker is ready or the
queue is too long; metrics in the Prometheus text format, read back with
prometheus_client's own parser."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.contrib.auth.models import User
from prometheus_client.parser import text_string_to_metric_families
from pytest_django.fixtures import Settings as SettingsWrapper
from rq import Queue
from rq.suspension import resume, suspend

from reviewapp.audit.trail import record_event
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document, ProcessingRun
from reviewapp.models.review import ReviewTime
from reviewapp.runtime.local_redis import PrivateRedis, start_private_redis
from reviewapp.runtime.runstack import stop_processes
from reviewapp.selectors.health import health_report, ready_workers
from tests.conftest import (
    RECORDED_OCR,
    REPO,
    logged_in,
    make_document,
    shared_database_url,
)

TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture
def private_redis(tmp_path: Path, settings: SettingsWrapper) -> Iterator[PrivateRedis]:
    """A Redis of this test's own, which it may stop."""
    server = start_private_redis(tmp_path / "redis")
    settings.REDIS_URL = server.url
    yield server
    server.stop()


@pytest.fixture
def ready_worker(private_redis: PrivateRedis, tmp_path: Path) -> Iterator[str]:
    """A real DocumentWorker on the private Redis, waited for until it says
    its engines are loaded."""
    name = f"health-{os.getpid()}-{time.monotonic_ns()}"
    env = {
        **os.environ,
        "REDIS_URL": private_redis.url,
        "DATABASE_URL": shared_database_url(),
        "VOUCH_OCR_ENGINE": RECORDED_OCR,
        "DJANGO_SETTINGS_MODULE": "reviewapp.settings",
    }
    log = (tmp_path / "worker.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "rqworker", "default",
         "--worker-class", "reviewapp.runtime.worker.DocumentWorker",
         "--serializer", "rq.serializers.JSONSerializer", "--name", name],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        client = redis.Redis.from_url(private_redis.url)
        deadline = time.monotonic() + 90
        while not any(w.get("name") == name for w in ready_workers(client)):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail((tmp_path / "worker.log").read_text(errors="replace"))
            time.sleep(0.2)
        yield name
    finally:
        stop_processes([process])
        log.close()


def test_health_is_200_while_database_redis_and_a_ready_worker_answer(
    db: None, ready_worker: str
) -> None:
    response = logged_in(None).get("/health/")
    assert response.status_code == 200
    assert response.content == b"ok\n"  # no detail for strangers
    report = health_report()
    assert [c.name for c in report.checks if c.ok] == [
        "database", "redis", "workers", "queue"
    ]  # fmt: skip
    assert ready_worker in next(c.detail for c in report.checks if c.name == "workers")


def test_health_is_503_once_redis_stops(
    db: None, ready_worker: str, private_redis: PrivateRedis
) -> None:
    assert logged_in(None).get("/health/").status_code == 200
    private_redis.stop()
    started = time.monotonic()
    response = logged_in(None).get("/health/")
    assert response.status_code == 503
    assert response.content == b"unhealthy\n"
    assert time.monotonic() - started < 5  # a probe answers, it does not hang
    failing = {c.name: c.detail for c in health_report().checks if not c.ok}
    assert set(failing) == {"redis", "workers", "queue"}
    assert "Redis does not answer" in failing["redis"]


def test_health_is_503_without_a_worker_that_loaded_its_models(
    db: None, private_redis: PrivateRedis
) -> None:
    assert logged_in(None).get("/health/").status_code == 503
    failing = [c for c in health_report().checks if not c.ok]
    assert [c.name for c in failing] == ["workers"]


def test_health_is_503_when_the_queue_reaches_its_limit(
    db: None, ready_worker: str, settings: SettingsWrapper
) -> None:
    settings.VOUCH_HEALTH_MAX_QUEUE_DEPTH = 3
    connection = redis.Redis.from_url(settings.REDIS_URL)
    suspend(connection)  # the worker stops taking jobs, so they wait
    try:
        queue = Queue("default", connection=connection)
        # The worker is already waiting on the queue and takes this one job
        # before it sees the suspension; after it, jobs stay queued.
        queue.enqueue("reviewapp.jobs.process_document", -100)
        deadline = time.monotonic() + 30
        while len(queue) and time.monotonic() < deadline:
            time.sleep(0.1)
        for number in range(2):
            queue.enqueue("reviewapp.jobs.process_document", -number)
        assert logged_in(None).get("/health/").status_code == 200
        queue.enqueue("reviewapp.jobs.process_document", -9)
        assert logged_in(None).get("/health/").status_code == 503
        (queue_check,) = [c for c in health_report().checks if not c.ok]
        assert queue_check.name == "queue"
        assert queue_check.detail == "3 job(s) waiting; the limit is 3"
    finally:
        resume(connection)
        Queue("default", connection=connection).empty()


def test_health_detail_is_for_administrators(
    private_redis: PrivateRedis, admin_user: User, supervisor: User
) -> None:
    response = logged_in(admin_user).get("/health/detail/")
    assert response.status_code == 503  # no worker: the detail says so
    checks = {c["name"]: c for c in response.json()["checks"]}
    assert checks["database"]["ok"] and checks["redis"]["ok"]
    assert not checks["workers"]["ok"]
    assert logged_in(supervisor).get("/health/detail/").status_code == 403
    assert logged_in(None).get("/health/detail/").status_code in (302, 403)


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_need_the_token_or_an_allowed_address(
    db: None, private_redis: PrivateRedis, settings: SettingsWrapper
) -> None:
    settings.VOUCH_METRICS_TOKEN = TOKEN
    settings.VOUCH_METRICS_ALLOWED_IPS = []
    client = logged_in(None)
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert (
        client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    )
    settings.VOUCH_METRICS_TOKEN = ""
    settings.VOUCH_METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    assert client.get("/metrics").status_code == 403  # the test client is 127.0.0.1
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200


def test_metrics_report_the_figures_in_prometheus_format(
    db: None, private_redis: PrivateRedis, settings: SettingsWrapper, clerk: User
) -> None:
    settings.VOUCH_METRICS_TOKEN = TOKEN
    approved = make_document(status="approved")
    Document.objects.filter(pk=approved.pk).update(straight_through=True)
    make_document(status="ready")
    failed = make_document(status="failed")
    for seconds in (0.3, 4.0):
        ProcessingRun.objects.create(
            document=approved,
            attempt=1,
            outcome=ProcessingRun.Outcome.SUCCEEDED,
            stage_seconds={"decode": 0.2, "text": seconds, "current": "text"},
        )
    for reason in ("the file is not a PDF", "the file is not a PDF", "too many pages"):
        record_event(
            AuditEvent.EventType.JOB_FAILED, document=failed, details={"reason": reason}
        )
    ReviewTime.objects.create(
        document=approved, user=clerk, username="clerk", page_view="a" * 32,
        active_seconds=42.5, field_seconds={},
    )  # fmt: skip
    Queue("default", connection=redis.Redis.from_url(private_redis.url)).enqueue(
        "reviewapp.jobs.process_document", -1
    )

    response = logged_in(None).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    samples = _samples(response.content.decode())
    assert samples[("vouch_documents", (("state", "approved"),))] == 1
    assert samples[("vouch_documents", (("state", "ready"),))] == 1
    assert samples[("vouch_documents", (("state", "failed"),))] == 1
    assert samples[("vouch_documents", (("state", "queued"),))] == 0
    assert samples[("vouch_straight_through_total", ())] == 1
    assert (
        samples[("vouch_job_failures_total", (("reason", "the file is not a PDF"),))]
        == 2
    )
    assert samples[("vouch_job_failures_total", (("reason", "too many pages"),))] == 1
    text = (("stage", "text"),)
    assert samples[("vouch_job_stage_seconds_count", text)] == 2
    assert samples[("vouch_job_stage_seconds_sum", text)] == pytest.approx(4.3)
    assert (
        samples[("vouch_job_stage_seconds_bucket", (("le", "0.5"), ("stage", "text")))]
        == 1
    )
    assert (
        samples[("vouch_job_stage_seconds_bucket", (("le", "5.0"), ("stage", "text")))]
        == 2
    )
    assert ("vouch_job_stage_seconds_count", (("stage", "current"),)) not in samples
    assert samples[("vouch_review_active_seconds_total", ())] == 42.5
    assert samples[("vouch_queue_depth", (("queue", "default"),))] == 1
    assert samples[("vouch_workers_ready", ())] == 0
    assert samples[("vouch_redis_up", ())] == 1
