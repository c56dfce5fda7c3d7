"""Is Vouch able to take and read documents right now? The checks behind
`/health/` (a load balancer's yes or no) and `/health/detail/` (the same for
an administrator, with the figures).

Each check fails on its own and says why in plain words; one failing check
makes the whole answer unhealthy. Redis is reached with short timeouts so a
hung server answers "unhealthy" in about a second instead of hanging the probe.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from django.db import connection

from reviewapp.runtime.worker import READY_KEY_PREFIX

QUEUE_NAME = "default"
REDIS_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class HealthReport:
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def as_json(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.ok else "unhealthy",
            "checks": [
                {"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks
            ],
        }


def redis_client() -> redis.Redis:
    """A client that gives up fast: a health probe must answer, not wait."""
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
    )


def ready_workers(client: redis.Redis) -> list[dict[str, Any]]:
    """Workers that loaded their engines and sent a heartbeat lately (each one's
    key expires when its heartbeats stop)."""
    workers = []
    for key in client.scan_iter(match=f"{READY_KEY_PREFIX}*", count=100):
        raw = client.get(key)
        if raw is not None:
            workers.append(json.loads(raw))
    return sorted(workers, key=lambda worker: str(worker.get("name", "")))


def queue_depth(client: redis.Redis, queue: str = QUEUE_NAME) -> int:
    """Jobs waiting in an RQ queue (its Redis list)."""
    return int(client.llen(f"rq:queue:{queue}"))


def _database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # any driver error means "cannot serve"
        return Check("database", False, f"the database does not answer: {error}")
    return Check("database", True, f"{connection.vendor} answers")


def _guarded(name: str, check: Callable[[], Check]) -> Check:
    try:
        return check()
    except redis.RedisError as error:
        return Check(name, False, f"Redis does not answer: {error}")


def health_report() -> HealthReport:
    """Database, Redis, at least one worker with its models loaded, and the
    queue shorter than VOUCH_HEALTH_MAX_QUEUE_DEPTH."""
    client = redis_client()
    limit = settings.VOUCH_HEALTH_MAX_QUEUE_DEPTH

    def redis_check() -> Check:
        client.ping()
        return Check("redis", True, "answers PING")

    def workers_check() -> Check:
        workers = ready_workers(client)
        if not workers:
            return Check(
                "workers", False, "no worker with its OCR models loaded is alive"
            )
        names = ", ".join(str(worker.get("name", "?")) for worker in workers)
        return Check("workers", True, f"{len(workers)} ready: {names}")

    def queue_check() -> Check:
        depth = queue_depth(client)
        return Check(
            "queue",
            depth < limit,
            f"{depth} job(s) waiting; the limit is {limit}",
        )

    try:
        reachable = _guarded("redis", redis_check)
        if not reachable.ok:
            # One timeout is enough to know; the others would only wait again.
            unchecked = "not checked: Redis does not answer"
            return HealthReport(
                (
                    _database(),
                    reachable,
                    Check("workers", False, unchecked),
                    Check("queue", False, unchecked),
                )
            )
        return HealthReport(
            (
                _database(),
                reachable,
                _guarded("workers", workers_check),
                _guarded("queue", queue_check),
            )
        )
    finally:
        client.close()
