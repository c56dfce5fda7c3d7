"""Return documents whose review claim expired to the queue. Safe to run
repeatedly; an expired claim can be taken over even before this runs, this
makes the document reappear in everyone's queue live."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from reviewapp import services


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--every",
            type=int,
            default=0,
            help="keep running, checking every N seconds (what `make run` does)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            released = services.documents_release_expired_claims()
            for document in released:
                self.stdout.write(
                    f"released {document.public_id} {document.original_name}"
                )
            if not options["every"]:
                self.stdout.write(f"{len(released)} expired claim(s) released")
                return
            time.sleep(options["every"])
