"""Train the document classifier from the dev manifests and write its artefact."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pipeline.classify import MODEL_PATH
from pipeline.classify_training import train
from reviewapp.measurement.management.commands.train_extractor import dev_manifests


class Command(BaseCommand):
    help = (
        "Train the receipt-vs-invoice model behind document classification from "
        "dataset manifests (default: every manifest under VOUCH_DATASETS) and "
        "write pipeline/models/document_classifier.json. Prints cross-validated "
        "and leave-one-source-out scores; the same data gives the same file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("manifests", nargs="*", type=Path)
        parser.add_argument("--output", type=Path, default=MODEL_PATH)
        parser.add_argument("--folds", type=int, default=5)

    def handle(self, *args: Any, **options: Any) -> None:
        manifests = dev_manifests(options["manifests"])
        try:
            artefact = train(manifests, folds=options["folds"])
        except ValueError as error:
            raise CommandError(str(error)) from None
        output: Path = options["output"]
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(artefact, indent=2, sort_keys=True) + "\n")
        self.stdout.write(f"wrote {output} (version {artefact['version']})")
        self.stdout.write(json.dumps(artefact["training"], indent=2, sort_keys=True))
        self.stdout.write(json.dumps(artefact["scores"], indent=2, sort_keys=True))
