"""How well batches of real documents are split: build scanner batches from
the dev documents with a fixed seed, run the splitter, and print the share of
batches split exactly right, page-boundary precision and recall, and time.

The multi-page dev documents are also run alone: each must stay one document
(the common upload, which must never be held for a split)."""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from pipeline.decode import DecodeLimits
from pipeline.ocr import ocr_engines
from pipeline.splitting import CERTAIN
from reviewapp.measurement.split_batches import (
    BatchOutcome,
    build_batches,
    dev_documents,
    score,
    single_documents,
    split_batches,
)


class Command(BaseCommand):
    help = (
        "Split batches built from dev documents and print: batches, share split "
        "exactly right, page-boundary precision/recall, time."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batches", type=int, default=200)
        parser.add_argument("--seed", type=int, default=12)
        parser.add_argument(
            "--receipts",
            type=int,
            default=40,
            help="SROIE receipts in the pool of documents (default 40)",
        )
        parser.add_argument(
            "--max-pages",
            type=int,
            default=6,
            help="leave out dev documents longer than this (default 6)",
        )
        parser.add_argument(
            "--documents",
            type=int,
            default=0,
            help="draw this many dev documents (seeded) to build batches from; "
            "0: all (with --ocr-only, fewer documents read faster)",
        )
        parser.add_argument(
            "--ocr-only",
            action="store_true",
            help="render every page and read it with the OCR engine, ignoring "
            "PDF text layers (slow: run under nice)",
        )
        parser.add_argument(
            "--datasets",
            type=Path,
            default=None,
            help="the dev datasets folder (default: VOUCH_DATASETS)",
        )
        parser.add_argument(
            "--show-misses",
            type=int,
            default=0,
            help="print this many wrongly split batches with the reasons",
        )

    def handle(self, *args: object, **options: object) -> None:
        datasets = Path(str(options["datasets"] or settings.VOUCH_DATASETS))
        if not (datasets / "zugferd-corpus" / "manifest.jsonl").is_file():
            raise CommandError(f"no dev datasets at {datasets}")
        ocr_only = bool(options["ocr_only"])
        limits = DecodeLimits(
            max_pages=settings.VOUCH_MAX_PAGES,
            max_pixels=settings.VOUCH_MAX_PIXELS,
            use_text_layer=not ocr_only,
        )
        ocr = ocr_engines.get(settings.VOUCH_OCR_ENGINE) if ocr_only else None
        seed = int(str(options["seed"]))
        started = time.perf_counter()
        documents = dev_documents(
            datasets,
            limits=limits,
            ocr=ocr,
            receipts=int(str(options["receipts"])),
            max_pages=int(str(options["max_pages"])),
            sample=int(str(options["documents"])),
            seed=seed,
            progress=lambda line: self.stderr.write(line) if ocr_only else None,
        )
        read_seconds = time.perf_counter() - started
        count = int(str(options["batches"]))
        batches = build_batches(documents, count=count, seed=seed)
        outcomes = split_batches(batches)
        alone = split_batches(single_documents(documents))
        result = score(outcomes)
        kept = sum(outcome.exact for outcome in alone)
        source = (
            f"OCR ({ocr.name} {ocr.version})" if ocr else "PDF text layer / SROIE lines"
        )
        several = [o for o in outcomes if len(o.proposal.parts) > 1]
        held = sum(not outcome.proposal.certain() for outcome in several)
        certain = [o for o in (*outcomes, *alone) if o.proposal.certain()]
        certain_wrong = sum(not outcome.exact for outcome in certain)
        multi = sum(1 for document in documents if len(document.pages) > 1)
        self.stdout.write(
            f"documents: {len(documents)} ({multi} multi-page), text from {source}, "
            f"read in {read_seconds:.1f} s\n"
            f"batches: {result.batches} (seed {seed}, 2-5 documents, "
            f"{result.pages} pages)\n"
            f"split exactly right: {result.exact}/{result.batches} = "
            f"{result.exact_share:.1%}\n"
            f"page boundaries: precision {result.precision:.3f} "
            f"({result.true_boundaries}/{result.proposed_boundaries}), recall "
            f"{result.recall:.3f} ({result.true_boundaries}/{result.real_boundaries})\n"
            f"multi-page documents alone kept whole: {kept}/{len(alone)}\n"
            f"would be held for a person: {held} of {len(several)} batches "
            "proposed as several documents (the rest are certain)\n"
            f"certain proposals (every page >= {CERTAIN:.0%}): {len(certain)}, "
            f"of which wrong: {certain_wrong}\n"
            f"splitter time: {result.seconds * 1000 / max(result.pages, 1):.1f} ms "
            f"per page ({result.seconds:.2f} s for {result.pages} pages)"
        )
        misses = [outcome for outcome in (*outcomes, *alone) if not outcome.exact]
        for outcome in misses[: int(str(options["show_misses"]))]:
            self._show(outcome)

    def _show(self, outcome: BatchOutcome) -> None:
        truth = sorted(outcome.batch.true_starts)
        self.stdout.write(
            f"\nmissed: truth starts {truth}, proposed {list(outcome.proposal.starts)}"
        )
        for document in outcome.batch.documents:
            self.stdout.write(f"  {document.name} ({len(document.pages)} pages)")
        for decision in outcome.proposal.pages:
            wrong = (decision.page_number in truth) != decision.starts_document
            self.stdout.write(
                f"  {'X' if wrong else ' '} p{decision.page_number} "
                f"{'START' if decision.starts_document else 'cont '} "
                f"{decision.confidence:.2f} {decision.explanation}"
            )
