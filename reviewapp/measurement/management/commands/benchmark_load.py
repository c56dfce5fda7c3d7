"""Load benchmark: simulated reviewers and a scanner, driven by Locust headless."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from reviewapp.measurement.load_benchmark import load_benchmark


class Command(BaseCommand):
    help = (
        "Start a local stack on the configured database, then run Locust for "
        "--seconds: --reviewers people (sign in, open queue, open a document, "
        "claim, correct a field, approve) and one scanner uploading "
        "--uploads-per-second. Prints p50/p95/p99 per action (ms), errors and "
        "database queries per request. Target: 0 errors, p95 <= 300 ms."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reviewers", type=int, default=20)
        parser.add_argument("--seconds", type=int, default=60)
        parser.add_argument("--uploads-per-second", type=float, default=1.0)
        parser.add_argument(
            "--arrivals-per-second",
            type=float,
            default=1.0,
            help=(
                "people starting their session per second. "
                "A whole team signing in within the same second is not a "
                "working morning; raise it to measure that stampede"
            ),
        )
        parser.add_argument(
            "--prepared",
            type=int,
            default=150,
            help="documents read before the run starts, for the reviewers",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        figures = load_benchmark(
            reviewers=options["reviewers"],
            seconds=options["seconds"],
            uploads_per_second=options["uploads_per_second"],
            prepared=options["prepared"],
            arrivals_per_second=options["arrivals_per_second"],
            say=self.stdout.write,
        )
        self.stdout.write(
            f"{'action':<18}{'requests':>9}{'errors':>8}{'p50 ms':>8}"
            f"{'p95 ms':>8}{'p99 ms':>8}{'queries':>9}"
        )
        for row in figures:
            queries = f"{row.queries:.1f}" if row.queries is not None else "-"
            self.stdout.write(
                f"{row.action:<18}{row.requests:>9}{row.failures:>8}{row.p50:>8.0f}"
                f"{row.p95:>8.0f}{row.p99:>8.0f}{queries:>9}"
            )
