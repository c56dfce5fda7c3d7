"""Ingest files dropped into a folder (a scanner's or a shared drive's)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections

from reviewapp.intake import PROCESSED, REFUSED, watch_folder_scan


class Command(BaseCommand):
    help = (
        "Watch INBOX: each finished file is ingested as uploaded by --user, then "
        f"moved to INBOX/{PROCESSED}/<date>/ or, with a .reason.txt, to "
        f"INBOX/{REFUSED}/. Runs until stopped; --once scans a single time."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("inbox", type=Path)
        parser.add_argument(
            "--user", required=True, help="the folder's owner, recorded as uploader"
        )
        parser.add_argument("--once", action="store_true")
        parser.add_argument("--interval", type=float, default=5.0)
        parser.add_argument(
            "--settle",
            type=float,
            default=2.0,
            help="seconds a file must stay unchanged before it is taken",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        inbox: Path = options["inbox"]
        if not inbox.is_dir():
            raise CommandError(f"{inbox} is not a folder")
        try:
            owner = get_user_model().objects.get(username=options["user"])
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user called {options['user']!r}") from None
        if not owner.has_perm("reviewapp.add_document"):
            raise CommandError(f"{owner.username} may not upload documents")
        while True:
            for outcome in watch_folder_scan(
                inbox=inbox, owner=owner, settle_seconds=options["settle"]
            ):
                self.stdout.write(outcome.describe())
            if options["once"]:
                return
            time.sleep(options["interval"])
            # Long-running: drop a connection the database has since closed.
            close_old_connections()
