"""Which documents a live RQ job still holds, read from RQ's own registries.

A document the database calls queued or processing but that no live job holds
was orphaned: its worker was killed mid-job, or Redis lost the job (a restart
without persistence, the last second of an append-only file). Such a document
is enqueued again as soon as a worker starts, without waiting for the
staleness timeout (`services.processing.documents_requeue_orphaned`).

A job is live when it waits in the queue, in the scheduled registry (a retry
after its pause, until it is overdue) or the deferred one, or runs on a worker
that is alive. A
worker on this machine is alive while its process exists; one on another
machine while RQ still has its registration (it expires `worker_ttl` after the
last heartbeat).
"""

from __future__ import annotations

import os
import socket
import time

from rq import Queue
from rq.job import Job
from rq.registry import (
    DeferredJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)
from rq.worker import Worker

from reviewapp.services.ingest import PROCESS_JOB
from reviewapp.services.page_jobs import PAGE_JOB

# Both take the document's id first: a document read one page per job is
# held while any of its page jobs is live.
DOCUMENT_JOBS = frozenset({PROCESS_JOB, PAGE_JOB})

# A retry waits in the scheduled registry until an RQ scheduler moves it to the
# queue, which a live scheduler does within a second of its time. With none
# running (the worker holding the scheduler lock was killed, or its scheduler
# process died with a Redis restart), RQ starts another only at a worker's next
# maintenance round: a retry this far past its time holds nothing, and the
# requeue loop enqueues its document afresh. Should the old retry run later, it
# finds nothing to claim.
SCHEDULED_OVERDUE_SECONDS = 30


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    return True


def worker_is_alive(queue: Queue, worker_name: str) -> bool:
    """Whether the named worker still runs (see the module docstring)."""
    if not worker_name:
        return False
    worker = Worker.find_by_key(
        Worker.redis_worker_namespace_prefix + worker_name,
        connection=queue.connection,
        serializer=queue.serializer,
    )
    if worker is None:
        return False
    if worker.hostname == socket.gethostname() and worker.pid:
        return _pid_alive(worker.pid)
    return True


def document_ids_held_by_live_jobs(queue: Queue) -> set[int]:
    """Ids of documents some live processing job will (or does) work on."""
    waiting = set(queue.get_job_ids())
    waiting.update(DeferredJobRegistry(queue=queue).get_job_ids(cleanup=False))
    scheduled = ScheduledJobRegistry(queue=queue)
    overdue = scheduled.get_jobs_to_schedule(
        int(time.time()) - SCHEDULED_OVERDUE_SECONDS, chunk_size=100_000
    )
    waiting.update(set(scheduled.get_job_ids(cleanup=False)) - set(overdue))
    started = StartedJobRegistry(queue=queue)
    started_ids = set(started.get_job_ids(cleanup=False))
    held: set[int] = set()
    jobs = Job.fetch_many(
        list(waiting | started_ids),
        connection=queue.connection,
        serializer=queue.serializer,
    )
    for job in jobs:
        if job is None or job.func_name not in DOCUMENT_JOBS or not job.args:
            continue
        running = job.id in started_ids and job.id not in waiting
        if running and not worker_is_alive(queue, job.worker_name or ""):
            continue
        held.add(int(job.args[0]))
    return held
