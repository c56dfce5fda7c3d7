"""Ingest documents mailed to an IMAP mailbox (VOUCH_IMAP_* settings)."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections

from reviewapp.imap_intake import ImapAccount, ImapError, imap_fetch

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Read the messages in the IMAP folder VOUCH_IMAP_* names that Vouch has "
        "not read yet, ingest their attachments as uploaded by the Vouch user "
        "whose address sent them, reply with what became of each file, and mark "
        "each message read by Vouch once its files are stored. Runs every "
        "VOUCH_IMAP_INTERVAL seconds until stopped; --once reads a single time."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        account = ImapAccount.from_settings()
        if account is None:
            raise CommandError("set VOUCH_IMAP_HOST (and _USER, _PASSWORD) first")
        while True:
            try:
                outcomes = imap_fetch(account=account)
            except ImapError as error:
                if options["once"]:
                    raise CommandError(str(error)) from None
                # A mail server that is down for a while is not our failure.
                logger.warning("IMAP: %s; trying again later", error)
                outcomes = []
            for outcome in outcomes:
                for line in outcome.report_lines():
                    self.stdout.write(line)
            if options["once"]:
                return
            time.sleep(settings.VOUCH_IMAP_INTERVAL)
            close_old_connections()
