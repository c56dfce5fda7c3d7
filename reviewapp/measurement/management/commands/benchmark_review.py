"""Time the queue and review pages with many documents in the database.

Makes a scratch database of its own (named from the configured one, which it
never writes to), migrates it, fills it once with `--documents` synthetic
read documents (fields, a page with text lines), commits them and gathers
statistics as a deployed database has them (VACUUM ANALYZE on PostgreSQL);
then requests each page `--requests` times through Django's full stack
(middleware, session, templates) and prints p50/p95/max server milliseconds,
the process's CPU milliseconds (p50/p95) and SQL queries per request. The
scratch database is dropped at the end.
"""

from __future__ import annotations

import os
import secrets
import statistics
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from reviewapp import review_reasons, roles
from reviewapp.measurement.management.commands.benchmark_ocr import percentile
from reviewapp.measurement.scratch_database import (
    gather_statistics,
    moments_as_given,
    scratch_database,
)
from reviewapp.models.documents import Document, Page, TextLine
from reviewapp.models.fields import Field
from reviewapp.thresholds import review_thresholds

VENDORS = ("ACME GmbH", "Globex Ltd", "Initech", "Umbrella AG", "Stark Supplies")
LINES_PER_PAGE = 60
BATCH = 2000


@dataclass(frozen=True)
class Timing:
    label: str
    milliseconds: list[float]
    queries: int
    # CPU time of this process per request (SQLite runs in it): what the
    # request costs, apart from waiting for a CPU on a shared machine.
    cpu_milliseconds: list[float] = field(default_factory=list)


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--documents", type=int, default=10_000)
        parser.add_argument("--requests", type=int, default=30)

    def handle(self, *args: Any, **options: Any) -> None:
        count, repeats = options["documents"], options["requests"]
        with scratch_database() as scratch:
            started = time.perf_counter()
            users = users_for()
            review_id = _fill(count, users["clerk"], users["supervisor"])
            seconds = time.perf_counter() - started
            filled = f"{count} documents filled in {seconds:.1f} s"
            gather_statistics(scratch)
            self.stdout.write(scratch.describe(filled))
            timings = [
                time_page(users[persona], label, url, repeats)
                for persona, label, url in pages_for(count, review_id)
            ]
        self.stdout.write(
            f"{'page':<28}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}"
            f"{'cpu p50':>9}{'cpu p95':>9}{'queries':>9}"
        )
        for timing in timings:
            wall, cpu = timing.milliseconds, timing.cpu_milliseconds
            self.stdout.write(
                f"{timing.label:<28}{statistics.median(wall):>9.1f}"
                f"{percentile(wall, 0.95):>9.1f}{max(wall):>9.1f}"
                f"{statistics.median(cpu):>9.1f}{percentile(cpu, 0.95):>9.1f}"
                f"{timing.queries:>9}"
            )
        self.stdout.write(
            f"Load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs: wall "
            "times include waiting for a CPU; cpu columns are this process's own."
        )


