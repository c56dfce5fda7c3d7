"""Pages per minute with 1, 2 ... N real workers on this machine.

For each worker count, in a scratch install of its own (a fresh SQLite
database and media folder in a temporary directory, a private redis-server),
it starts that many DocumentWorker processes, waits until each has loaded its
OCR models, ingests the same documents through `manage.py ingest` and times
them until every one is processed. Nothing touches the configured database,
media or Redis. Prints documents, pages, wall seconds and pages per minute
per worker count.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from reviewapp.runtime.local_redis import start_private_redis
from reviewapp.runtime.runstack import stop_processes
from reviewapp.selectors.health import ready_workers

SUFFIXES = {".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff"}
FINISHED = ("ready", "approved", "escalated", "failed", "claimed")


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "source",
            type=Path,
            nargs="?",
            default=Path(settings.VOUCH_DATASETS) / "sroie2019-receipts" / "images",
            help="a folder of documents (default: the SROIE receipt images)",
        )
        parser.add_argument("--limit", type=int, default=12)
        parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
        parser.add_argument("--timeout", type=float, default=1800.0)

    def handle(self, *args: Any, **options: Any) -> None:
        files = sorted(
            path
            for path in options["source"].iterdir()
            if path.suffix.lower() in SUFFIXES
        )[: options["limit"]]
        if not files:
            raise CommandError(f"no documents in {options['source']}")
        self.stdout.write(
            f"{len(files)} documents from {options['source']}, "
            f"OCR engine {settings.VOUCH_OCR_ENGINE}, {os.cpu_count()} CPUs"
        )
        self.stdout.write(
            f"{'workers':>8}{'documents':>11}{'pages':>7}{'seconds':>9}{'pages/min':>11}"
        )
        for count in options["workers"]:
            documents, pages, seconds = _round(files, count, options["timeout"])
            self.stdout.write(
                f"{count:>8}{documents:>11}{pages:>7}{seconds:>9.1f}"
                f"{pages / seconds * 60:>11.1f}"
            )


def _round(files: list[Path], workers: int, timeout: float) -> tuple[int, int, float]:
    scratch = Path(tempfile.mkdtemp(prefix="vouch-bench-workers-"))
    server = start_private_redis(scratch / "redis")
    env = {
        **os.environ,
        "VOUCH_VAR_DIR": str(scratch),
        "VOUCH_MEDIA_ROOT": str(scratch / "media"),
        "REDIS_URL": server.url,
        "DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": "reviewapp.settings",
    }
    env.pop("DATABASE_URL", None)
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True)
        client = redis.Redis.from_url(server.url)
        for number in range(workers):
            log = (scratch / f"worker-{number}.log").open("wb")
            processes.append(
                subprocess.Popen(
                    [
                        *manage,
                        "rqworker",
                        "default",
                        "--worker-class",
                        "reviewapp.runtime.worker.DocumentWorker",
                        "--serializer",
                        "rq.serializers.JSONSerializer",
                        "--name",
                        f"bench-{number}",
                    ],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        _wait_for(lambda: len(ready_workers(client)) == workers, timeout, processes)
        started = time.perf_counter()
        subprocess.run(
            [*manage, "ingest", *map(str, files)],
            env=env,
            check=True,
            # Its per-file lines would bury the table; a failure still raises.
            capture_output=True,
        )
        database = scratch / "db.sqlite3"

        def finished() -> bool:
            with sqlite3.connect(database) as connection:
                # Only placeholders are formatted in; the values are bound.
                placeholders = ",".join("?" * len(FINISHED))
                (done,) = connection.execute(
                    "SELECT COUNT(*) FROM reviewapp_document "  # noqa: S608
                    f"WHERE status IN ({placeholders})",
                    FINISHED,
                ).fetchone()
            return bool(done == len(files))

        _wait_for(finished, timeout, processes)
        seconds = time.perf_counter() - started
        with sqlite3.connect(database) as connection:
            documents, pages = connection.execute(
                "SELECT COUNT(*), COALESCE(SUM(page_count), 0) FROM reviewapp_document"
            ).fetchone()
        return int(documents), int(pages), seconds
    finally:
        stop_processes(processes, timeout=20)
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)


def _wait_for(
    condition: Any, timeout: float, processes: list[subprocess.Popen[bytes]]
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if any(process.poll() is not None for process in processes):
            raise CommandError("a worker stopped; see its log in the scratch folder")
        if time.monotonic() > deadline:
            raise CommandError(f"not done within {timeout:.0f} s")
        time.sleep(0.5)
