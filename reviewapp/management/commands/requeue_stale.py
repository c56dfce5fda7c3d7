"""Re-enqueue documents stuck in queued or processing. Safe to run repeatedly."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import CommandParser

from reviewapp.management.periodic import PeriodicCommand
from reviewapp.services.processing import documents_requeue_stale


class Command(PeriodicCommand):
    help = __doc__
    every_help = "keep running, checking every N seconds (what `make run` does)"

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--older-than",
            type=int,
            default=None,
            help="seconds without a status change (default VOUCH_STALE_AFTER_SECONDS)",
        )

    def run_once(self, **options: Any) -> str:
        older_than = (
            timedelta(seconds=options["older_than"])
            if options["older_than"] is not None
            else None
        )
        requeued = documents_requeue_stale(older_than=older_than)
        for document in requeued:
            self.stdout.write(f"requeued {document.public_id} {document.original_name}")
        return f"{len(requeued)} document(s) requeued"
