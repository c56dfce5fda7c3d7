"""Time the operations dashboard, the threshold simulator and /metrics over a
large history.

Makes a scratch database of its own (see `benchmark_review`; the configured
one is never written to) and fills it once with `--documents` documents
spread over the last year in a realistic mix (approved straight through or by
a person, corrected fields, exports, exceptions, failures), their fields,
processing runs, review time and audit events (chained, as the trail is);
rolls the history up into the dashboard's day rows (as `rollup_operations`
does); commits and gathers statistics as a deployed database has them; then
requests each page `--requests` times through Django's full stack and prints
p50/p95/max server milliseconds and SQL queries. The scratch database is
dropped at the end.
"""

from __future__ import annotations

import os
import random
import secrets
import statistics
import time
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandParser
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from reviewapp.audit.trail import PlainEvent, append_plain_events
from reviewapp.measurement.management.commands.benchmark_review import (
    Timing,
    allowed_client,
    time_page,
    users_for,
)
from reviewapp.measurement.scratch_database import (
    gather_statistics,
    moments_as_given,
    scratch_database,
)
from reviewapp.metric_arithmetic import percentile
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document, ProcessingRun
from reviewapp.models.fields import Field
from reviewapp.models.review import ReviewTime
from reviewapp.models.validation import ValidationIssue
from reviewapp.services.operations import operations_rollup

VENDORS = [f"Vendor {n:02} GmbH" for n in range(40)]
FIELDS = ("vendor_name", "invoice_number", "invoice_date", "total_amount", "iban")
BATCH = 5000
EventType = AuditEvent.EventType


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--documents", type=int, default=100_000)
        parser.add_argument("--requests", type=int, default=20)

    def handle(self, *args: Any, **options: Any) -> None:
        count, repeats = options["documents"], options["requests"]
        with scratch_database() as scratch:
            started = time.perf_counter()
            users = users_for()
            events = _fill(count, users["clerk"], users["supervisor"])
            seconds = time.perf_counter() - started
            filled = (
                f"{count} documents, {Field.objects.count()} fields and {events} "
                f"audit events filled in {seconds:.1f} s"
            )
            # What `rollup_operations` does after an upgrade, and then every
            # minute: the dashboard reads its day rows.
            started = time.perf_counter()
            outcome = operations_rollup()
            rolled_up = f"{outcome} in {time.perf_counter() - started:.1f} s"
            gather_statistics(scratch)
            self.stdout.write(scratch.describe(filled))
            self.stdout.write(rolled_up)
            timings = [
                time_page(users[persona], label, url, repeats)
                for persona, label, url in _pages()
            ]
            timings.append(_time_metrics(repeats))
        self.stdout.write(
            f"{'page':<32}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}"
            f"{'cpu p50':>9}{'cpu p95':>9}{'queries':>9}"
        )
        for timing in timings:
            wall, cpu = timing.milliseconds, timing.cpu_milliseconds
            self.stdout.write(
                f"{timing.label:<32}{statistics.median(wall):>9.1f}"
                f"{percentile(wall, 0.95) or 0:>9.1f}{max(wall):>9.1f}"
                f"{statistics.median(cpu):>9.1f}{percentile(cpu, 0.95) or 0:>9.1f}"
                f"{timing.queries:>9}"
            )
        self.stdout.write(
            f"Load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs: wall "
            "times include waiting for a CPU; cpu columns are this process's own."
        )


def _pages() -> list[tuple[str, str, str]]:
    """(persona, label, url) of every page timed."""
    today = timezone.localdate()
    year = f"?start={(today - timedelta(days=364)).isoformat()}&end={today}"
    dashboard = reverse("operations-dashboard")
    simulator = reverse("threshold-simulator")
    return [
        ("supervisor", "dashboard, last 30 days", dashboard),
        (
            "supervisor",
            "dashboard, 30 days, receipts",
            f"{dashboard}?document_type=receipt",
        ),
        ("supervisor", "dashboard, whole year", dashboard + year),
        (
            "supervisor",
            "dashboard CSV (throughput)",
            f"{dashboard}?chart=throughput&format=csv",
        ),
        (
            "admin",
            "simulator, total amount",
            f"{simulator}?field=total_amount&threshold=0.9",
        ),
        ("admin", "simulator, vendor name", f"{simulator}?field=vendor_name"),
    ]


