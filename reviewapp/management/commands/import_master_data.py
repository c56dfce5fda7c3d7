"""Create or update vendors, purchase orders or goods receipts from a CSV or
JSON file, printing per row what was created, updated, unchanged or rejected.

Rows that are accepted are kept even when others are rejected; the command
then exits with status 1 so a scheduled import is noticed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reviewapp.services.master_data import (
    KINDS,
    MasterDataFileError,
    master_data_import,
    read_master_data,
)


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="a .csv or .json file")
        parser.add_argument("--kind", required=True, choices=KINDS)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            content = path.read_bytes()
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error.strerror}") from None
        try:
            rows = read_master_data(path.name, content)
        except MasterDataFileError as error:
            raise CommandError(str(error)) from None
        report = master_data_import(kind=options["kind"], rows=rows)
        for row in report.rows:
            line = f"row {row.row}: {row.key}: {row.outcome}"
            if row.reasons:
                line += f" ({'; '.join(row.reasons)})"
            style = self.style.ERROR if row.outcome == "rejected" else str
            self.stdout.write(style(line))
        self.stdout.write(f"{path.name}: {report.summary}")
        rejected = report.count("rejected")
        if rejected:
            raise CommandError(
                f"{rejected} row{'s' if rejected != 1 else ''} rejected; "
                "the other rows were imported"
            )
