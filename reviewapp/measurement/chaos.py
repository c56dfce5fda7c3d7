"""The chaos run behind `manage.py chaos`: ingest many documents through the API
while workers are killed with SIGKILL at random moments and Redis is killed and
restarted once, then count what was lost, duplicated or stuck.

It starts its own stack on this machine, on the configured database: a private
Redis with the production persistence settings (`local_redis.PRODUCTION_PERSISTENCE`),
daphne, N RQ workers and the housekeeping loop, all under the same supervisor
as `make run`, which restarts what dies. Documents are generated invoices with a
PDF text layer, so workers read them without OCR and a restarted worker is
ready in a second. Nothing is mocked: jobs, kills and restarts are real.
"""

from __future__ import annotations

import random
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.models import Count
from PIL import ImageFont

from reviewapp import roles
from reviewapp.audit.trail import verify_chain
from reviewapp.demo.einvoice import PdfCanvas
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document, ProcessingRun
from reviewapp.models.fields import Field, LineItem
from reviewapp.runtime.local_stack import LocalStack
from reviewapp.services.api_tokens import token_issue

CHAOS_USER = "chaos-clerk"
UNFINISHED = (Document.Status.QUEUED, Document.Status.PROCESSING)


@dataclass
class ChaosReport:
    documents: int = 0
    accepted: int = 0
    kills: int = 0
    restarts: int = 0
    redis_restarts: int = 0
    upload_retries: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    upload_seconds: float = 0.0
    drain_seconds: float = 0.0
    chain_events: int = 0
    chain_problem: str = ""

    @property
    def exactly_once(self) -> bool:
        return not (self.lost or self.duplicated or self.stuck or self.chain_problem)

    def lines(self) -> list[str]:
        return [
            f"database        {connection.vendor}",
            f"documents       {self.documents} sent, {self.accepted} accepted",
            f"kills           {self.kills} workers killed with SIGKILL",
            f"restarts        {self.restarts} worker restarts by the supervisor, "
            f"{self.redis_restarts} Redis restart(s)",
            f"upload retries  {self.upload_retries}",
            f"lost            {len(self.lost)}",
            f"duplicated      {len(self.duplicated)}",
            f"stuck           {len(self.stuck)}",
            f"failed          {len(self.failed)}",
            f"upload time     {self.upload_seconds:.1f} s",
            f"time to drain   {self.drain_seconds:.1f} s after the last upload",
            "audit chain     "
            + (
                f"{self.chain_events} events verified OK"
                if not self.chain_problem
                else f"BROKEN: {self.chain_problem}"
            ),
            "result          "
            + (
                "every document processed exactly once" if self.exactly_once else "FAIL"
            ),
        ]


def invoice_pdf(run: str, number: int) -> bytes:
    """A one-page invoice with a text layer, unique to this run and number."""
    font = ImageFont.load_default(size=28)
    small = ImageFont.load_default(size=22)
    canvas = PdfCanvas(size=(1240, 1754))
    amount = 100 + number % 900
    rows = [
        ((80, 80), "Chaos Supplies GmbH", font),
        ((80, 120), "Hauptstrasse 1, 10115 Berlin", small),
        ((900, 80), "INVOICE", font),
        ((80, 260), f"Invoice No: CH-{run}-{number:05d}", small),
        ((80, 300), "Invoice date: 16.09.2026", small),
        ((80, 420), "Qty  Description            Unit price   Amount", small),
        (
            (80, 460),
            f"1    Consulting services    {amount}.00       {amount}.00",
            small,
        ),
        ((700, 620), f"Total EUR {amount}.00", font),
    ]
    for xy, text, face in rows:
        canvas.text(xy, text, face)
    return canvas.pdf()


def chaos_token() -> str:
    roles.sync_roles(Group, Permission)
    user, created = get_user_model().objects.get_or_create(username=CHAOS_USER)
    if created:
        user.set_unusable_password()
        user.save()
    user.groups.add(Group.objects.get(name=roles.CLERK))
    return token_issue(owner=user, name="chaos run")[1]


