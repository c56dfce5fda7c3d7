"""The IMAP poller end to end against a real IMAP server on loopback: Debian's
dovecot, started by the test with a configuration of its own (`make test`
installs it)."""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import call_command
from pytest_django.fixtures import Settings as SettingsWrapper

from reviewapp.imap_intake import READ_KEYWORD, ImapAccount, ImapError, imap_fetch
from reviewapp.models.documents import Document
from tests.conftest import text_image
from tests.reviewapp.test_intake import NOT_A_DOCUMENT, message

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
MAILBOX_USER = "invoices@vouch.example"
MAILBOX_PASSWORD = "imap secret 42"


@dataclass
class MailServer:
    port: int
    log: Path

    def account(self, *, password: str = MAILBOX_PASSWORD) -> ImapAccount:
        return ImapAccount(
            host="127.0.0.1",
            port=self.port,
            user=MAILBOX_USER,
            password=password,
            ssl=False,
        )

    def client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        client.login(MAILBOX_USER, MAILBOX_PASSWORD)
        client.select("INBOX")
        return client

    def deliver(self, raw: bytes) -> None:
        client = self.client()
        client.append("INBOX", "", imaplib.Time2Internaldate(time.time()), raw)
        client.logout()

    def flags(self) -> list[bytes]:
        client = self.client()
        _, data = client.fetch("1:*", "(FLAGS)")
        client.logout()
        return [item for item in data if isinstance(item, bytes)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def dovecot() -> Iterator[MailServer]:
    if not Path(DOVECOT).exists():
        pytest.fail("dovecot is missing: `make test` installs dovecot-imapd")
    # Not under pytest's own temporary folder: its parent is private to the
    # user running the tests, and dovecot's services read as other users.
    root = Path(tempfile.mkdtemp(prefix="vouch-dovecot-"))
    root.chmod(0o755)
    home = root / "home"
    home.mkdir()
    # Dovecot never lets mail be read as root: as root, it reads as its own
    # system user; otherwise as whoever runs the tests.
    if os.geteuid() == 0:
        owner = pwd.getpwnam("dovecot")
        internal, login = "dovecot", "dovenull"
        for path in (root, home):
            os.chown(path, owner.pw_uid, owner.pw_gid)
        root.chmod(0o755)
    else:
        owner = pwd.getpwuid(os.geteuid())
        internal = login = owner.pw_name
    port = _free_port()
    (root / "passwd").write_text(f"{MAILBOX_USER}:{{PLAIN}}{MAILBOX_PASSWORD}\n")
    config = root / "dovecot.conf"
    log = root / "dovecot.log"
    config.write_text(f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {log}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = {owner.pw_uid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={owner.pw_uid} gid={owner.pw_gid} home={home}/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
""")
    server = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                imaplib.IMAP4("127.0.0.1", port, timeout=2).logout()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    text = log.read_text() if log.exists() else "(no log)"
                    pytest.fail(f"dovecot did not start on port {port}\n{text}")
                time.sleep(0.1)
        yield MailServer(port=port, log=log)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def mailing_clerk(clerk: User) -> User:
    clerk.email = "clerk@vouch.example"
    clerk.save()
    return clerk


def test_mailed_attachments_are_ingested_answered_and_marked_once(
    dovecot: MailServer,
    mailing_clerk: User,
    media_root: Path,
    invoice_png: bytes,
    settings: SettingsWrapper,
) -> None:
    dovecot.deliver(
        message(
            "clerk@vouch.example",
            ("acme.png", invoice_png, "image/png"),
            ("order.txt", NOT_A_DOCUMENT, "text/plain"),
        ).as_bytes()
    )
    dovecot.deliver(message("stranger@elsewhere.example").as_bytes())

    first = imap_fetch(account=dovecot.account())

    document = Document.objects.get()
    assert document.channel == Document.Channel.EMAIL
    assert document.uploaded_by == mailing_clerk
    assert document.original_name == "acme.png"
    assert [outcome.sender for outcome in first] == [
        "clerk@vouch.example",
        "stranger@elsewhere.example",
    ]
    assert first[1].ignored_reason
    (reply,) = mail.outbox
    assert reply.to == ["clerk@vouch.example"]
    assert "acme.png: received" in reply.body
    assert "order.txt: not accepted" in reply.body
    for flags in dovecot.flags():
        assert b"\\Seen" in flags and READ_KEYWORD.encode() in flags

    # Read again: nothing is new, nothing is ingested or answered twice.
    assert imap_fetch(account=dovecot.account()) == []
    assert Document.objects.count() == 1
    assert len(mail.outbox) == 1

    # The command reads the account from the settings.
    dovecot.deliver(
        message(
            "clerk@vouch.example", ("second.png", text_image(["Second"]), "image/png")
        ).as_bytes()
    )
    settings.VOUCH_IMAP_HOST = "127.0.0.1"
    settings.VOUCH_IMAP_PORT = dovecot.port
    settings.VOUCH_IMAP_USER = MAILBOX_USER
    settings.VOUCH_IMAP_PASSWORD = MAILBOX_PASSWORD
    settings.VOUCH_IMAP_SSL = False
    call_command("fetch_imap", "--once")
    assert len(mail.outbox) == 2


def test_a_message_is_marked_only_once_its_files_are_stored(
    dovecot: MailServer,
    mailing_clerk: User,
    media_root: Path,
    invoice_png: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dovecot.deliver(
        message(
            "clerk@vouch.example", ("acme.png", invoice_png, "image/png")
        ).as_bytes()
    )

    def storage_down(*args: object, **kwargs: object) -> None:
        raise OSError("the media volume is not mounted")

    monkeypatch.setattr("reviewapp.intake.document_ingest", storage_down)
    with pytest.raises(ImapError, match="the media volume is not mounted"):
        imap_fetch(account=dovecot.account())
    (flags,) = dovecot.flags()
    assert b"\\Seen" not in flags and READ_KEYWORD.encode() not in flags

    monkeypatch.undo()
    (outcome,) = imap_fetch(account=dovecot.account())
    assert outcome.files[0].document is not None
    assert Document.objects.count() == 1


def test_a_wrong_password_is_said_without_the_password(dovecot: MailServer) -> None:
    with pytest.raises(ImapError) as refused:
        imap_fetch(account=dovecot.account(password="wrong horse"))
    assert "refused the login" in str(refused.value)
    assert "wrong horse" not in str(refused.value)
