"""Housekeeping commands that run once, or keep running with `--every N`
(how `make run` runs them beside the web server and the workers)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections


class PeriodicCommand(BaseCommand):
    """Subclasses do one round in `run_once` and return a summary line, which
    is printed when the command runs once (a loop would repeat it forever)."""

    every_help = "keep running, every N seconds (what `make run` does)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=int, default=0, help=self.every_help)

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            summary = self.run_once(**options)
            if not options["every"]:
                if summary:
                    self.stdout.write(summary)
                return
            time.sleep(options["every"])
            # Long-running: drop a connection the database has since closed.
            close_old_connections()

    def run_once(self, **options: Any) -> str:
        raise NotImplementedError