def chaos_run(
    *,
    documents: int,
    workers: int = 2,
    kill_interval: tuple[float, float] = (1.0, 4.0),
    restart_redis: bool = True,
    upload_threads: int = 4,
    drain_timeout: float = 600.0,
    seed: int | None = None,
    say: Callable[[str], None] = print,
) -> ChaosReport:
    """Run the chaos scenario and count the outcome from the database."""
    rng = random.Random(seed)  # noqa: S311 - chaos, not cryptography
    run = secrets.token_hex(3)
    report = ChaosReport(documents=documents)
    token = chaos_token()
    log_dir = Path(tempfile.mkdtemp(prefix="vouch-chaos-"))
    stack = LocalStack(
        workers=workers,
        log_dir=log_dir,
        env={
            # The run uploads as fast as it can; production limits are per person.
            "VOUCH_API_THROTTLE_RATE": "100000/minute",
            "VOUCH_UPLOAD_THROTTLE_RATE": "100000/minute",
        },
    )
    accepted: dict[int, str] = {}
    lock = threading.Lock()
    uploading = threading.Event()
    uploading.set()
    next_number = iter(range(documents))
    redis_after = max(1, int(documents * 0.4)) if restart_redis else None

    def uploader() -> None:
        while True:
            with lock:
                number = next(next_number, None)
            if number is None:
                return
            content = invoice_pdf(run, number)
            for _ in range(60):
                status, body = stack.upload(token, f"chaos-{number}.pdf", content)
                if status in (200, 201) and body.get("document"):
                    with lock:
                        accepted[number] = body["document"]["id"]
                    break
                with lock:
                    report.upload_retries += 1
                time.sleep(0.5)

    try:
        stack.wait_until_serving()
        say(f"chaos: stack up (logs in {log_dir}); uploading {documents} documents")
        started = time.monotonic()
        threads = [threading.Thread(target=uploader) for _ in range(upload_threads)]
        for thread in threads:
            thread.start()
        next_kill = time.monotonic() + rng.uniform(*kill_interval)
        while any(thread.is_alive() for thread in threads):
            stack.supervisor.poll()
            now = time.monotonic()
            if now >= next_kill:
                if stack.kill_random_worker(rng):
                    report.kills += 1
                next_kill = now + rng.uniform(*kill_interval)
            if redis_after is not None and len(accepted) >= redis_after:
                say(
                    f"chaos: killing and restarting Redis after {len(accepted)} uploads"
                )
                stack.restart_redis()
                report.redis_restarts += 1
                redis_after = None
            time.sleep(0.05)
        report.upload_seconds = time.monotonic() - started
        report.accepted = len(accepted)
        say(
            f"chaos: {len(accepted)} accepted in {report.upload_seconds:.1f} s, "
            "draining"
        )
        drained_at = time.monotonic()
        ids = set(accepted.values())
        while time.monotonic() - drained_at < drain_timeout:
            stack.supervisor.poll()
            if not Document.objects.filter(
                public_id__in=ids, status__in=UNFINISHED
            ).exists():
                break
            time.sleep(0.5)
        report.drain_seconds = time.monotonic() - drained_at
        report.restarts = sum(child.starts - 1 for child in stack.workers)
    finally:
        stack.stop()
    _tally(report, accepted, documents)
    return report


def _tally(report: ChaosReport, accepted: dict[int, str], documents: int) -> None:
    ids = set(accepted.values())
    found = Document.objects.filter(public_id__in=ids)
    present = {str(document.public_id) for document in found}
    report.lost = sorted(ids - present) + [
        f"upload {number} never accepted"
        for number in range(documents)
        if number not in accepted
    ]
    report.stuck = [str(doc.public_id) for doc in found if doc.status in UNFINISHED]
    report.failed = [
        f"{doc.public_id}: {doc.failure_reason}"
        for doc in found
        if doc.status == Document.Status.FAILED
    ]
    primary_keys = [doc.pk for doc in found]
    duplicated: set[int] = set()
    for queryset, keys in (
        (Field.objects.filter(document__in=primary_keys), ["document", "name"]),
        (LineItem.objects.filter(document__in=primary_keys), ["document", "position"]),
        (
            ProcessingRun.objects.filter(
                document__in=primary_keys, outcome=ProcessingRun.Outcome.SUCCEEDED
            ),
            ["document"],
        ),
    ):
        repeated = queryset.values(*keys).annotate(n=Count("id")).filter(n__gt=1)
        duplicated.update(row["document"] for row in repeated)
    by_public_id = {doc.public_id: doc.pk for doc in found}
    once_per_document = [
        AuditEvent.EventType.DOCUMENT_INGESTED,
        AuditEvent.EventType.JOB_FINISHED,
    ]
    repeated_events = (
        AuditEvent.objects.filter(
            document_public_id__in=list(by_public_id), event_type__in=once_per_document
        )
        .values("document_public_id", "event_type")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    duplicated.update(
        by_public_id[row["document_public_id"]] for row in repeated_events
    )
    report.duplicated = sorted(
        str(doc.public_id) for doc in found if doc.pk in duplicated
    )
    chain = verify_chain()
    report.chain_events = chain.events
    report.chain_problem = chain.problem
