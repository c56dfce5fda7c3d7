"""Export people's corrections as training data (JSON Lines or PaddleOCR KIE);
the export is itself audited."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from reviewapp.learning.training_data import (
    FORMATS,
    RevealRefused,
    TrainingFilters,
    training_export,
)
from reviewapp.management.commands.export_audit import _os_user, write_export


class Command(BaseCommand):
    help = (
        "Write every field correction with its OCR evidence (machine and "
        "corrected value, box and text under it) as JSON Lines, one correction "
        "a line, or as PaddleOCR KIE (SER) labels, one corrected page image a "
        "line. Image paths are relative to MEDIA_ROOT. Sensitive values are "
        "masked; someone allowed to reveal them (an admin or supervisor) gets "
        "them in clear with --user NAME --reveal --reason '...', recorded as a "
        "reveal in the audit trail."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=FORMATS, default="jsonl")
        parser.add_argument(
            "--output", type=Path, help="write here instead of standard output"
        )
        parser.add_argument(
            "--since", type=date.fromisoformat, help="corrections from this day on"
        )
        parser.add_argument(
            "--user",
            help="who exports (recorded; their role decides whether --reveal is "
            "allowed). Default: the system, which never reveals",
        )
        parser.add_argument(
            "--reveal",
            action="store_true",
            help="sensitive values in clear (needs --user with the reveal "
            "permission and --reason)",
        )
        parser.add_argument("--reason", default="", help="why values are revealed")
        parser.add_argument(
            "--corrected-by", default="", help="only corrections by this username"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = None
        if options["user"]:
            actor = (
                get_user_model()
                .objects.filter(username=options["user"], is_active=True)
                .first()
            )
            if actor is None:
                raise CommandError(f"There is no user {options['user']!r}.")
        reason = options["reason"].strip()
        if options["reveal"] and not reason:
            raise CommandError("Say why values are revealed: --reason '...'.")
        output: Path | None = options["output"]
        try:
            lines = training_export(
                export_format=options["format"],
                filters=TrainingFilters(
                    since=options["since"], corrected_by=options["corrected_by"]
                ),
                actor=actor,
                reveal_reason=reason if options["reveal"] else "",
                destination=(
                    f"command line ({_os_user()}) to "
                    f"{output.resolve() if output else 'standard output'}"
                ),
            )
        except RevealRefused as refused:
            raise CommandError(
                f"{refused} Pass --user with such a person, or leave out --reveal."
            ) from None
        write_export(self, lines, output, what="training data")
