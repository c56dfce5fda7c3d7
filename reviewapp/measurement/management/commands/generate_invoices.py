"""Write labelled synthetic invoices (pipeline/synthetic) as a dataset folder."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from pipeline.synthetic.dataset import read_entries, write_dataset


class Command(BaseCommand):
    help = (
        "Write N labelled synthetic invoices (scans, the clean PDFs they were "
        "made from, recorded OCR lines) and a manifest.jsonl in the format of "
        "../shared/datasets into FOLDER (default var/synthetic-invoices). The "
        "same --count and --first-seed write the same bytes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=200)
        parser.add_argument("--first-seed", type=int, default=0)
        parser.add_argument(
            "--output",
            type=Path,
            default=None,
            metavar="FOLDER",
            help="dataset folder (default: VOUCH_VAR_DIR/synthetic-invoices)",
        )
        parser.add_argument(
            "--no-scans",
            action="store_true",
            help="skip the scan-like page images (most of the time): entries "
            "then carry recorded OCR lines only, enough to train the scorer",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        count: int = options["count"]
        if count < 1:
            raise CommandError("--count must be at least 1")
        folder: Path = (
            options["output"] or Path(settings.VAR_DIR) / "synthetic-invoices"
        )
        manifest = write_dataset(
            folder, count, options["first_seed"], scans=not options["no_scans"]
        )
        entries = read_entries(manifest)
        locales = Counter(e["raw_labels"]["locale"] for e in entries)
        letterheads = Counter(e["raw_labels"]["layout"]["letterhead"] for e in entries)
        pages = Counter(e["pages"] for e in entries)
        self.stdout.write(f"wrote {len(entries)} invoices and {manifest}")
        self.stdout.write(f"locales     {dict(sorted(locales.items()))}")
        self.stdout.write(f"letterheads {dict(sorted(letterheads.items()))}")
        self.stdout.write(f"pages       {dict(sorted(pages.items()))}")
