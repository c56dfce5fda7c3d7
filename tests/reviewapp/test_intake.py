"""Documents that arrive by watched folder and by mail, told back what happened."""

from __future__ import annotations

import mailbox
import os
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import CommandError, call_command

from reviewapp.intake import mailbox_fetch, watch_folder_scan
from reviewapp.models.documents import Document

pytestmark = pytest.mark.django_db

NOT_A_DOCUMENT = b"Dear supplier, please find our order below.\n"


def aged(path: Path, seconds: float = 60) -> Path:
    """Backdate a file as if it had been written `seconds` ago."""
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def test_a_finished_file_becomes_a_document_and_moves_to_processed(
    clerk: User, inbox: Path, media_root: Path, invoice_png: bytes
) -> None:
    (inbox / "scan-0001.png").write_bytes(invoice_png)
    aged(inbox / "scan-0001.png")

    (outcome,) = watch_folder_scan(inbox=inbox, owner=clerk)

    document = Document.objects.get()
    assert outcome.document == document
    assert document.channel == Document.Channel.WATCH_FOLDER
    assert document.uploaded_by == clerk
    assert document.original_name == "scan-0001.png"
    assert not (inbox / "scan-0001.png").exists()
    (moved,) = (inbox / "processed").rglob("scan-0001.png")
    assert moved.read_bytes() == invoice_png  # kept, untouched


def test_a_refused_file_is_kept_with_its_reason_beside_it(
    clerk: User, inbox: Path, media_root: Path
) -> None:
    aged_file = inbox / "letter.png"
    aged_file.write_bytes(NOT_A_DOCUMENT)
    aged(aged_file)

    (outcome,) = watch_folder_scan(inbox=inbox, owner=clerk)

    assert not outcome.accepted
    assert Document.objects.count() == 0
    assert (inbox / "refused" / "letter.png").read_bytes() == NOT_A_DOCUMENT
    reason = (inbox / "refused" / "letter.png.reason.txt").read_text()
    assert "letter.png is not a file Vouch can read" in reason


def test_a_name_at_the_file_system_limit_still_gets_its_reason(
    clerk: User, inbox: Path, media_root: Path
) -> None:
    name = "a" * 251 + ".png"  # 255 bytes: no room for ".reason.txt"
    aged_file = inbox / name
    aged_file.write_bytes(NOT_A_DOCUMENT)
    aged(aged_file)

    (outcome,) = watch_folder_scan(inbox=inbox, owner=clerk)

    assert not outcome.accepted
    assert (inbox / "refused" / name).read_bytes() == NOT_A_DOCUMENT
    [reason_file] = (inbox / "refused").glob("*.reason.txt")
    assert len(reason_file.name.encode()) == 255
    assert reason_file.name.startswith("aaaa")
    assert "is not a file Vouch can read" in reason_file.read_text()


def test_files_still_being_written_are_left_alone(
    clerk: User, inbox: Path, media_root: Path, invoice_png: bytes
) -> None:
    (inbox / "fresh.png").write_bytes(invoice_png)  # written just now
    partial = inbox / "big.pdf.part"
    partial.write_bytes(b"%PDF-1.7 ...")
    aged(partial)
    hidden = inbox / ".DS_Store"
    hidden.write_bytes(b"\0")
    aged(hidden)

    assert watch_folder_scan(inbox=inbox, owner=clerk, settle_seconds=30) == []
    assert {p.name for p in inbox.iterdir() if p.is_file()} == {
        "fresh.png",
        "big.pdf.part",
        ".DS_Store",
    }


def test_the_same_scan_twice_is_a_duplicate_and_both_copies_are_kept(
    clerk: User, inbox: Path, media_root: Path, invoice_png: bytes
) -> None:
    for name in ("a.png", "b.png"):
        (inbox / name).write_bytes(invoice_png)
        aged(inbox / name)

    first, second = watch_folder_scan(inbox=inbox, owner=clerk)

    assert first.duplicate is False
    assert second.duplicate is True
    assert second.document == first.document
    assert "already received earlier as a.png" in second.describe()
    assert len(list((inbox / "processed").rglob("*.png"))) == 2


