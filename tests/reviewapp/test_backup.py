"""`manage.py backup` then `manage.py restore` into a fresh database and storage."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError

from reviewapp.models.audit import AuditEvent
from reviewapp.models.configuration import SensitiveField
from reviewapp.models.documents import Document
from reviewapp.runtime.backup import BackupError, backup_create
from reviewapp.services.fields import field_correct
from reviewapp.services.review import document_claim
from tests.conftest import REPO, processed_upload, recorded_text_image

pytestmark = pytest.mark.django_db(transaction=True)


def documents_with_history(clerk: User) -> list[Document]:
    documents = []
    for number in range(3):
        document = processed_upload(
            recorded_text_image(
                [f"ACME GMBH {number}", "INVOICE", f"Invoice No: INV-{number}",
                 "Total EUR 12,50"]
            ),
            name=f"invoice-{number}.png",
            uploaded_by=clerk,
        )  # fmt: skip
        documents.append(document)
    document_claim(document=documents[0], user=clerk)
    field_correct(
        document=documents[0], name="invoice_number", value="INV-77", user=clerk
    )
    return documents


def manage(*arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_backup_restores_into_a_fresh_database_with_every_document_file_and_event(
    clerk: User, media_root: Path, recorded_ocr: object, tmp_path: Path
) -> None:
    documents = documents_with_history(clerk)
    # The admin's own list, not the defaults the target's migrate makes.
    SensitiveField.objects.all().delete()
    SensitiveField.objects.create(name="iban")
    SensitiveField.objects.create(name="customer_reference")
    stored = {
        name: hashlib.sha256((media_root / name).read_bytes()).hexdigest()
        for document in documents
        for name in [document.original.name]
        + [page.image.name for page in document.pages.all()]
    }
    events = list(AuditEvent.objects.values_list("sequence", "content_hash"))
    assert len(events) > 10

    call_command("backup", str(tmp_path / "backup"))

    fresh_db = tmp_path / "fresh.sqlite3"
    fresh_media = tmp_path / "fresh-media"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{fresh_db}",
        "VOUCH_MEDIA_ROOT": str(fresh_media),
        "DJANGO_SETTINGS_MODULE": "reviewapp.settings",
    }
    migrated = manage("migrate", "--noinput", env=env)
    assert migrated.returncode == 0, migrated.stderr
    restored = manage("restore", str(tmp_path / "backup"), env=env)
    assert restored.returncode == 0, restored.stderr + restored.stdout
    assert "3 document(s)" in restored.stdout
    assert "chain verified OK" in restored.stdout
    verified = manage("verify_audit", env=env)
    assert f"{len(events)} audit event(s) verified: OK" in verified.stdout

    with sqlite3.connect(fresh_db) as database:
        public_ids = {
            row[0].replace("-", "")
            for row in database.execute("SELECT public_id FROM reviewapp_document")
        }
        restored_events = database.execute(
            "SELECT sequence, content_hash FROM reviewapp_auditevent ORDER BY sequence"
        ).fetchall()
        corrected = database.execute(
            "SELECT value FROM reviewapp_field WHERE name = 'invoice_number' "
            "AND document_id = ?",
            [documents[0].pk],
        ).fetchone()
        sensitive = {
            row[0]
            for row in database.execute("SELECT name FROM reviewapp_sensitivefield")
        }
    assert public_ids == {document.public_id.hex for document in documents}
    assert restored_events == events
    assert corrected == ("INV-77",)
    assert sensitive == {"iban", "customer_reference"}
    for name, checksum in stored.items():
        assert hashlib.sha256((fresh_media / name).read_bytes()).hexdigest() == checksum


def test_a_backup_refuses_to_overwrite_and_restore_refuses_a_used_database(
    clerk: User, media_root: Path, recorded_ocr: object, tmp_path: Path
) -> None:
    documents_with_history(clerk)
    call_command("backup", str(tmp_path / "backup"))
    with pytest.raises(BackupError, match="already exists"):
        backup_create(destination=tmp_path / "backup")
    with pytest.raises(CommandError, match="fresh database"):
        call_command("restore", str(tmp_path / "backup"))


def test_a_backup_whose_file_was_changed_is_not_restored(
    clerk: User, media_root: Path, recorded_ocr: object, tmp_path: Path
) -> None:
    document = documents_with_history(clerk)[0]
    call_command("backup", str(tmp_path / "backup"))
    copy = tmp_path / "backup" / "files" / document.original.name
    copy.write_bytes(b"tampered")
    Document.objects.all().delete()  # an empty database, but no audit events go
    with pytest.raises(CommandError, match=r"missing or changed|fresh database"):
        call_command("restore", str(tmp_path / "backup"))


def test_a_file_missing_from_storage_fails_the_backup_and_says_which(
    clerk: User, media_root: Path, recorded_ocr: object, tmp_path: Path
) -> None:
    document = documents_with_history(clerk)[0]
    (media_root / document.original.name).unlink()
    with pytest.raises(CommandError, match="missing, first"):
        call_command("backup", str(tmp_path / "backup"))
    assert not (tmp_path / "backup").exists()
