"""Demo users in their roles, vendors and purchase orders (fixtures/master_data)
and sample documents, for `make run`. Idempotent."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from reviewapp import roles
from reviewapp.demo.documents import demo_batch, demo_documents
from reviewapp.models.documents import Document
from reviewapp.services.ingest import document_ingest
from reviewapp.services.master_data import master_data_import, read_master_data

DEMO_USERS = (roles.CLERK, roles.SUPERVISOR, roles.ADMIN)
MASTER_DATA = Path(settings.BASE_DIR) / "fixtures" / "master_data"
# Vendors first: purchase orders name their vendor, receipts their PO line.
MASTER_DATA_FILES = (
    ("vendors", "vendors.json"),
    ("purchase_orders", "purchase_orders.json"),
    ("goods_receipts", "goods_receipts.json"),
)


def demo_passwords() -> dict[str, str]:
    """One random password per demo user, made once per installation and kept in
    VAR_DIR so every `make run` can print the same logins."""
    path = Path(settings.VAR_DIR) / "demo-logins.json"
    if path.exists():
        return dict(json.loads(path.read_text()))
    passwords = {name: secrets.token_urlsafe(9) for name in DEMO_USERS}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(passwords, indent=2))
    path.chmod(0o600)
    return passwords


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-documents",
            action="store_true",
            help="create the users and master data only",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        roles.sync_roles(Group, Permission)
        passwords = demo_passwords()
        for name in DEMO_USERS:
            user, created = User.objects.get_or_create(username=name)
            if created:
                user.set_password(passwords[name])
            user.is_staff = user.is_superuser = name == roles.ADMIN
            user.save()
            user.groups.set([Group.objects.get(name=name)])
        self.load_master_data()
        if options["no_documents"]:
            return
        clerk = User.objects.get(username=roles.CLERK)
        # Last, a scanner batch of three of them, held for a person to
        # confirm where each document begins.
        for sample in [*demo_documents(), demo_batch()]:
            result = document_ingest(
                content=sample.content,
                original_name=sample.name,
                channel=Document.Channel(sample.channel),
                uploaded_by=clerk,
            )
            state = "already loaded" if result.duplicate else "queued"
            self.stdout.write(f"demo document {sample.name}: {state}")

    def load_master_data(self) -> None:
        """The vendors, purchase orders and receipts the demo documents match."""
        for kind, name in MASTER_DATA_FILES:
            path = MASTER_DATA / name
            report = master_data_import(
                kind=kind, rows=read_master_data(name, path.read_bytes())
            )
            rejected = [row for row in report.rows if row.outcome == "rejected"]
            if rejected:
                raise CommandError(
                    f"demo {name}: row {rejected[0].row} rejected: "
                    + "; ".join(rejected[0].reasons)
                )
            self.stdout.write(f"demo {kind.replace('_', ' ')}: {report.summary}")