def _time_metrics(repeats: int) -> Timing:
    """/metrics as Prometheus scrapes it: by token, no session."""
    token = secrets.token_urlsafe(24)
    with override_settings(VOUCH_METRICS_TOKEN=token):
        client = allowed_client(HTTP_AUTHORIZATION=f"Bearer {token}")
        client.get(reverse("metrics"))
        milliseconds, cpu_milliseconds = [], []
        for _ in range(repeats):
            started, cpu_started = time.perf_counter(), time.process_time()
            response = client.get(reverse("metrics"))
            milliseconds.append((time.perf_counter() - started) * 1000)
            cpu_milliseconds.append((time.process_time() - cpu_started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"/metrics answered {response.status_code}")
    return Timing("metrics (Prometheus scrape)", milliseconds, 0, cpu_milliseconds)


def _fill(count: int, clerk: User, supervisor: User) -> int:
    """The history; returns how many audit events it appended."""
    rng = random.Random(13)  # noqa: S311 - synthetic data, not secrets
    now = timezone.now()
    documents, moments = [], []
    for index in range(count):
        created = now - timedelta(seconds=rng.uniform(0, 365 * 86400))
        moments.append(created)
        roll = rng.random()
        status = (
            Document.Status.APPROVED
            if roll < 0.72
            else Document.Status.READY
            if roll < 0.82
            else Document.Status.CLAIMED
            if roll < 0.84
            else Document.Status.ESCALATED
            if roll < 0.89
            else Document.Status.REJECTED
            if roll < 0.92
            else Document.Status.FAILED
            if roll < 0.97
            else Document.Status.QUEUED
        )
        read = status != Document.Status.QUEUED
        processed = created + timedelta(seconds=rng.uniform(2, 600)) if read else None
        decided: datetime | None = None
        if processed and status in (Document.Status.APPROVED, Document.Status.REJECTED):
            decided = processed + timedelta(minutes=rng.expovariate(1 / 600))
        straight = status == Document.Status.APPROVED and rng.random() < 0.4
        exported = (
            decided + timedelta(hours=rng.uniform(1, 48))
            if decided and status == Document.Status.APPROVED and rng.random() < 0.7
            else None
        )
        documents.append(
            Document(
                original_name=f"bench-{index:06}.pdf",
                sha256=secrets.token_hex(32),
                content_type="application/pdf",
                size_bytes=80_000,
                page_count=1 + (index % 3 == 0),
                status=status,
                failure_reason="the file is not a PDF" if status == "failed" else "",
                document_type="receipt" if index % 5 == 0 else "invoice",
                document_type_confidence=0.6 if index % 23 == 0 else 0.97,
                channel=Document.Channel.UPLOAD,
                uploaded_by=clerk,
                processed_at=processed,
                decided_at=decided,
                decided_by=None if straight or not decided else clerk,
                straight_through=straight,
                exported_at=exported,
                vendor_name=VENDORS[index % len(VENDORS)],
            )
        )
    for document, created in zip(documents, moments, strict=True):
        document.created_at = created
        document.status_changed_at = (
            document.decided_at or document.processed_at or created
        )
    with moments_as_given(Document, "created_at", "status_changed_at"):
        rows = Document.objects.bulk_create(documents, batch_size=BATCH)
    _fill_details(rows, rng, clerk, supervisor)
    return append_plain_events(_events(rows), batch_size=BATCH)


def _fill_details(
    rows: list[Document], rng: random.Random, clerk: User, supervisor: User
) -> None:
    settled = timezone.now() - timedelta(hours=1)
    fields, runs, issues, spent = [], [], [], []
    for document in rows:
        if document.status == Document.Status.QUEUED:
            continue
        runs.append(
            ProcessingRun(
                document=document,
                attempt=1,
                worker="bench:worker-1",
                # History, as run ids are in production: settled (RUN_SETTLE)
                # before the rollup runs. Stamped now by the fill, or at a
                # read moment the history's last minutes put after now, they
                # stopped the rollup's run watermark part-way.
                started_at=min(document.processed_at or document.created_at, settled),
                outcome="failed" if document.status == "failed" else "succeeded",
                stage_seconds={
                    "decode": round(rng.uniform(0.05, 0.4), 3),
                    "text": round(rng.uniform(0.8, 6.0), 3),
                    "extract": round(rng.uniform(0.01, 0.2), 3),
                },
            )
        )
        if document.status == Document.Status.FAILED:
            continue
        human = document.decided_by_id is not None
        for name in FIELDS:
            confidence = min(1.0, max(0.0, rng.gauss(0.9, 0.08)))
            machine = f"{name}-{document.pk}"
            # Lower confidence, likelier wrong: what the simulator must find.
            wrong = human and rng.random() < (1 - confidence) * 1.5
            fields.append(
                Field(
                    document=document,
                    name=name,
                    value=f"fixed-{machine}" if wrong else machine,
                    machine_value=machine,
                    confidence=1.0 if wrong else confidence,
                    machine_confidence=confidence,
                    set_by="human" if wrong else "machine",
                )
            )
        if rng.random() < 0.06:
            issues.append(
                ValidationIssue(
                    document=document,
                    rule="two_way_match",
                    code="po_mismatch",
                    severity="error",
                    message="bills more than the PO",
                )
            )
        if human:
            reviewer = clerk if rng.random() < 0.7 else supervisor
            spent.append(
                ReviewTime(
                    document=document,
                    user=reviewer,
                    username=reviewer.username,
                    page_view=secrets.token_hex(16),
                    active_seconds=rng.uniform(10, 240),
                    field_seconds={"total_amount": rng.uniform(1, 20)},
                    updated_at=document.decided_at or document.created_at,
                )
            )
    Field.objects.bulk_create(fields, batch_size=BATCH)
    with moments_as_given(ProcessingRun, "started_at"):
        ProcessingRun.objects.bulk_create(runs, batch_size=BATCH)
    ValidationIssue.objects.bulk_create(issues, batch_size=BATCH)
    with moments_as_given(ReviewTime, "updated_at"):
        ReviewTime.objects.bulk_create(spent, batch_size=BATCH)


def _events(rows: list[Document]) -> Any:
    for document in rows:
        if document.status == Document.Status.QUEUED:
            continue
        yield PlainEvent(EventType.JOB_STARTED, document_public_id=document.public_id)
        if document.status == Document.Status.FAILED:
            yield PlainEvent(
                EventType.JOB_FAILED,
                document_public_id=document.public_id,
                details={"reason": document.failure_reason},
            )
            continue
        yield PlainEvent(EventType.JOB_FINISHED, document_public_id=document.public_id)
        if document.status == Document.Status.APPROVED:
            yield PlainEvent(
                EventType.DOCUMENT_APPROVED,
                document_public_id=document.public_id,
                details={"straight_through": document.straight_through},
            )
