"""Dump the database and the stored files into one consistent backup folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reviewapp.runtime.backup import BackupError, backup_create


class Command(BaseCommand):
    help = (
        "Write DESTINATION (a new folder): database.xml, files/ and manifest.json "
        "with counts and SHA-256 checksums. Restore with `manage.py restore`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("destination", type=Path)

    def handle(self, *args: Any, destination: Path, **options: Any) -> None:
        try:
            report = backup_create(destination=destination)
        except BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"backup written to {report.path}: "
            f"{report.counts.get('reviewapp.Document', 0)} document(s), "
            f"{report.counts.get('reviewapp.AuditEvent', 0)} audit event(s), "
            f"{report.files} file(s), {report.bytes / 1048576:.1f} MB"
        )
