"""Documents that arrive without a browser: a watched folder and a mailbox.

Both hand every file to `services.document_ingest`, the same door the upload
page and the API use, and both tell the sender what happened: a watched folder
moves each file to `processed/` or to `refused/` beside a `.reason.txt`; a mail
gets a reply listing each attachment's fate. Nothing is deleted.
"""

from __future__ import annotations

import email.policy
import logging
import mailbox
import os
import socket
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import timezone

from pipeline.filetypes import describe_accepted
from reviewapp.models.documents import Document
from reviewapp.selectors.documents import quality_summary
from reviewapp.services.ingest import IngestRefused, document_ingest

logger = logging.getLogger(__name__)

PROCESSED = "processed"
REFUSED = "refused"
# Kept by Vouch, not read: the image will not read well enough (the reason
# file says what to do about it).
NEW_COPY_NEEDED = "needs-new-copy"
# The longest file name most file systems (ext4, XFS, APFS, NTFS) allow.
NAME_MAX_BYTES = 255
CLAIMED_PREFIX = ".claimed-"
# Names that editors, browsers and copy tools give files still being written.
UNFINISHED_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial", ".filepart")


@dataclass(frozen=True)
class IntakeOutcome:
    """What became of one file: a new document, a duplicate of one, or refused."""

    name: str
    document: Document | None = None
    duplicate: bool = False
    refused_reason: str = ""

    @property
    def accepted(self) -> bool:
        return self.document is not None

    @property
    def needs_new_copy(self) -> bool:
        return (
            self.document is not None
            and not self.duplicate
            and self.document.status == Document.Status.NEEDS_NEW_COPY
        )

    def describe(self) -> str:
        if self.document is None:
            return f"{self.name}: not accepted. {self.refused_reason}"
        link = document_link(self.document)
        if self.duplicate:
            return (
                f"{self.name}: already received earlier as "
                f"{self.document.original_name} ({link})"
            )
        quality = quality_summary(self.document)
        if self.needs_new_copy:
            return f"{self.name}: received but not read. {quality} ({link})"
        received = f"{self.name}: received, it will be read shortly ({link})"
        return f"{received}. {quality}" if quality else received


def document_link(document: Document) -> str:
    path = reverse("document-detail", args=[document.public_id])
    return settings.VOUCH_BASE_URL.rstrip("/") + path


def _ingest(
    name: str, content: bytes, channel: str, owner: AbstractBaseUser
) -> IntakeOutcome:
    try:
        result = document_ingest(
            content=content, original_name=name, channel=channel, uploaded_by=owner
        )
    except IngestRefused as refusal:
        return IntakeOutcome(name=name, refused_reason=refusal.reason)
    return IntakeOutcome(
        name=name, document=result.document, duplicate=result.duplicate
    )


# --- watched folder -------------------------------------------------------------


def watch_folder_scan(
    *, inbox: Path, owner: AbstractBaseUser, settle_seconds: float = 2.0
) -> list[IntakeOutcome]:
    """Ingest every finished file lying in `inbox` (not its subfolders).

    A file is taken only once its last change is `settle_seconds` old, so a
    scanner still writing it is left alone. Each file is first claimed by an
    atomic rename, so watchers on several machines never take the same file.
    """
    for folder in (inbox / PROCESSED, inbox / REFUSED, inbox / NEW_COPY_NEEDED):
        folder.mkdir(parents=True, exist_ok=True)
    claim_dir = inbox / f"{CLAIMED_PREFIX}{socket.gethostname()}-{os.getpid()}"
    outcomes = []
    now = timezone.now().timestamp()
    for path in sorted(inbox.iterdir()):
        if not _looks_finished(path, now, settle_seconds):
            continue
        claim_dir.mkdir(exist_ok=True)
        claimed = claim_dir / path.name
        try:
            path.rename(claimed)
        except FileNotFoundError:
            continue  # another watcher took it first
        try:
            content = claimed.read_bytes()
        except OSError as error:
            logger.warning("watch folder: cannot read %s: %s", claimed, error)
            claimed.rename(path)
            continue
        outcome = _ingest(path.name, content, Document.Channel.WATCH_FOLDER, owner)
        _file_away(claimed, inbox, outcome)
        outcomes.append(outcome)
    if claim_dir.exists():
        claim_dir.rmdir()
    return outcomes


def _looks_finished(path: Path, now: float, settle_seconds: float) -> bool:
    if not path.is_file() or path.name.startswith((".", "~")):
        return False
    if path.name.lower().endswith(UNFINISHED_SUFFIXES):
        return False
    return now - path.stat().st_mtime >= settle_seconds


