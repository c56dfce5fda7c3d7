"""Re-enqueue documents stuck in queued or processing. Safe to run repeatedly."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from reviewapp import services


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=int,
            default=None,
            help="seconds without a status change (default VOUCH_STALE_AFTER_SECONDS)",
        )
        parser.add_argument(
            "--every",
            type=int,
            default=0,
            help="keep running, checking every N seconds (what `make run` does)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        older_than = (
            timedelta(seconds=options["older_than"])
            if options["older_than"] is not None
            else None
        )
        while True:
            requeued = services.documents_requeue_stale(older_than=older_than)
            for document in requeued:
                self.stdout.write(
                    f"requeued {document.public_id} {document.original_name}"
                )
            if not options["every"]:
                self.stdout.write(f"{len(requeued)} document(s) requeued")
                return
            time.sleep(options["every"])
