"""Write the base training set that travels with the product (see
pipeline.extract.base_training) from the dev manifests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from pipeline.extract.base_training import BASE_TRAINING_PATH, write_base_training
from pipeline.extract.scorer_training import load_documents
from reviewapp.services.ingest import decode_limits

# Folders whose licences let their text and labels ship with the product
# (pipeline/models/BASE_TRAINING_NOTICE.md); misc-invoices holds two documents
# of unclear origin and stays out.
SHIPPABLE = (
    "sroie-train-ocr-text",
    "sroie2019-receipts",
    "deepform-vrdu-adbuy",
    "zugferd-corpus",
    "invoice2data-tests",
)


class Command(BaseCommand):
    help = (
        "Write pipeline/models/base_training.jsonl.gz: the labelled text lines "
        "of the shippable dev manifests (and, with --ocr-cache, the OCR lines "
        "recorded for their scans), so that a retrain needs no datasets."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", type=Path, default=BASE_TRAINING_PATH)
        parser.add_argument("--ocr-cache", type=Path, default=None, metavar="DIR")

    def handle(self, *args: Any, **options: Any) -> None:
        root = Path(settings.VOUCH_DATASETS)
        manifests = [
            root / name / "manifest.jsonl"
            for name in SHIPPABLE
            if (root / name / "manifest.jsonl").is_file()
        ]
        if not manifests:
            raise CommandError(f"no shippable manifests under {root}")
        documents, skipped = load_documents(
            manifests, ocr_cache=options["ocr_cache"], limits=decode_limits()
        )
        size = write_base_training(documents, options["output"])
        self.stdout.write(
            f"wrote {options['output']}: {len(documents)} documents, "
            f"{size / 1024:.0f} KiB"
        )
        for reason, count in sorted(skipped.items()):
            self.stdout.write(f"  skipped {count}: {reason}")
