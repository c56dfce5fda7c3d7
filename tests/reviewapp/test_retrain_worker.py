"""Retraining never stops reading: a retrain runs on its own queue in its own
worker process, from the base training set shipped with the product (no
datasets), while the document worker reads an upload as it would without it.

Two real worker processes, real Redis, real PaddleOCR. The seconds from
upload to ready are printed with and without a retrain running (run with -s);
the test asserts only what must hold: the document was read while the retrain
was still training."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import django_rq
import pytest
from django.contrib.auth.models import User
from django.db import transaction
from rq import Worker

from reviewapp.learning.extractor_versions import (
    RETRAIN_QUEUE,
    extractor_retrain_enqueue,
    retrain_status,
)
from reviewapp.models.documents import Document
from reviewapp.services.ingest import document_ingest
from tests.conftest import REPO, SROIE, shared_database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
TIMEOUT = 240.0


def wait_for(condition: Callable[[], bool], what: str, processes: list) -> float:  # type: ignore[type-arg]
    started = time.monotonic()
    while time.monotonic() - started < TIMEOUT:
        for process in processes:
            assert process.poll() is None, f"a worker exited while waiting for {what}"
        if condition():
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen in {TIMEOUT:.0f} s")


@pytest.fixture
def workers(
    media_root: Path, tmp_path: Path
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """A document worker and a retrain worker (at lower priority, as `make
    run` starts them), on the test database, without VOUCH_DATASETS."""
    for name in ("default", RETRAIN_QUEUE):
        django_rq.get_queue(name).empty()
    env = {
        **os.environ,
        "DATABASE_URL": shared_database_url(),
        "VOUCH_MEDIA_ROOT": str(media_root),
        "VOUCH_DATASETS": str(tmp_path / "no-datasets-here"),
        "DJANGO_SETTINGS_MODULE": "reviewapp.settings",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    names = {"default": "test-documents", RETRAIN_QUEUE: "test-retrain"}
    commands = [
        [sys.executable, "manage.py", "rqworker", "default", "--name",
         names["default"], "--worker-class", "reviewapp.runtime.worker.DocumentWorker",
         "--serializer", "rq.serializers.JSONSerializer"],
        ["nice", "-n", "10", sys.executable, "manage.py", "rqworker", RETRAIN_QUEUE,
         "--name", names[RETRAIN_QUEUE], "--worker-class", "rq.worker.SimpleWorker",
         "--serializer", "rq.serializers.JSONSerializer"],
    ]  # fmt: skip
    processes = []
    for number, command in enumerate(commands):
        log = (tmp_path / f"worker-{number}.log").open("wb")
        processes.append(
            subprocess.Popen(
                command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        )
    connection = django_rq.get_queue("default").connection
    try:
        wait_for(
            lambda: (
                {w.name for w in Worker.all(connection=connection)}
                >= set(names.values())
            ),
            "both workers registering",
            processes,
        )
        yield processes
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        for name in ("default", RETRAIN_QUEUE):
            django_rq.get_queue(name).empty()


def upload_and_time(path: Path, user: User, processes: list) -> float:  # type: ignore[type-arg]
    document = document_ingest(
        content=path.read_bytes(),
        original_name=path.name,
        channel=Document.Channel.UPLOAD,
        uploaded_by=user,
    ).document

    def ready() -> bool:
        document.refresh_from_db()
        assert document.status != Document.Status.FAILED, document.failure_reason
        return document.status == Document.Status.READY

    return wait_for(ready, f"{path.name} ready", processes)


def test_a_document_is_read_while_the_extractor_retrains(
    workers: list[subprocess.Popen[bytes]], clerk: User, admin_user: User
) -> None:
    images = sorted((SROIE / "images").glob("X51006555*.jpg"))
    # The worker's first document loads PaddleOCR: time the second one.
    upload_and_time(images[0], clerk, workers)
    without = upload_and_time(images[1], clerk, workers)

    with transaction.atomic():
        job_id = extractor_retrain_enqueue(actor=admin_user)

    def training() -> bool:
        status = retrain_status(job_id)
        assert status is not None and status["status"] != "failed", status
        return status["status"] == "started" and status["percent"] >= 10

    wait_for(training, "the retrain training", workers)
    during = upload_and_time(images[2], clerk, workers)

    status = retrain_status(job_id)
    assert status is not None and status["status"] == "started", status
    assert "training on 649 base" in status["progress"]
    print(
        f"\nupload to ready: {without:.1f} s without a retrain, "
        f"{during:.1f} s during one ({status['progress']}, {status['percent']} %)"
    )
