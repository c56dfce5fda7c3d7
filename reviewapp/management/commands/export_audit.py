"""Export the audit log as CSV or JSON Lines; the export is itself audited."""

from __future__ import annotations

import getpass
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reviewapp.audit.export import FORMATS, audit_export
from reviewapp.forms import AuditExportForm


class Command(BaseCommand):
    # A data export needs the database, not the URL and template checks, which
    # would import every view (and its libraries) and add ~40 MB to the process.
    requires_system_checks: list[str] = []
    help = (
        "Stream the audit log, filtered, as CSV or JSON Lines to a file or stdout, "
        "in constant memory. Sensitive values appear only masked."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=FORMATS, default="csv")
        parser.add_argument("--since", help="first day (YYYY-MM-DD, UTC)")
        parser.add_argument("--until", help="last day, included (YYYY-MM-DD, UTC)")
        parser.add_argument("--user", help="only events by this username")
        parser.add_argument("--document", help="only events of this document id")
        parser.add_argument("--event-type", help="only events of this type")
        parser.add_argument(
            "--output", type=Path, help="write here instead of standard output"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        form = AuditExportForm(
            {
                "format": options["format"],
                "since": options["since"] or "",
                "until": options["until"] or "",
                "user": options["user"] or "",
                "document": options["document"] or "",
                "event_type": options["event_type"] or "",
            }
        )
        if not form.is_valid():
            problems = [
                f"--{name.replace('_', '-')}: {' '.join(map(str, errors))}"
                for name, errors in form.errors.items()
            ]
            raise CommandError("; ".join(problems))
        output: Path | None = options["output"]
        chunks = audit_export(
            filters=form.filters(),
            export_format=form.cleaned_data["format"],
            destination=(
                f"command line ({_os_user()}) to "
                f"{output.resolve() if output else 'standard output'}"
            ),
        )
        write_export(self, chunks, output, what="audit log")


def write_export(
    command: BaseCommand, chunks: Iterable[str], output: Path | None, *, what: str
) -> None:
    """An export's text to `output`, or to standard output without one."""
    if output is None:
        for chunk in chunks:
            command.stdout.write(chunk, ending="")
        return
    with output.open("w", encoding="utf-8", newline="") as file:
        file.writelines(chunks)
    command.stderr.write(f"{what} written to {output}")


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in some containers
        return "unknown user"
