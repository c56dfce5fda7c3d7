"""Fill an empty audit trail with N chained events, then time the export and
measure its memory. Run it on a scratch database: audit events cannot be
deleted, so the command refuses a trail that already has events."""

from __future__ import annotations

import resource
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from reviewapp.audit.export import FORMATS, ExportFilters, audit_export
from reviewapp.audit.trail import PlainEvent, append_plain_events, verify_chain
from reviewapp.models.audit import AuditEvent

MB = 1024 * 1024
_TYPES = [
    AuditEvent.EventType.DOCUMENT_INGESTED,
    AuditEvent.EventType.JOB_STARTED,
    AuditEvent.EventType.JOB_FINISHED,
    AuditEvent.EventType.FIELD_CHANGED,
    AuditEvent.EventType.LOGIN,
]


class PeakRss:
    """Samples this process's resident memory in a thread while in use."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.peak = 0
        self._process = psutil.Process()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRss:
        self.peak = self._process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)


def synthetic_events(count: int) -> Iterator[PlainEvent]:
    """Plausible events: a few hundred users and documents, varied details."""
    documents = [uuid.uuid4() for _ in range(max(1, count // 20))]
    for number in range(count):
        event_type = _TYPES[number % len(_TYPES)]
        user = number % 300
        yield PlainEvent(
            event_type=event_type,
            actor_id=user + 1,
            actor_username=f"user{user:03d}",
            actor_role="clerk",
            ip_address=f"10.0.{user // 250}.{user % 250}",
            request_id=uuid.UUID(int=number).hex,
            document_public_id=documents[number % len(documents)],
            details={
                "field": "total_amount",
                "old_value": f"{number % 997}.00",
                "new_value": f"{number % 991}.50",
                "machine_confidence": round((number % 100) / 100, 2),
                "reason": "",
            },
        )


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--events", type=int, default=1_000_000)
        parser.add_argument("--format", choices=FORMATS, default="csv")
        parser.add_argument("--batch", type=int, default=5000)
        parser.add_argument(
            "--output",
            type=Path,
            default=Path("/dev/null"),
            help="where the export goes (default: discarded)",
        )
        parser.add_argument(
            "--verify", action="store_true", help="also time verify_audit"
        )
        parser.add_argument(
            "--own-process",
            action="store_true",
            help="also run export_audit in a fresh process and report its peak RSS",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        count: int = options["events"]
        if count < 1 or options["batch"] < 1:
            raise CommandError("--events and --batch must be at least 1")
        if AuditEvent.objects.exists():
            raise CommandError(
                "the audit trail already has events and they cannot be deleted: run "
                "this on a scratch database (e.g. VOUCH_VAR_DIR=/tmp/bench or a "
                "separate DATABASE_URL), after `migrate`"
            )
        started = time.perf_counter()
        written = append_plain_events(
            synthetic_events(count), batch_size=options["batch"]
        )
        created_seconds = time.perf_counter() - started
        self.stdout.write(
            f"created {written} chained events in {created_seconds:.1f} s "
            f"({written / created_seconds:,.0f}/s)"
        )

        rows = size = 0
        baseline = psutil.Process().memory_info().rss
        started = time.perf_counter()
        with PeakRss() as peak, options["output"].open("w", encoding="utf-8") as out:
            for chunk in audit_export(
                filters=ExportFilters(),
                export_format=options["format"],
                destination=f"benchmark to {options['output']}",
            ):
                out.write(chunk)
                rows += chunk.count("\n")
                size += len(chunk)
        export_seconds = time.perf_counter() - started
        if options["format"] == "csv":
            rows -= 1  # the header
        self.stdout.write(
            f"exported {rows} events as {options['format']} ({size / MB:.0f} MB) "
            f"in {export_seconds:.1f} s ({rows / export_seconds:,.0f}/s)"
        )
        self.stdout.write(
            f"peak RSS during export: {peak.peak / MB:.1f} MB "
            f"(at start {baseline / MB:.1f} MB)"
        )
        if options["own_process"]:
            self.export_in_own_process(options["format"], options["output"])
        if options["verify"]:
            started = time.perf_counter()
            report = verify_chain()
            self.stdout.write(
                f"verify: {report.events} events "
                f"{'OK' if report.ok else 'BROKEN: ' + report.problem} "
                f"in {time.perf_counter() - started:.1f} s"
            )
        # ru_maxrss is in KiB on Linux, bytes on macOS.
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        process_peak = peak_kib / 1024 if sys.platform != "darwin" else peak_kib / MB
        self.stdout.write(f"process peak RSS (whole run): {process_peak:.1f} MB")

    def export_in_own_process(self, export_format: str, output: Path) -> None:
        """What an administrator's `export_audit` process holds at its peak: a
        fresh process, without the memory this one kept from filling the trail.
        It reads the configured database, so run it on a real scratch one."""
        started = time.perf_counter()
        # Sampled rather than read from RUSAGE_CHILDREN, which would count the
        # memory the child shared with this process before it exec'd.
        child = subprocess.Popen(
            [
                sys.executable,
                str(Path(settings.BASE_DIR) / "manage.py"),
                "export_audit",
                "--format",
                export_format,
                "--output",
                str(output.with_suffix(output.suffix + ".own-process")),
            ]
        )
        watched, peak_bytes = psutil.Process(child.pid), 0
        while child.poll() is None:
            try:
                peak_bytes = max(peak_bytes, watched.memory_info().rss)
            except psutil.NoSuchProcess:
                break
            time.sleep(0.01)
        if child.wait() != 0:
            raise CommandError(f"export_audit failed with status {child.returncode}")
        self.stdout.write(
            f"export_audit in its own process: peak RSS {peak_bytes / MB:.1f} MB, "
            f"{time.perf_counter() - started:.1f} s"
        )
