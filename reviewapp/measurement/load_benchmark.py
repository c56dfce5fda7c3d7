"""`manage.py benchmark_load`: reviewers and a scanner against a real local
stack, driven by Locust (loadtest/locustfile.py) run headless in its own process.

Prints p50/p95/p99 per action, errors and the database queries per request
(each response carries its count when VOUCH_QUERY_COUNT_HEADER is on, which
this benchmark turns on for its own server only). Figures, not assertions:
the target is 0 errors and p95 <= 300 ms per action.
"""

from __future__ import annotations

import csv
import json
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection

from reviewapp import roles
from reviewapp.measurement.chaos import invoice_pdf
from reviewapp.models.documents import Document
from reviewapp.runtime.local_stack import LocalStack
from reviewapp.services.api_tokens import token_issue

LOCUSTFILE = Path(settings.BASE_DIR) / "loadtest" / "locustfile.py"


@dataclass(frozen=True)
class ActionFigures:
    action: str
    requests: int
    failures: int
    p50: float
    p95: float
    p99: float
    queries: float | None


def _user(username: str, password: str | None) -> object:
    roles.sync_roles(Group, Permission)
    user, _ = get_user_model().objects.get_or_create(username=username)
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.save()
    user.groups.add(Group.objects.get(name=roles.CLERK))
    return user


def load_benchmark(
    *,
    reviewers: int,
    seconds: int,
    uploads_per_second: float,
    prepared: int,
    arrivals_per_second: float = 1.0,
    say: Callable[[str], None] = print,
) -> list[ActionFigures]:
    """Prepare users and documents, run Locust for `seconds`, return figures."""
    work = Path(tempfile.mkdtemp(prefix="vouch-load-"))
    run = secrets.token_hex(3)
    logins = []
    for number in range(reviewers):
        password = secrets.token_urlsafe(12)
        _user(f"load-reviewer-{number:02d}", password)
        logins.append([f"load-reviewer-{number:02d}", password])
    scanner = _user("load-scanner", None)
    token = token_issue(owner=scanner, name="load benchmark")[1]
    uploads = []
    for number in range(int(seconds * uploads_per_second) + 5):
        path = work / f"scan-{number}.pdf"
        path.write_bytes(invoice_pdf(f"{run}u", number))
        uploads.append(str(path))
    stack = LocalStack(
        workers=1,
        log_dir=work,
        env={
            "VOUCH_QUERY_COUNT_HEADER": "1",
            "VOUCH_UPLOAD_THROTTLE_RATE": "100000/minute",
            "VOUCH_API_THROTTLE_RATE": "100000/minute",
        },
    )
    try:
        stack.wait_until_serving()
        say(f"load: preparing {prepared} documents to review (logs in {work})")
        ids = []
        for number in range(prepared):
            status, body = stack.upload(
                token, f"prep-{number}.pdf", invoice_pdf(run, number)
            )
            if status in (200, 201):
                ids.append(body["document"]["id"])
        deadline = time.monotonic() + 600
        while (
            time.monotonic() < deadline
            and Document.objects.filter(
                public_id__in=ids,
                status__in=[Document.Status.QUEUED, Document.Status.PROCESSING],
            ).exists()
        ):
            stack.supervisor.poll()
            time.sleep(0.5)
        config = work / "config.json"
        config.write_text(
            json.dumps(
                {
                    "reviewers": logins,
                    "reviewer_count": reviewers,
                    "uploads": uploads,
                    "uploads_per_second": uploads_per_second,
                    "token": token,
                }
            )
        )
        queries_file = work / "queries.json"
        say(
            f"load: {reviewers} reviewers + 1 scanner ({uploads_per_second}/s) "
            f"for {seconds} s on {connection.vendor}, people arriving "
            f"{arrivals_per_second}/s"
        )
        subprocess.run(
            [
                sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
                "--users", str(reviewers + 1), "--spawn-rate", str(arrivals_per_second),
                "--run-time", f"{seconds}s", "--host", stack.url,
                "--csv", str(work / "stats"), "--only-summary", "--loglevel", "WARNING",
                "--stop-timeout", "10",
            ],
            env={
                **stack.env,
                "VOUCH_LOAD_CONFIG": str(config),
                "VOUCH_LOAD_QUERIES": str(queries_file),
            },
            cwd=settings.BASE_DIR,
            check=False,
            timeout=seconds + 120,
        )  # fmt: skip
    finally:
        stack.stop()
    queries = json.loads(queries_file.read_text()) if queries_file.exists() else {}
    return _figures(work / "stats_stats.csv", queries)


def _figures(stats_csv: Path, queries: dict[str, list[int]]) -> list[ActionFigures]:
    figures = []
    with stats_csv.open(newline="") as stats:
        for row in csv.DictReader(stats):
            name = row["Name"]
            counts = queries.get(name)
            figures.append(
                ActionFigures(
                    action=name,
                    requests=int(row["Request Count"]),
                    failures=int(row["Failure Count"]),
                    p50=float(row["50%"]),
                    p95=float(row["95%"]),
                    p99=float(row["99%"]),
                    queries=statistics.mean(counts) if counts else None,
                )
            )
    return figures
