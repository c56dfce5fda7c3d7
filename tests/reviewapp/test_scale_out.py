"""Two real RQ workers (separate processes, as on two machines) on one queue
over 50 documents: every document is processed exactly once, even when each
job is enqueued twice (what a requeue after a lost worker can do), and both
workers take part. OCR is recorded (pages read blank) so the run takes
seconds; the claim that makes it safe is the same for real OCR."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest
import redis
from django.contrib.auth.models import User
from rq import Queue

from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document, ProcessingRun
from reviewapp.runtime.local_redis import PrivateRedis
from reviewapp.runtime.runstack import stop_processes
from reviewapp.selectors.health import ready_workers
from reviewapp.services.ingest import PROCESS_JOB, document_ingest
from tests.conftest import make_user, text_image
from tests.reviewapp.real_workers import private_redis, start_worker, wait_for

__all__ = ["private_redis"]  # a fixture

pytestmark = pytest.mark.integration

DOCUMENTS = 50
FINISHED = ("ready", "approved", "escalated", "failed")


def test_two_workers_process_each_of_50_documents_exactly_once(
    transactional_db: None,
    private_redis: PrivateRedis,
    media_root: Path,
    tmp_path: Path,
) -> None:
    clerk: User = make_user("clerk", "clerk")
    names = [f"scale-{n}-{os.getpid()}" for n in (1, 2)]
    logs = [tmp_path / f"{name}.log" for name in names]
    workers = [
        start_worker(name, private_redis.url, media_root, log)
        for name, log in zip(names, logs, strict=True)
    ]
    try:
        client = redis.Redis.from_url(private_redis.url)
        wait_for(
            lambda: len(ready_workers(client)) == 2, "both workers ready", logs, 90
        )
        documents = [
            document_ingest(
                content=text_image([f"Receipt {number}", f"Total {number}.00"]),
                original_name=f"receipt-{number}.png",
                channel=Document.Channel.UPLOAD,
                uploaded_by=clerk,
            ).document
            for number in range(DOCUMENTS)
        ]
        # Every job a second time: both workers may now hold the same document.
        queue = Queue("default", connection=client)
        for document in documents:
            queue.enqueue(PROCESS_JOB, document.pk)

        def all_finished() -> bool:
            return Document.objects.filter(status__in=FINISHED).count() == DOCUMENTS

        wait_for(all_finished, "all 50 documents processed", logs, 180)
        wait_for(lambda: len(queue) == 0, "the queue drained", logs, 30)
    finally:
        stop_processes(workers)

    runs = Counter(ProcessingRun.objects.values_list("document_id", flat=True))
    assert sorted(runs) == sorted(d.pk for d in documents)
    assert set(runs.values()) == {1}, "a document was processed twice"
    started = Counter(
        AuditEvent.objects.filter(event_type="job_started").values_list(
            "document_public_id", flat=True
        )
    )
    assert len(started) == DOCUMENTS and set(started.values()) == {1}
    assert not Document.objects.filter(status="failed").exists()
    by_worker = Counter(
        run.split(":", 1)[1]
        for run in ProcessingRun.objects.values_list("worker", flat=True)
    )
    assert set(by_worker) == set(names), f"both workers took part: {by_worker}"
