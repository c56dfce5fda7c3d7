"""Ingest files from the command line through the same service as the upload page."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from reviewapp.models.documents import FINISHED_STATUSES, Document
from reviewapp.selectors.documents import document_as_json
from reviewapp.services.ingest import IngestRefused, document_ingest


class Command(BaseCommand):
    help = (
        "Ingest PDF, PNG, JPEG, TIFF, WebP, HEIC or e-invoice XML files (or every "
        "such file in a "
        "folder). "
        "With --wait, block until processed and print one JSON line per document."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path)
        parser.add_argument("--wait", action="store_true")
        parser.add_argument("--timeout", type=float, default=600.0)
        parser.add_argument("--user", help="username recorded as the uploader")
        parser.add_argument(
            "--show-sensitive",
            action="store_true",
            help="print sensitive values (IBAN, VAT id ...) in clear; masked otherwise",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        uploader = None
        if options["user"]:
            try:
                uploader = get_user_model().objects.get(username=options["user"])
            except get_user_model().DoesNotExist:
                raise CommandError(f"no user called {options['user']!r}") from None
        documents: list[Document] = []
        refused = 0
        for path in self._files(options["paths"]):
            try:
                result = document_ingest(
                    content=path.read_bytes(),
                    original_name=path.name,
                    channel=Document.Channel.CLI,
                    uploaded_by=uploader,
                )
            except IngestRefused as refusal:
                refused += 1
                self.stderr.write(f"refused: {refusal.reason}")
                continue
            except OSError as error:
                refused += 1
                self.stderr.write(f"refused: {path}: {error.strerror}")
                continue
            note = " (already here: same file)" if result.duplicate else ""
            self.stderr.write(f"{path.name}: {result.document.public_id}{note}")
            documents.append(result.document)
        if options["wait"]:
            self._wait(documents, options["timeout"])
            for document in documents:
                document.refresh_from_db()
                self.stdout.write(
                    json.dumps(
                        document_as_json(
                            document, show_sensitive=options["show_sensitive"]
                        )
                    )
                )
        if refused:
            raise CommandError(f"{refused} file(s) refused")

    def _files(self, paths: list[Path]) -> list[Path]:
        files = []
        for path in paths:
            if path.is_dir():
                files.extend(sorted(p for p in path.iterdir() if p.is_file()))
            else:
                files.append(path)
        return files

    def _wait(self, documents: list[Document], timeout: float) -> None:
        pending = {document.pk for document in documents}
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            finished = Document.objects.filter(
                pk__in=pending,
                status__in=FINISHED_STATUSES,
            ).values_list("pk", flat=True)
            pending -= set(finished)
            if pending:
                time.sleep(0.5)
        if pending:
            self.stderr.write(
                f"{len(pending)} document(s) still not processed after "
                f"{timeout:.0f} s: is a worker running? (`make run` starts one)"
            )
