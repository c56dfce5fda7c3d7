"""Documents mailed to an IMAP mailbox: the same rules as the Maildir reader
(`reviewapp.intake`), for a mailbox Vouch does not share a disk with.

A message is marked read by Vouch only after its attachments are stored (the
`$VouchRead` keyword, plus \\Seen): a poller that dies mid-message finds it
again next time, and the same attachment ingested twice is recognised by its
SHA-256. Messages are fetched with BODY.PEEK, so looking changes nothing, and
never deleted or moved. A server that keeps no keywords is served by \\Seen.
"""

from __future__ import annotations

import imaplib
import logging
import re
from dataclasses import dataclass

from django.conf import settings

from reviewapp.intake import MailOutcome, handle_mail

logger = logging.getLogger(__name__)

READ_KEYWORD = "$VouchRead"
_UID = re.compile(rb"UID (\d+)")


class ImapError(Exception):
    """The mailbox could not be read; the message says why (never the password)."""


@dataclass(frozen=True)
class ImapAccount:
    host: str
    port: int
    user: str
    password: str
    folder: str = "INBOX"
    ssl: bool = True

    @classmethod
    def from_settings(cls) -> ImapAccount | None:
        """The account in VOUCH_IMAP_*; None when no host is configured."""
        if not settings.VOUCH_IMAP_HOST:
            return None
        return cls(
            host=settings.VOUCH_IMAP_HOST,
            port=settings.VOUCH_IMAP_PORT,
            user=settings.VOUCH_IMAP_USER,
            password=settings.VOUCH_IMAP_PASSWORD,
            folder=settings.VOUCH_IMAP_FOLDER,
            ssl=settings.VOUCH_IMAP_SSL,
        )

    def describe(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.folder}"


def imap_fetch(*, account: ImapAccount, timeout: float = 30.0) -> list[MailOutcome]:
    """Ingest the attachments of every message in the folder that Vouch has
    not read yet, replying to each sender as the Maildir reader does."""
    connection_class = imaplib.IMAP4_SSL if account.ssl else imaplib.IMAP4
    try:
        client = connection_class(account.host, account.port, timeout=timeout)
    except OSError as error:
        raise ImapError(f"cannot reach {account.describe()}: {error}") from None
    try:
        try:
            client.login(account.user, account.password)
        except imaplib.IMAP4.error:
            raise ImapError(f"{account.describe()} refused the login") from None
        status, _ = client.select(_quoted(account.folder))
        if status != "OK":
            raise ImapError(f"{account.describe()}: no such folder")
        keywords = _keeps_keywords(client)
        criteria = f"UNKEYWORD {READ_KEYWORD}" if keywords else "UNSEEN"
        status, found = client.uid("SEARCH", None, criteria)
        if status != "OK":
            raise ImapError(f"{account.describe()}: search failed")
        outcomes = []
        for uid in found[0].split():
            message = _fetch(client, uid)
            if message is None:
                continue
            outcomes.append(handle_mail(message))
            # Only now, with every attachment stored: read by Vouch.
            flags = f"(\\Seen {READ_KEYWORD})" if keywords else "(\\Seen)"
            client.uid("STORE", uid, "+FLAGS.SILENT", flags)
        return outcomes
    except (imaplib.IMAP4.error, OSError) as error:
        raise ImapError(f"{account.describe()}: {error}") from None
    finally:
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            logger.debug("IMAP logout failed", exc_info=True)


def _fetch(client: imaplib.IMAP4, uid: bytes) -> bytes | None:
    status, data = client.uid("FETCH", uid, "(BODY.PEEK[])")
    if status != "OK":
        return None
    for part in data:
        if isinstance(part, tuple) and _UID.search(part[0]):
            return bytes(part[1])
    return None


def _keeps_keywords(client: imaplib.IMAP4) -> bool:
    """Whether the folder stores keywords of our own (PERMANENTFLAGS has \\*)."""
    _, data = client.response("PERMANENTFLAGS")
    return any(b"\\*" in (item or b"") for item in data)


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
