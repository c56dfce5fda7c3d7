"""Ingest documents mailed to Vouch, from a Maildir the mail server delivers to."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections

from reviewapp.intake import mailbox_fetch


class Command(BaseCommand):
    help = (
        "Read new messages in MAILDIR (e.g. Postfix/Dovecot delivery for "
        "invoices@...), ingest their attachments as uploaded by the Vouch user "
        "whose address sent them, and reply with what became of each file. "
        "Runs until stopped; --once reads a single time."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("maildir", type=Path)
        parser.add_argument("--once", action="store_true")
        parser.add_argument("--interval", type=float, default=30.0)

    def handle(self, *args: Any, **options: Any) -> None:
        maildir: Path = options["maildir"]
        if not (maildir / "new").is_dir() or not (maildir / "cur").is_dir():
            raise CommandError(f"{maildir} is not a Maildir (no new/ and cur/)")
        while True:
            for outcome in mailbox_fetch(maildir=maildir):
                for line in outcome.report_lines():
                    self.stdout.write(line)
            if options["once"]:
                return
            time.sleep(options["interval"])
            # Long-running: drop a connection the database has since closed.
            close_old_connections()
