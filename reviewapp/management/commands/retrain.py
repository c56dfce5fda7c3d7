"""Retrain the extractor from the dev data plus people's corrections, and let
the gate decide whether the new version goes live."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from pipeline.extract.scorer_training import load_documents
from reviewapp.learning.extractor_versions import extractor_retrain
from reviewapp.measurement.management.commands.train_extractor import dev_manifests
from reviewapp.services.ingest import decode_limits


class Command(BaseCommand):
    help = (
        "Train a candidate extractor from the dev manifests plus corrected and "
        "approved documents (one corrected document in five held back), compare "
        "it with the live version on the held-back corrections and on the dev "
        "data's cross-validated figures, and promote it only if no field gets "
        "worse beyond noise. Records the version and audit events either way."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("manifests", nargs="*", type=Path)
        parser.add_argument(
            "--ocr-cache",
            type=Path,
            default=None,
            metavar="DIR",
            help="also train on OCR lines recorded by `evaluate --ocr-cache DIR`",
        )
        parser.add_argument(
            "--user", default=None, help="username recorded as having retrained"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = None
        if options["user"]:
            actor = get_user_model().objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(f"no user {options['user']!r}")
        documents, _ = load_documents(
            dev_manifests(options["manifests"]),
            ocr_cache=options["ocr_cache"],
            limits=decode_limits(),
        )
        try:
            outcome = extractor_retrain(
                actor=actor,
                base_documents=documents,
                progress=lambda message: self.stderr.write(message),
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        version = outcome.version
        if not outcome.created:
            self.stdout.write(f"unchanged: {version.label} was trained before")
            return
        for reason in version.decision_reasons:
            self.stdout.write(f"  {reason}")
        self.stdout.write(f"{version.get_decision_display()}: {version.label}")
