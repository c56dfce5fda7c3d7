"""Run the checks again on documents that have been read, e.g. after vendors or
purchase orders were imported. Prints each document's errors and warnings.
Safe to run repeatedly: each run replaces the previous one's issues."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reviewapp.models.documents import Document
from reviewapp.services.operations import operations_documents_refold
from reviewapp.services.validation import document_validate


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "documents",
            nargs="*",
            type=UUID,
            help="document ids (default: every document ready for review)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        documents = Document.objects.filter(status=Document.Status.READY)
        wanted: list[UUID] = options["documents"]
        if wanted:
            documents = documents.filter(public_id__in=wanted)
            missing = set(wanted) - set(documents.values_list("public_id", flat=True))
            if missing:
                raise CommandError(
                    "not found or not ready: "
                    + ", ".join(sorted(str(public_id) for public_id in missing))
                )
        validated = []
        for document in documents.order_by("created_at", "id").iterator():
            result = document_validate(document=document)
            validated.append(document.pk)
            errors, warnings = len(result.errors), len(result.warnings)
            self.stdout.write(
                f"{document.public_id} {document.original_name}: "
                f"{errors} error{'s' if errors != 1 else ''}, "
                f"{warnings} warning{'s' if warnings != 1 else ''}"
            )
        # The dashboard counts failed checks; this run records no audit event.
        operations_documents_refold(document_ids=validated)
