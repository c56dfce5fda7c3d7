"""Purge documents whose retention period is over: delete their files, page
images, text and values, keep the emptied row and the audit trail (values
redacted, chain intact). Safe to run repeatedly; `make run` runs it daily.
Expired documents still being read or reviewed are held until decided."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser
from django.utils import timezone

from reviewapp.management.periodic import PeriodicCommand
from reviewapp.services.retention import (
    PURGEABLE_STATUSES,
    documents_purge_expired,
    expired_documents,
)


class Command(PeriodicCommand):
    help = __doc__
    every_help = "keep running, purging every N seconds (what `make run` does)"

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="list what would be purged, and change nothing",
        )

    def run_once(self, **options: Any) -> str:
        # Reported on every round, not just a single run: a purge deletes data.
        self.purge_once(dry_run=options["dry_run"])
        return ""

    def purge_once(self, *, dry_run: bool) -> None:
        now = timezone.now()
        expired = expired_documents(now)
        held = expired.exclude(status__in=PURGEABLE_STATUSES)
        if dry_run:
            due = expired.filter(status__in=PURGEABLE_STATUSES)
            for document in due:
                self.stdout.write(
                    f"would purge {document.public_id} {document.original_name} "
                    f"(kept until {document.retain_until})"
                )
            self.stdout.write(f"{due.count()} document(s) would be purged (dry run)")
        else:
            purged = documents_purge_expired(now=now)
            for result in purged:
                self.stdout.write(
                    f"purged {result.public_id} {result.original_name} "
                    f"(kept until {result.retain_until}): {result.files} file(s), "
                    f"{result.pages} page(s), {result.fields} field(s)"
                )
            self.stdout.write(f"{len(purged)} document(s) purged")
        for document in held:
            self.stdout.write(
                f"held {document.public_id} {document.original_name}: expired but "
                f"{document.get_status_display().lower()}; purged once decided"
            )
