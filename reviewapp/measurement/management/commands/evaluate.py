"""Measure extraction against labelled documents: the numbers behind every
change to OCR, extraction or confidence.

Reads dataset manifests (`../shared/datasets/README.md`), runs the production
pipeline on each document exactly as a worker would, compares every labelled
field after the product's own normalisation, and prints per document type and
field: exact and fuzzy accuracy, the share auto-accepted at the product's
thresholds (each shown with the number of held-out values behind it), the
error rate among those, and expected calibration error; plus touchless
documents and seconds per page.

`--cross-validate K` scores honestly on the dev data the shipped calibration
was fitted on: the evidence stage (pipeline.extract.calibration) is refitted
K times, each time without the fold being scored, and each fold is judged
with confidences and thresholds that never saw it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from pipeline.extract import extractors
from pipeline.extract.calibration import CalibrationError, load_calibration
from pipeline.extract.calibration_fit import EvidenceSample
from pipeline.extract.vendor_learning import Directory
from pipeline.preprocess import DEFAULT_STEPS, parse_steps
from reviewapp.measurement.evaluator import Evaluator
from reviewapp.measurement.reports import (
    evidence_samples,
    manifest_report,
    read_report,
    render_report,
    rescore_out_of_fold,
)
from reviewapp.measurement.scoring import read_manifest


def synthetic_refused() -> set[str]:
    """The fields the shipped calibration fitted without synthetic values."""
    try:
        summary = load_calibration().summary
    except CalibrationError:
        return set()
    return set(summary.get("evidence", {}).get("synthetic_refused", {}))


class Command(BaseCommand):
    help = (
        "Run the production pipeline on dataset manifests and print per document "
        "type and field: exact/fuzzy accuracy, auto-accepted share, error among "
        "auto-accepted, calibration error, touchless documents, seconds per page."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("manifests", nargs="+", type=Path, metavar="MANIFEST")
        parser.add_argument(
            "--ocr-only",
            action="store_true",
            help="ignore PDF text layers and embedded e-invoice XML: OCR every page",
        )
        parser.add_argument(
            "--json", type=Path, default=None, help="write per-document results here"
        )
        parser.add_argument(
            "--limit", type=int, default=None, help="only the first N documents"
        )
        parser.add_argument(
            "--cross-validate",
            type=int,
            default=None,
            metavar="K",
            help="refit the evidence stage K times without the fold being scored "
            "(folds by document across every manifest given) and score each fold "
            "with those confidences and thresholds",
        )
        parser.add_argument(
            "--train-on",
            type=Path,
            nargs="*",
            default=[],
            metavar="REPORT",
            help="with --cross-validate: evaluate --json reports of other "
            "documents added to every fold's training (never the scored ones)",
        )
        parser.add_argument(
            "--train-only",
            type=Path,
            nargs="*",
            default=[],
            metavar="REPORT",
            help="with --cross-validate: reports of synthetic documents added to "
            "every fold's training; a threshold they support is used only where "
            "the real training values confirm it (calibrate_confidence's rule)",
        )
        parser.add_argument(
            "--history",
            type=Path,
            action="append",
            default=[],
            metavar="MANIFEST",
            help="count this manifest's documents as approved history before "
            "scoring (repeatable): their labels are what people confirmed, so "
            "the vendor directory learns their vendors, texts and layouts; a "
            "manifest that is also scored is refused",
        )
        parser.add_argument(
            "--ocr-cache",
            type=Path,
            default=None,
            metavar="DIR",
            help="remember OCR lines per page image in DIR (e.g. var/ocr-cache) "
            "so a second run skips OCR; seconds per page then measure the cache",
        )
        parser.add_argument(
            "--preprocess",
            default=None,
            metavar="STEPS",
            help="image steps before OCR: comma-separated names, 'all' or 'none' "
            f"(default: the production set, {','.join(sorted(DEFAULT_STEPS))})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        limit: int | None = options["limit"]
        if limit is not None and limit < 1:
            raise CommandError("--limit must be at least 1")
        ocr_only: bool = options["ocr_only"]
        # factur-x narrates every PDF it opens, with or without XML (a warning
        # for every plain PDF); the table is this command's output.
        logging.getLogger("factur-x").setLevel(logging.ERROR)
        extractor = extractors.get(settings.VOUCH_EXTRACTOR)
        try:
            steps = (
                DEFAULT_STEPS
                if options["preprocess"] is None
                else parse_steps(options["preprocess"])
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        evaluator = Evaluator(
            extractor=extractor,
            ocr_only=ocr_only,
            ocr_cache=options["ocr_cache"],
            preprocessing=steps,
        )
        folds: int | None = options["cross_validate"]
        if folds is not None and folds < 2:
            raise CommandError("--cross-validate needs at least 2 folds")
        if folds is None and (options["train_on"] or options["train_only"]):
            raise CommandError("--train-on and --train-only need --cross-validate")
        history = self._learn_history(evaluator, options)
        scored = []
        for manifest in options["manifests"]:
            entries = read_manifest(manifest)[:limit]
            documents = []
            for index, entry in enumerate(entries, start=1):
                documents.append(evaluator.evaluate(manifest.parent, entry))
                if options["verbosity"] >= 2:
                    self.stderr.write(
                        f"[{index}/{len(entries)}] {documents[-1].doc_id}: "
                        f"{documents[-1].seconds:.2f} s"
                    )
            scored.append((manifest, entries, documents))
        extra: list[EvidenceSample] = []
        if folds is not None:
            extra = [
                sample
                for report in options["train_on"]
                for sample in evidence_samples(read_report(report))
            ] + [
                sample
                for report in options["train_only"]
                for sample in evidence_samples(read_report(report), train_only=True)
                # calibrate_confidence's decision: fields whose synthetic
                # values raised the error on held-out real documents.
                if sample.field not in synthetic_refused()
            ]
            rescore_out_of_fold(
                [(m, d) for m, _, d in scored], folds=folds, extra=extra
            )
        reports = []
        for manifest, entries, documents in scored:
            mode = evaluator.mode_for(entries) + history
            if folds is not None:
                mode += f"; confidences {folds}-fold cross-validated"
                train_only = sum(s.train_only for s in extra)
                if train_only:
                    mode += f" (fitted also on {train_only} train-only values)"
            report = manifest_report(
                manifest,
                documents,
                mode=mode,
                ocr_engine=evaluator.ocr_name,
                extractor=f"{extractor.name} {extractor.version}",
                limit=limit,
                preprocessing=steps,
            )
            reports.append(report)
            self.stdout.write(render_report(report))
        if options["json"] is not None:
            options["json"].write_text(
                json.dumps({"manifests": reports}, indent=2, ensure_ascii=False) + "\n"
            )

    def _learn_history(self, evaluator: Evaluator, options: dict[str, Any]) -> str:
        """Read every history document and approve it with its labels into a
        fresh vendor directory; returns the report's note on it ("" when no
        history was given: the cold figures)."""
        manifests: list[Path] = options["history"]
        if not manifests:
            return ""
        scored = {m.resolve() for m in options["manifests"]}
        if any(m.resolve() in scored for m in manifests):
            raise CommandError(
                "a scored manifest cannot be its own history: every document "
                "would be read with what it taught"
            )
        evaluator.directory = Directory()
        approved = 0
        for manifest in manifests:
            for entry in read_manifest(manifest):
                if evaluator.approve(manifest.parent, entry):
                    approved += 1
            if options["verbosity"] >= 2:
                self.stderr.write(f"history: {manifest} read ({approved} so far)")
        vendors = len(evaluator.directory.vendors)
        names = ", ".join(m.parent.name for m in manifests)
        return (
            f"; warm: {approved} approved documents of {names} as history "
            f"({vendors} vendors in the directory)"
        )