def pages_for(count: int, review_id: str) -> list[tuple[str, str, str]]:
    """(persona, label, url) of every page timed; the middle page of my queue
    is the deepest a person pages to (half the documents wait in it)."""
    mine = reverse("queue", args=["mine"])
    middle = max(1, count // 2 // 25)
    return [
        ("clerk", "my queue, page 1", mine),
        ("clerk", f"my queue, page {middle}", f"{mine}?page={middle}"),
        ("clerk", "my queue, vendor filter", f"{mine}?vendor=globex&sort=vendor"),
        ("clerk", "my queue, least sure first", f"{mine}?sort=least_sure"),
        ("supervisor", "exception queue", reverse("queue", args=["exceptions"])),
        ("admin", "admin overview", reverse("queue", args=["overview"])),
        ("clerk", "review page", reverse("document-detail", args=[review_id])),
    ]


def users_for() -> dict[str, User]:
    roles.sync_roles(Group, Permission)
    users = {}
    for role in (roles.CLERK, roles.SUPERVISOR, roles.ADMIN):
        user = User.objects.create(username=f"benchmark-{role}-{secrets.token_hex(4)}")
        user.groups.add(Group.objects.get(name=role))
        users[role] = user
    return users


def _fill(count: int, clerk: User, supervisor: User) -> str:
    """`count` read documents, oldest first, in a realistic mix of states;
    returns the public id of one to open on the review page."""
    now = timezone.now()
    statuses = (
        [Document.Status.READY] * 6
        + [Document.Status.CLAIMED, Document.Status.ESCALATED]
        + [Document.Status.APPROVED] * 2
    )
    documents = []
    for index in range(count):
        status = statuses[index % len(statuses)]
        values = _field_values(index)
        claimed = status == Document.Status.CLAIMED
        documents.append(
            Document(
                original_name=f"invoice-{index:05}.pdf",
                sha256=secrets.token_hex(32),
                content_type="application/pdf",
                size_bytes=50_000,
                page_count=1,
                status=status,
                channel=Document.Channel.UPLOAD,
                uploaded_by=clerk,
                created_at=now - timedelta(minutes=count - index),
                claimed_by=supervisor if claimed else None,
                claim_expires_at=now + timedelta(minutes=20) if claimed else None,
                escalation_reason=(
                    Document.EscalationReason.WRONG_DATA
                    if status == Document.Status.ESCALATED
                    else ""
                ),
                escalated_by=clerk if status == Document.Status.ESCALATED else None,
                vendor_name=values["vendor_name"][0],
                confidence=review_reasons.document_confidence(
                    [
                        (name, value, confidence)
                        for name, (value, confidence) in values.items()
                    ]
                ),
                review_reason=review_reasons.reason_for(
                    [
                        (name, value, confidence)
                        for name, (value, confidence) in values.items()
                    ],
                    flag_below=review_thresholds(),
                ),
            )
        )
    with moments_as_given(Document, "created_at"):
        created = Document.objects.bulk_create(documents, batch_size=BATCH)
    fields = []
    for index, document in enumerate(created):
        values = _field_values(index)
        fields += [
            Field(document=document, name=name, value=value, machine_value=value,
                  confidence=confidence, machine_confidence=confidence)
            for name, (value, confidence) in values.items()
        ]  # fmt: skip
    Field.objects.bulk_create(fields, batch_size=BATCH)
    target = created[0]
    page = Page.objects.create(
        document=target, number=1, image="", width=1240, height=1754, dpi=150,
        text_source=Page.TextSource.OCR,
    )  # fmt: skip
    TextLine.objects.bulk_create(
        TextLine(page=page, order=order, text=f"Line {order} of the invoice",
                 confidence=0.9, polygon=[[40, 20 * order], [600, 20 * order],
                 [600, 20 * order + 16], [40, 20 * order + 16]],
                 x0=40, y0=20 * order, x1=600, y1=20 * order + 16)
        for order in range(LINES_PER_PAGE)
    )  # fmt: skip
    return str(target.public_id)


def _field_values(index: int) -> dict[str, tuple[str, float]]:
    values = {
        "vendor_name": (VENDORS[index % len(VENDORS)], 0.95),
        "invoice_number": (f"INV-{index:05}", 0.9),
        "invoice_date": ("2026-03-01", 0.97),
        "total_amount": (f"{100 + index % 900}.50", 0.5 + (index % 5) / 10),
        "iban": ("DE89 3704 0044 0532 0130 00", 0.93),
    }
    if index % 7 == 0:  # some documents lack a date
        del values["invoice_date"]
    return values


def allowed_client(**headers: str) -> Client:
    """A test client whose Host is one ALLOWED_HOSTS accepts."""
    host = next((h for h in settings.ALLOWED_HOSTS if h not in ("*", "")), "localhost")
    return Client(HTTP_HOST=host.lstrip("."), **headers)


def time_page(user: User, label: str, url: str, repeats: int) -> Timing:
    client = allowed_client()
    client.force_login(user)
    client.get(url)  # warm: template loading, permission caches
    milliseconds, cpu_milliseconds = [], []
    queries = 0
    for _ in range(repeats):
        with CaptureQueriesContext(connection) as captured:
            started, cpu_started = time.perf_counter(), time.process_time()
            response = client.get(url)
            milliseconds.append((time.perf_counter() - started) * 1000)
            cpu_milliseconds.append((time.process_time() - cpu_started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
        queries = len(captured.captured_queries)
    return Timing(label, milliseconds, queries, cpu_milliseconds)
