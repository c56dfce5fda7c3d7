"""Back up the database and the stored files together; restore them elsewhere.

A backup is a folder: `database.xml` (Django's dumpdata with natural foreign
keys, so it loads into SQLite or PostgreSQL alike), `files/` (every original
and page image the dump refers to) and `manifest.json` (counts per model and
the SHA-256 of every file).

Consistency: the dump is read in one transaction (REPEATABLE READ on
PostgreSQL, a held lock on SQLite), so it is one moment of the database; the
files it names are copied afterwards. Stored files are written before the row
that names them commits and are never rewritten in place (originals are kept
untouched under generated names), so every file the dump names exists and
holds what it held at that moment. Only a purge running meanwhile could remove
one; the backup then fails and says which, rather than being silently partial.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import weakref
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection, models, transaction
from django.db.models.signals import m2m_changed, post_save, pre_save
from django.dispatch.dispatcher import _make_id
from django.utils import timezone

from reviewapp.audit.trail import verify_chain
from reviewapp.models.audit import AuditEvent
from reviewapp.models.configuration import SensitiveField
from reviewapp.models.documents import Document

# XML, not JSON: Django's JSON encoder cuts datetimes to milliseconds, which
# would change every audit event's hashed content; XML keeps microseconds.
DATABASE_FILE = "database.xml"
MANIFEST_FILE = "manifest.json"
FILES_DIR = "files"
# Rebuilt by `migrate` in the target, or not worth keeping (sessions end).
EXCLUDED_MODELS = [
    "contenttypes",
    "auth.permission",
    "sessions",
    "admin.logentry",
    "django_rq",  # an unmanaged stand-in for its admin page, no table
]
# Rows a data migration gives every installation. The target's `migrate` has
# made its own; the backup holds the source's (an admin may have changed or
# removed them), so the target's are replaced, not merged.
MIGRATION_SEEDED_MODELS: list[type[models.Model]] = [SensitiveField]
FORMAT_VERSION = 1


class BackupError(Exception):
    """The backup or restore cannot go on; the message says why and what to do."""


@dataclass
class BackupReport:
    path: Path
    counts: dict[str, int]
    files: int
    bytes: int
    chain_events: int = 0
    problems: list[str] = field(default_factory=list)


def _file_fields() -> list[tuple[type[models.Model], str]]:
    found = []
    for model in apps.get_app_config("reviewapp").get_models():
        for model_field in model._meta.get_fields():
            if isinstance(model_field, models.FileField):
                found.append((model, model_field.name))
    return found


def _stored_names() -> list[str]:
    names: set[str] = set()
    for model, name in _file_fields():
        values = model._default_manager.exclude(**{name: ""}).values_list(
            name, flat=True
        )
        names.update(value for value in values if value)
    return sorted(names)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _inside(root: Path, name: str) -> Path:
    """`root / name`, refusing a name that would leave `root` (a tampered manifest)."""
    target = (root / name).resolve()
    if not target.is_relative_to(root.resolve()):
        raise BackupError(f"refusing the stored name {name!r}: it leaves {root}")
    return target


def _counts() -> dict[str, int]:
    counted = Counter[str]()
    for model in apps.get_app_config("reviewapp").get_models():
        counted[model._meta.label] = model._default_manager.count()
    return dict(sorted(counted.items()))


def backup_create(*, destination: Path) -> BackupReport:
    """Write a backup folder at `destination`, which must not exist yet.

    Raises BackupError when it exists or a stored file named by the database is
    missing (the half-written folder is removed).
    """
    if destination.exists():
        raise BackupError(f"{destination} already exists; name a new folder")
    destination.mkdir(parents=True)
    try:
        return _write_backup(destination)
    except BaseException:
        shutil.rmtree(destination, ignore_errors=True)
        raise


def _write_backup(destination: Path) -> BackupReport:
    dump = io.StringIO()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # Every query below sees the same snapshot.
                cursor.execute(
                    "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
                )
        call_command(
            "dumpdata",
            natural_foreign=True,
            # Groups and users by name: `migrate` in the target has already
            # made the role groups, under ids another database need not share.
            natural_primary=True,
            exclude=EXCLUDED_MODELS,
            format="xml",
            stdout=dump,
        )
        names = _stored_names()
        counts = _counts()
    (destination / DATABASE_FILE).write_text(dump.getvalue(), encoding="utf-8")
    media_root = Path(default_storage.location)
    files_dir = destination / FILES_DIR
    checksums: dict[str, str] = {}
    missing = []
    total = 0
    for name in names:
        source = _inside(media_root, name)
        if not source.is_file():
            missing.append(name)
            continue
        target = _inside(files_dir, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        checksums[name] = _sha256(target)
        total += target.stat().st_size
    if missing:
        raise BackupError(
            f"{len(missing)} stored file(s) named by the database are missing, "
            f"first {missing[0]!r}: restore them or run the backup again"
        )
    manifest = {
        "format": FORMAT_VERSION,
        "created_at": timezone.now().isoformat(),
        "database_vendor": connection.vendor,
        "counts": counts,
        "files": checksums,
    }
    (destination / MANIFEST_FILE).write_text(
        json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8"
    )
    return BackupReport(
        path=destination, counts=counts, files=len(checksums), bytes=total
    )


def backup_restore(*, source: Path) -> BackupReport:
    """Load a backup into this (migrated, empty) database and storage.

    Checks every file's SHA-256 before anything is written, refuses a database
    that already holds documents or audit events, and verifies afterwards that
    the counts match the manifest and the audit chain verifies.
    Raises BackupError naming the first problem.
    """
    manifest_path = source / MANIFEST_FILE
    if not manifest_path.is_file():
        raise BackupError(f"{source} is not a Vouch backup: no {MANIFEST_FILE}")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT_VERSION:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    if Document.objects.exists() or AuditEvent.objects.exists():
        raise BackupError(
            "this database already holds documents or audit events; restore into "
            "a fresh database (create it, run `manage.py migrate`, then restore)"
        )
    files_dir = source / FILES_DIR
    for name, checksum in manifest["files"].items():
        stored = _inside(files_dir, name)
        if not stored.is_file() or _sha256(stored) != checksum:
            raise BackupError(f"the backup's copy of {name!r} is missing or changed")
    media_root = Path(default_storage.location)
    total = 0
    for name in manifest["files"]:
        target = _inside(media_root, name)
        if target.exists():
            raise BackupError(f"{target} already exists; restore into empty storage")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(_inside(files_dir, name), target)
        total += target.stat().st_size
    with transaction.atomic(), _account_events_paused():
        for model in MIGRATION_SEEDED_MODELS:
            model._default_manager.all().delete()
        call_command("loaddata", str(source / DATABASE_FILE), verbosity=0)
    counts = _counts()
    problems = [
        f"{label}: {manifest['counts'].get(label, 0)} in the backup, {count} restored"
        for label, count in counts.items()
        if count != manifest["counts"].get(label, 0)
    ]
    chain = verify_chain()
    if not chain.ok:
        problems.append(f"audit chain: {chain.problem}")
    return BackupReport(
        path=source,
        counts=counts,
        files=len(manifest["files"]),
        bytes=total,
        chain_events=chain.events,
        problems=problems,
    )


@contextmanager
def _account_events_paused() -> Iterator[None]:
    """Loading users and their groups must not append audit events: the dump
    already holds the trail, sequence numbers included."""
    user_model = get_user_model()
    receivers = [
        (pre_save, user_model, "vouch-audit-user"),
        (post_save, user_model, "vouch-audit-user"),
        (m2m_changed, user_model.groups.through, "vouch-audit-roles"),
    ]
    saved = []
    for signal, sender, uid in receivers:
        lookup = (uid, _make_id(sender))
        saved += [
            (signal, sender, uid, receiver)
            for key, receiver, *_ in signal.receivers
            if key == lookup
        ]
        signal.disconnect(sender=sender, dispatch_uid=uid)
    try:
        yield
    finally:
        for signal, sender, uid, receiver in saved:
            target = (
                receiver() if isinstance(receiver, weakref.ReferenceType) else receiver
            )
            if target is not None:
                signal.connect(target, sender=sender, dispatch_uid=uid)