def test_watch_folder_command_refuses_an_owner_who_may_not_upload(
    outsider: User, inbox: Path
) -> None:
    with pytest.raises(CommandError, match="may not upload"):
        call_command("watch_folder", str(inbox), user="outsider", once=True)


# --- mail -------------------------------------------------------------------


@pytest.fixture
def maildir(tmp_path: Path) -> mailbox.Maildir:
    return mailbox.Maildir(tmp_path / "Maildir", create=True)


def message(sender: str, *attachments: tuple[str, bytes, str]) -> EmailMessage:
    mail_message = EmailMessage()
    mail_message["From"] = f"Clerk <{sender}>"
    mail_message["To"] = "invoices@vouch.example"
    mail_message["Subject"] = "Invoices for November"
    mail_message.set_content("Please process the attached invoices.")
    for name, content, mime in attachments:
        maintype, subtype = mime.split("/")
        mail_message.add_attachment(
            content, maintype=maintype, subtype=subtype, filename=name
        )
    return mail_message


@pytest.fixture
def mailing_clerk(clerk: User) -> User:
    clerk.email = "clerk@vouch.example"
    clerk.save()
    return clerk


def test_mailed_attachments_become_documents_and_the_sender_gets_a_reply(
    mailing_clerk: User,
    maildir: mailbox.Maildir,
    media_root: Path,
    invoice_png: bytes,
) -> None:
    key = maildir.add(
        message(
            "CLERK@vouch.example",
            ("acme.png", invoice_png, "image/png"),
            ("order.txt", NOT_A_DOCUMENT, "text/plain"),
        )
    )

    (outcome,) = mailbox_fetch(maildir=Path(maildir._path))

    document = Document.objects.get()
    assert document.channel == Document.Channel.EMAIL
    assert document.uploaded_by == mailing_clerk
    assert document.original_name == "acme.png"
    assert outcome.replied
    (reply,) = mail.outbox
    assert reply.to == ["CLERK@vouch.example"]
    assert reply.subject == "Re: Invoices for November"
    assert "acme.png: received, it will be read shortly (http" in reply.body
    assert str(document.public_id) in reply.body
    assert "order.txt: not accepted. order.txt is not a file Vouch can read" in (
        reply.body
    )
    handled = maildir.get_message(key)
    assert handled.get_subdir() == "cur"
    assert "S" in handled.get_flags()


def test_mail_from_a_stranger_is_kept_unanswered_and_not_ingested(
    mailing_clerk: User,
    maildir: mailbox.Maildir,
    media_root: Path,
    invoice_png: bytes,
) -> None:
    key = maildir.add(
        message("someone@elsewhere.example", ("x.png", invoice_png, "image/png"))
    )

    (outcome,) = mailbox_fetch(maildir=Path(maildir._path))

    assert outcome.ignored_reason
    assert Document.objects.count() == 0
    assert mail.outbox == []
    assert key in maildir  # kept


def test_a_mail_without_attachments_is_answered_with_what_to_do(
    mailing_clerk: User, maildir: mailbox.Maildir
) -> None:
    maildir.add(message("clerk@vouch.example"))

    mailbox_fetch(maildir=Path(maildir._path))

    (reply,) = mail.outbox
    assert "No document was attached" in reply.body


def test_each_message_is_handled_once(
    mailing_clerk: User,
    maildir: mailbox.Maildir,
    media_root: Path,
    invoice_png: bytes,
) -> None:
    maildir.add(message("clerk@vouch.example", ("a.png", invoice_png, "image/png")))

    call_command("fetch_mail", maildir._path, once=True)
    call_command("fetch_mail", maildir._path, once=True)

    assert Document.objects.count() == 1
    assert len(mail.outbox) == 1