def _file_away(claimed: Path, inbox: Path, outcome: IntakeOutcome) -> None:
    reason = ""
    if outcome.needs_new_copy:
        target_dir = inbox / NEW_COPY_NEEDED
        reason = outcome.describe()
    elif outcome.accepted:
        target_dir = inbox / PROCESSED / date.today().isoformat()
    else:
        target_dir = inbox / REFUSED
        reason = outcome.refused_reason
    target_dir.mkdir(parents=True, exist_ok=True)
    target = _free_name(target_dir / claimed.name)
    claimed.rename(target)
    if reason:
        # The sender of a watched folder reads the folder: the reason sits
        # next to the file it is about.
        _reason_path(target).write_text(reason + "\n", encoding="utf-8")


def _reason_path(target: Path) -> Path:
    """`<file name>.reason.txt`, shortened to the file system's 255 bytes when
    the sender's own name already uses them (the start of the name is kept:
    it is what the sender recognises)."""
    suffix = ".reason.txt"
    name = target.name + suffix
    if len(name.encode()) > NAME_MAX_BYTES:
        kept = target.name.encode()[: NAME_MAX_BYTES - len(suffix)]
        name = kept.decode(errors="ignore") + suffix
    return target.with_name(name)


def _free_name(path: Path) -> Path:
    candidate, number = path, 1
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
        number += 1
    return candidate


# --- mailbox ------------------------------------------------------------------


@dataclass(frozen=True)
class MailOutcome:
    sender: str
    subject: str
    files: tuple[IntakeOutcome, ...]
    replied: bool
    ignored_reason: str = ""

    def report_lines(self) -> list[str]:
        """What a mail command prints for this message."""
        if self.ignored_reason:
            return [
                f"{self.sender or 'unknown sender'}: ignored, {self.ignored_reason}"
            ]
        return [f"{self.sender}: {file.describe()}" for file in self.files]


def mailbox_fetch(*, maildir: Path) -> list[MailOutcome]:
    """Ingest the attachments of every new message in a Maildir.

    Only senders who are active Vouch users allowed to upload are served (by the
    address on their account); others are logged and left unanswered, because a
    reply to a forged sender is spam. Each handled message moves to `cur` and
    is marked seen; it is never deleted.
    """
    box = mailbox.Maildir(maildir, factory=None, create=False)
    outcomes = []
    for key in sorted(box.iterkeys()):
        message = box.get_message(key)
        if message.get_subdir() != "new":
            continue
        outcomes.append(_handle_message(message))
        message.set_subdir("cur")
        message.add_flag("S")
        box[key] = message
    return outcomes


def _handle_message(message: mailbox.MaildirMessage) -> MailOutcome:
    return handle_mail(message.as_bytes())


def handle_mail(raw: bytes) -> MailOutcome:
    """One message, whichever mailbox it came from: its attachments ingested
    as uploaded by the Vouch user who sent it, and a reply to that sender."""
    parsed = _parse(raw)
    sender = parseaddr(str(parsed.get("From", "")))[1].strip()
    subject = str(parsed.get("Subject", "")).strip()
    owner = _uploader_for(sender)
    if owner is None:
        logger.warning("mailbox: message from %r ignored: not a Vouch uploader", sender)
        return MailOutcome(
            sender=sender,
            subject=subject,
            files=(),
            replied=False,
            ignored_reason="sender is not a Vouch user allowed to upload",
        )
    files = tuple(
        _ingest(name, content, Document.Channel.EMAIL, owner)
        for name, content in _attachments(parsed)
    )
    _reply(sender, subject, files)
    return MailOutcome(sender=sender, subject=subject, files=files, replied=True)


def _parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _uploader_for(address: str) -> AbstractBaseUser | None:
    if not address:
        return None
    for user in get_user_model().objects.filter(email__iexact=address, is_active=True):
        if user.has_perm("reviewapp.add_document"):
            return user
    return None


def _attachments(message: EmailMessage) -> list[tuple[str, bytes]]:
    """Attached files; inline images only when nothing is attached, since an
    inline image is usually a logo in a signature, not the invoice."""
    attached, inline = [], []
    for part in message.walk():
        if part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        name = part.get_filename()
        content = part.get_payload(decode=True)
        if not isinstance(content, bytes):
            continue
        if disposition == "attachment":
            attached.append((name or "attachment", content))
        elif disposition == "inline" and part.get_content_maintype() == "image":
            inline.append((name or "inline image", content))
    return attached or inline


def _reply(sender: str, subject: str, files: tuple[IntakeOutcome, ...]) -> None:
    if files:
        body = "\n".join(outcome.describe() for outcome in files)
    else:
        body = (
            "No document was attached. Attach the invoices or receipts as "
            f"{describe_accepted(last='or')} files and send the message again."
        )
    send_mail(
        subject=f"Re: {subject}" if subject else "Your documents",
        message=f"Vouch received your message.\n\n{body}\n",
        from_email=None,
        recipient_list=[sender],
    )
