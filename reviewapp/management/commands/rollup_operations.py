"""Bring the operations dashboard's day rows up to date: fold in the documents
created or changed since the last run. The first run (or `--rebuild`) counts
every document: the backfill after upgrading. Safe to run repeatedly, and
side by side."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from reviewapp.management.periodic import PeriodicCommand
from reviewapp.services.operations import operations_rollup


class Command(PeriodicCommand):
    help = __doc__
    every_help = "keep running, folding in changes every N seconds (`make run`)"

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--rebuild",
            action="store_true",
            help="count every document again from scratch",
        )

    def run_once(self, **options: Any) -> str:
        rebuild = options["rebuild"]
        # A loop rebuilds once, at its start; after that it only folds changes.
        options["rebuild"] = False
        return str(operations_rollup(rebuild=rebuild))
