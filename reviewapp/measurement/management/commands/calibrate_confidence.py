"""Fit the confidence calibration from `evaluate --json` reports.

Reads the per-document field results of reports made with the raw heuristic
extractor, fits an isotonic mapping per field with k-fold cross-validation by
document, derives per-field auto-accept thresholds for a target precision, and
writes the small versioned artefact the product loads
(pipeline/extract/calibration.json). Prints held-out figures only.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import sklearn
from django.core.management.base import BaseCommand, CommandError, CommandParser

from pipeline.einvoice import XML_EXPLANATION
from pipeline.extract.calibration import DEFAULT_CALIBRATION
from pipeline.extract.calibration_fit import FieldReport, Sample, fit_calibration
from pipeline.extract.heuristic import HeuristicExtractor

RAW_EXTRACTOR = HeuristicExtractor.name


class Command(BaseCommand):
    help = (
        "Fit calibrated confidences and auto-accept thresholds from evaluate "
        "--json reports (made with the raw heuristic extractor)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("reports", nargs="+", type=Path, metavar="REPORT")
        parser.add_argument("--folds", type=int, default=5)
        parser.add_argument("--target-precision", type=float, default=0.99)
        parser.add_argument(
            "--min-samples",
            type=int,
            default=30,
            help="fields with fewer samples share a pooled mapping",
        )
        parser.add_argument("--output", type=Path, default=DEFAULT_CALIBRATION)

    def handle(self, *args: Any, **options: Any) -> None:
        if not 0 < options["target_precision"] < 1:
            raise CommandError("--target-precision must be between 0 and 1")
        samples, sources = read_samples(options["reports"])
        try:
            calibration, reports = fit_calibration(
                samples,
                folds=options["folds"],
                target_precision=options["target_precision"],
                min_samples=options["min_samples"],
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        calibration.summary.update(
            {"sources": sources, "scikit_learn": sklearn.__version__}
        )
        artefact = calibration.to_json()
        options["output"].write_text(json.dumps(artefact, indent=1) + "\n")
        self.stdout.write(
            render(reports, options["folds"], options["target_precision"])
        )
        self.stdout.write(
            f"\nWrote {options['output']} ({len(samples)} samples, "
            f"content hash {artefact['content_hash'][:12]})\n"
        )


def read_samples(paths: list[Path]) -> tuple[list[Sample], list[dict[str, Any]]]:
    """Every extracted, labelled field of every report, except values read from
    e-invoice XML (they never pass through the extractor). Raises CommandError
    for a report that is unreadable or was made with calibrated confidences."""
    samples: list[Sample] = []
    sources = []
    for path in paths:
        try:
            content = path.read_bytes()
            report = json.loads(content)
            manifests = report["manifests"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise CommandError(
                f"{path} is not an evaluate --json report ({error})"
            ) from None
        for manifest in manifests:
            if manifest["extractor"].split()[0] != RAW_EXTRACTOR:
                raise CommandError(
                    f"{path}: {manifest['manifest']} was scored by "
                    f"{manifest['extractor']}; calibrate on raw scores: run evaluate "
                    "with VOUCH_EXTRACTOR=pipeline.extract.heuristic.HeuristicExtractor"
                )
            for document in manifest["documents"]:
                for field in document["fields"]:
                    if field["predicted"] is None:
                        continue
                    if field["explanation"].startswith(XML_EXPLANATION):
                        continue
                    samples.append(
                        Sample(
                            document=f"{manifest['manifest']}#{document['doc_id']}",
                            field=field["name"],
                            score=float(field["confidence"]),
                            correct=bool(field["exact"]),
                        )
                    )
            sources.append(
                {
                    "report": path.name,
                    "sha256": hashlib.sha256(content).hexdigest(),
                    "manifest": Path(manifest["manifest"]).parent.name,
                    "mode": manifest["mode"],
                    "documents": len(manifest["documents"]),
                }
            )
    return samples, sources


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def render(reports: list[FieldReport], folds: int, target: float) -> str:
    out = [
        f"Held-out figures ({folds}-fold by document, target precision "
        f"{100 * target:.0f}%)",
        f"{'field':<17}{'n':>6}{'exact%':>8}{'ECE raw':>9}{'ECE cal':>9}"
        f"{'auto%':>8}{'err|auto%':>11}{'threshold':>11}",
    ]
    for r in reports:
        out.append(
            f"{r.field:<17}{r.samples:>6}{_percent(r.accuracy):>8}"
            f"{'-' if r.ece_raw is None else f'{r.ece_raw:.3f}':>9}"
            f"{'-' if r.ece_held_out is None else f'{r.ece_held_out:.3f}':>9}"
            f"{_percent(r.auto_accepted):>8}"
            f"{_percent(r.error_when_auto_accepted):>11}{r.threshold:>11.3f}"
        )
    return "\n".join(out) + "\n"
