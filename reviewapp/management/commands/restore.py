"""Load a backup folder into a fresh, migrated database and empty storage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reviewapp.runtime.backup import BackupError, backup_restore


class Command(BaseCommand):
    help = (
        "Restore SOURCE (written by `manage.py backup`) into this database, which "
        "must be migrated and empty, and into empty storage; then check counts, "
        "file checksums and the audit chain. Exits 1 on any mismatch."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", type=Path)

    def handle(self, *args: Any, source: Path, **options: Any) -> None:
        try:
            report = backup_restore(source=source)
        except BackupError as error:
            raise CommandError(str(error)) from None
        for problem in report.problems:
            self.stderr.write(problem)
        if report.problems:
            raise CommandError("restore finished with the problems above")
        self.stdout.write(
            f"restored {report.counts.get('reviewapp.Document', 0)} document(s), "
            f"{report.files} file(s), {report.chain_events} audit event(s): "
            "chain verified OK"
        )
