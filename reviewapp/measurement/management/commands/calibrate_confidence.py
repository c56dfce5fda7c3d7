"""Fit the confidence calibration from `evaluate --json` reports.

Two stages (pipeline/extract/calibration.py), fitted in this order:
- `--stage finder`: from reports made with the raw heuristic extractor, an
  isotonic mapping per field of its scores (k-fold by document); writes the
  artefact without an evidence stage, so the evidence stage must follow;
- `--stage evidence` (the default): from reports made with the product's
  extractor, which record each value's confidence before the evidence and the
  evidence itself, a logistic model per field, auto-accept thresholds at the
  Wilson upper bound on error, and held-out figures k-fold by document and
  leave-one-source-out. The finder stage of `--base` is kept.

Writes the small versioned artefact the product loads
(pipeline/extract/calibration.json). Prints held-out figures only.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import sklearn
from django.core.management.base import BaseCommand, CommandError, CommandParser

from pipeline.einvoice import XML_EXPLANATIONS
from pipeline.extract.auto_accept_thresholds import (
    DEFAULT_BOUND_CONFIDENCE,
    DEFAULT_MAX_ERROR,
)
from pipeline.extract.calibration import (
    DEFAULT_CALIBRATION,
    CalibrationError,
    load_calibration,
)
from pipeline.extract.calibration_fit import (
    FieldReport,
    HeldOutFigures,
    Sample,
    fit_calibration,
    fit_evidence_calibration,
)
from pipeline.extract.heuristic import HeuristicExtractor
from reviewapp.measurement.reports import evidence_samples, read_report

RAW_EXTRACTOR = HeuristicExtractor.name


class Command(BaseCommand):
    help = (
        "Fit calibrated confidences and auto-accept thresholds from evaluate "
        "--json reports (made with the raw heuristic extractor)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("reports", nargs="+", type=Path, metavar="REPORT")
        parser.add_argument(
            "--stage", choices=("finder", "evidence"), default="evidence"
        )
        parser.add_argument(
            "--base",
            type=Path,
            default=DEFAULT_CALIBRATION,
            help="the artefact whose finder stage the evidence stage is fitted on",
        )
        parser.add_argument(
            "--max-error",
            type=float,
            default=DEFAULT_MAX_ERROR,
            help="evidence stage: the error among auto-accepted values to stay under",
        )
        parser.add_argument(
            "--bound-confidence",
            type=float,
            default=DEFAULT_BOUND_CONFIDENCE,
            help="evidence stage: one-sided confidence of the upper bound on error",
        )
        parser.add_argument(
            "--train-only",
            type=Path,
            nargs="+",
            default=[],
            metavar="REPORT",
            help="evidence stage: reports of synthetic documents (generate_invoices) "
            "that fit the curves and may lower a threshold where the real held-out "
            "values confirm it; never scored, so every printed figure is real",
        )
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
        if options["stage"] == "evidence":
            self.fit_evidence(options)
            return
        if options["train_only"]:
            raise CommandError("--train-only is for the evidence stage")
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

    def fit_evidence(self, options: dict[str, Any]) -> None:
        if (
            not 0 < options["max_error"] < 1
            or not 0.5 <= options["bound_confidence"] < 1
        ):
            raise CommandError(
                "--max-error must be between 0 and 1, --bound-confidence in [0.5, 1)"
            )
        samples = []
        sources = []
        train_only: set[Path] = set(options["train_only"])
        for path in [*options["reports"], *options["train_only"]]:
            report = read_report(path)
            for manifest in report["manifests"]:
                if manifest["extractor"].split()[0] == RAW_EXTRACTOR:
                    raise CommandError(
                        f"{path}: {manifest['manifest']} was scored by the raw "
                        "heuristic extractor; fit the evidence stage on reports of "
                        "the product's extractor (or use --stage finder)"
                    )
            found = evidence_samples(report, train_only=path in train_only)
            if not found:
                raise CommandError(
                    f"{path} records no evidence (made before the evidence stage?); "
                    "run evaluate --json again"
                )
            samples.extend(found)
            sources.append(
                {
                    "report": path.name,
                    "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                    "manifests": [
                        f"{Path(m['manifest']).parent.name} ({m['mode']})"
                        for m in report["manifests"]
                    ],
                    "samples": len(found),
                    "train_only": path in train_only,
                }
            )
        try:
            base = load_calibration(options["base"])
            calibration, figures = fit_evidence_calibration(
                samples,
                base,
                folds=options["folds"],
                min_samples=options["min_samples"],
                max_error=options["max_error"],
                confidence=options["bound_confidence"],
            )
        except (CalibrationError, ValueError) as error:
            raise CommandError(str(error)) from None
        calibration.summary["evidence"]["sources"] = sources
        artefact = calibration.to_json()
        options["output"].write_text(json.dumps(artefact, indent=1) + "\n")
        self.stdout.write(render_evidence(calibration.threshold_support, figures))
        refused = calibration.summary["evidence"]["synthetic_refused"]
        for name, schemes in refused.items():
            self.stdout.write(
                f"\n{name}: fitted without synthetic values, which left held-out "
                "real values auto-accepted and wrong: "
                + "; ".join(f"{k} {w} of {a}" for k, (a, w) in schemes.items())
            )
        self.stdout.write(
            f"\nWrote {options['output']} ({len(samples)} samples, "
            f"content hash {artefact['content_hash'][:12]})\n"
        )


def render_evidence(
    support: dict[str, dict[str, Any]], figures: list[HeldOutFigures]
) -> str:
    """Thresholds with the held-out values behind them (with train-only
    values: the real ones at or above it, and any threshold they supported
    that the real values refused), then per scheme the held-out accuracy,
    auto-accepted share and error among those, on real documents."""
    out = [
        "Thresholds (chosen on out-of-fold predictions)",
        f"{'field':<17}{'threshold':>10}{'basis':>17}{'n':>7}{'accepted':>10}"
        f"{'errors':>8}{'err bound%':>12}{'real acc':>10}{'real err':>10}"
        f"{'refused':>9}",
    ]
    for name, s in support.items():
        refused = s.get("refused_synthetic_threshold")
        out.append(
            f"{name:<17}{s['threshold']:>10.3f}{s['basis']:>17}{s['samples']:>7}"
            f"{s['accepted']:>10}{s['errors']:>8}{100 * s['error_bound']:>12.2f}"
            f"{s.get('real_accepted', '-'):>10}{s.get('real_errors', '-'):>10}"
            f"{'-' if refused is None else f'{refused:.3f}':>9}"
        )
    for figure in figures:
        out += [
            "",
            f"Held-out figures, {figure.scheme}",
            f"{'field':<17}{'n':>6}{'exact%':>8}{'auto%':>8}{'err|auto%':>11}",
        ]
        for name, c in figure.counts.items():
            auto = c["accepted"]
            out.append(
                f"{name:<17}{c['values']:>6}{_percent(c['right'] / c['values']):>8}"
                f"{_percent(auto / c['values']):>8}"
                f"{_percent(c['wrong_accepted'] / auto if auto else None):>11}"
            )
    return "\n".join(out) + "\n"


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
                    if field["explanation"].startswith(XML_EXPLANATIONS):
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
