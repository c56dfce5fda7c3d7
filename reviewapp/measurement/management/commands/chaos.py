"""Chaos run: ingest through the API while workers are SIGKILLed and Redis restarts."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reviewapp.measurement.chaos import chaos_run


class Command(BaseCommand):
    help = (
        "Start a local stack on the configured database, upload --documents "
        "generated invoices through the API while a worker is killed with SIGKILL "
        "every 1-4 s (the supervisor restarts it) and Redis is killed and restarted "
        "once; then print documents, kills, restarts, lost, duplicated, stuck and "
        "the time to drain. Exits 1 unless every document was processed exactly once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--documents", type=int, default=1000)
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--min-kill-interval", type=float, default=1.0)
        parser.add_argument("--max-kill-interval", type=float, default=4.0)
        parser.add_argument("--no-redis-restart", action="store_true")
        parser.add_argument("--drain-timeout", type=float, default=900.0)
        parser.add_argument("--seed", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        report = chaos_run(
            documents=options["documents"],
            workers=options["workers"],
            kill_interval=(options["min_kill_interval"], options["max_kill_interval"]),
            restart_redis=not options["no_redis_restart"],
            drain_timeout=options["drain_timeout"],
            seed=options["seed"],
            say=self.stdout.write,
        )
        for line in report.lines():
            self.stdout.write(line)
        for label, problems in (
            ("lost", report.lost),
            ("duplicated", report.duplicated),
            ("stuck", report.stuck),
            ("failed", report.failed),
        ):
            for problem in problems[:10]:
                self.stderr.write(f"{label}: {problem}")
        if not report.exactly_once:
            raise CommandError("chaos run: not every document was processed once")
