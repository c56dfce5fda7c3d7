"""The RQ worker class for document jobs.

RQ's default worker forks a fresh process per job, which would load PaddleOCR
(seconds, most of a gigabyte) for every document. This worker runs jobs in its
own process instead and loads the engines once, when it starts.
"""

from __future__ import annotations

import ctypes
import functools
import json
import logging
import os
import signal
import socket
import sys
import time
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connections
from rq import SimpleWorker

from pipeline.extract import extractors
from pipeline.ocr import ocr_engines
from reviewapp.services.processing import documents_requeue_orphaned

logger = logging.getLogger(__name__)

# A worker with its engines loaded keeps `READY_KEY_PREFIX + name` alive with
# each RQ heartbeat (same expiry), so the key vanishes when the worker stops or
# dies: /health/ counts these keys as the workers able to read documents.
READY_KEY_PREFIX = "vouch:worker-ready:"

# RQ starts a scheduler again (after the worker that ran it was killed, or it
# died with a Redis restart) only in a worker's maintenance round, every ten
# minutes by default: until then retries wait unscheduled. A round runs only
# between jobs or after an idle wait for one (up to worker_ttl - 15 s), so an
# idle worker still looks less often; `live_jobs.SCHEDULED_OVERDUE_SECONDS`
# covers that gap. Each round also cleans the registries, a few Redis calls.
MAINTENANCE_INTERVAL_SECONDS = 30


def load_engines() -> float:
    """Build the configured OCR engine and extractor; returns seconds taken."""
    started = time.perf_counter()
    ocr_engines.get(settings.VOUCH_OCR_ENGINE)
    extractors.get(settings.VOUCH_EXTRACTOR)
    return time.perf_counter() - started


def requeue_orphans() -> None:
    """A worker starting is often one replacing a worker that died mid-job:
    enqueue again, at once, what no live job holds. A failure here is logged,
    never fatal: the housekeeping loop tries again."""
    try:
        requeued = documents_requeue_orphaned()
    except Exception:
        logger.exception("could not check for orphaned documents")
        return
    finally:
        close_old_connections()
    if requeued:
        logger.warning(
            "requeued %d document(s) no live job held: %s",
            len(requeued),
            ", ".join(str(document.public_id) for document in requeued),
        )


_PR_SET_PDEATHSIG = 1


def _die_with_the_worker() -> None:
    """In a process forked from the worker (RQ's scheduler): be killed when
    the worker dies. An orphaned scheduler kept the killed worker's sockets
    open, so PostgreSQL never saw that worker go and kept its transaction,
    and the row locks that transaction held, forever."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


@functools.cache  # once per process: each registration would run at every fork
def _fork_children_die_with_this_process() -> None:
    os.register_at_fork(after_in_child=_die_with_the_worker)


class DocumentWorker(SimpleWorker):
    engines_seconds: float | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("maintenance_interval", MAINTENANCE_INTERVAL_SECONDS)
        super().__init__(*args, **kwargs)

    def work(self, *args: Any, **kwargs: Any) -> bool:
        seconds = load_engines()
        logger.info("engines loaded in %.1f s", seconds)
        self.engines_seconds = seconds
        requeue_orphans()
        if kwargs.get("with_scheduler"):
            _fork_children_die_with_this_process()
            # RQ forks its scheduler as the worker starts: it must not inherit
            # the worker's database connections (see _die_with_the_worker).
            connections.close_all()
        return bool(super().work(*args, **kwargs))

    def run_maintenance_tasks(self) -> None:
        # A round may fork a scheduler again (the last one died); jobs are
        # done by then, so the next one simply opens a new connection.
        if self.scheduler is not None:
            connections.close_all()
        super().run_maintenance_tasks()

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        super().heartbeat(timeout, pipeline=pipeline)
        if self.engines_seconds is None:
            return
        connection = pipeline if pipeline is not None else self.connection
        connection.set(
            READY_KEY_PREFIX + self.name,
            json.dumps(
                {
                    "name": self.name,
                    "host": socket.gethostname(),
                    "pid": os.getpid(),
                    "engines_seconds": round(self.engines_seconds, 2),
                    "ocr_engine": settings.VOUCH_OCR_ENGINE,
                }
            ),
            ex=int(timeout or self.worker_ttl + 60),
        )

    def register_death(self) -> None:
        self.connection.delete(READY_KEY_PREFIX + self.name)
        super().register_death()  # type: ignore[no-untyped-call]

    def execute_job(self, *args: Any, **kwargs: Any) -> None:
        # Jobs share this long-lived process: drop connections the database
        # closed or that outlived CONN_MAX_AGE, as Django does per request.
        close_old_connections()
        try:
            super().execute_job(*args, **kwargs)
        finally:
            close_old_connections()
