"""Fitting a confidence calibration from scored extractions, with k-fold
cross-validation so that every reported figure comes from documents the fit
did not see.

Input: one `Sample` per extracted field of a labelled document (its raw score
and whether its value was right). Output: a `Calibration` fitted on all
samples, with per-field auto-accept thresholds chosen on held-out predictions
for a target precision, and a report of held-out figures per field.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.extract.calibration import Calibration, FieldCalibration

POOLED = "(pooled)"
MAX_CALIBRATED = 0.999
CALIBRATION_BINS = 10


@dataclass(frozen=True)
class Sample:
    document: str  # folds split by document, never inside one
    field: str
    score: float
    correct: bool


def expected_calibration_error(
    pairs: Iterable[tuple[float, bool]], bins: int = CALIBRATION_BINS
) -> float | None:
    """ECE over equal-width confidence bins: the mean gap between confidence and
    accuracy, weighted by how many values fall in each bin; None without values."""
    buckets: list[list[tuple[float, bool]]] = [[] for _ in range(bins)]
    for confidence, correct in pairs:
        index = min(int(confidence * bins), bins - 1)
        buckets[index].append((confidence, correct))
    total = sum(len(bucket) for bucket in buckets)
    if total == 0:
        return None
    gap = 0.0
    for bucket in buckets:
        if bucket:
            accuracy = sum(correct for _, correct in bucket) / len(bucket)
            confidence = sum(c for c, _ in bucket) / len(bucket)
            gap += len(bucket) / total * abs(accuracy - confidence)
    return gap


def fold_of(document: str, folds: int) -> int:
    """A stable fold number: the same document lands in the same fold on every
    machine and every run."""
    return int(hashlib.sha256(document.encode()).hexdigest(), 16) % folds


def _fit(samples: Sequence[Sample]) -> FieldCalibration:
    # Capped below 1.0: a read value is never certain the way a value from
    # e-invoice XML is, so confidence 1.0 stays the XML's alone.
    from sklearn.isotonic import IsotonicRegression  # heavy: only when fitting

    model = IsotonicRegression(
        y_min=0.0, y_max=MAX_CALIBRATED, increasing=True, out_of_bounds="clip"
    )
    model.fit([s.score for s in samples], [float(s.correct) for s in samples])
    return FieldCalibration(
        raw=tuple(round(float(x), 4) for x in model.X_thresholds_),
        calibrated=tuple(round(float(y), 4) for y in model.y_thresholds_),
    )


def _fit_all(
    samples: Sequence[Sample], min_samples: int
) -> dict[str, FieldCalibration]:
    """One mapping per field with enough samples of both outcomes, and a pooled
    one that stands in for the others."""
    by_field: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_field[sample.field].append(sample)
    models = {POOLED: _fit(samples)}
    for name, group in by_field.items():
        if len(group) >= min_samples:
            models[name] = _fit(group)
    return models


def _predict(models: dict[str, FieldCalibration], sample: Sample) -> float:
    return models.get(sample.field, models[POOLED]).apply(sample.score)


def threshold_for_precision(
    predictions: Sequence[tuple[float, bool]], target: float, min_accepted: int = 10
) -> float:
    """The lowest confidence at which everything at or above it is right at
    least `target` of the time, over at least `min_accepted` values; 1.0 when
    no such confidence exists, which only e-invoice XML values reach."""
    ordered = sorted(predictions, key=lambda p: p[0], reverse=True)
    best = 1.0
    correct = 0
    ordered = [(p, c) for p, c in ordered if p < 1.0]
    for index, (confidence, is_correct) in enumerate(ordered, start=1):
        correct += is_correct
        # Decide only at the end of a run of equal confidences.
        if index < len(ordered) and ordered[index][0] == confidence:
            continue
        if index >= min_accepted and correct / index >= target:
            best = confidence
    return best


@dataclass(frozen=True)
class FieldReport:
    field: str
    samples: int
    accuracy: float
    ece_raw: float | None
    ece_held_out: float | None
    auto_accepted: float  # share of samples, held-out thresholds
    error_when_auto_accepted: float | None
    threshold: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "accuracy": round(self.accuracy, 4),
            "ece_raw": None if self.ece_raw is None else round(self.ece_raw, 4),
            "ece_held_out": None
            if self.ece_held_out is None
            else round(self.ece_held_out, 4),
            "auto_accepted": round(self.auto_accepted, 4),
            "error_when_auto_accepted": None
            if self.error_when_auto_accepted is None
            else round(self.error_when_auto_accepted, 4),
            "threshold": self.threshold,
        }


def fit_calibration(
    samples: Sequence[Sample],
    *,
    folds: int = 5,
    target_precision: float = 0.99,
    min_samples: int = 30,
) -> tuple[Calibration, list[FieldReport]]:
    """The calibration fitted on every sample, thresholds chosen on held-out
    predictions, and per-field held-out figures.

    For each fold, mappings are fitted on the other folds and applied to it;
    each fold's auto-accept figures use thresholds chosen on the other folds'
    held-out predictions, so no figure comes from a document its mapping or
    threshold saw. Raises ValueError without samples or with fewer than two
    folds.
    """
    if not samples:
        raise ValueError("no scored fields to calibrate on")
    if folds < 2:
        raise ValueError("cross-validation needs at least two folds")
    held_out: list[tuple[Sample, float, int]] = []
    for fold in range(folds):
        train = [s for s in samples if fold_of(s.document, folds) != fold]
        test = [s for s in samples if fold_of(s.document, folds) == fold]
        if not train or not test:
            continue
        models = _fit_all(train, min_samples)
        held_out.extend((s, _predict(models, s), fold) for s in test)

    names = sorted({s.field for s in samples})
    reports = []
    thresholds = {}
    for name in names:
        rows = [(s, p, f) for s, p, f in held_out if s.field == name]
        pairs = [(p, s.correct) for s, p, _ in rows]
        thresholds[name] = threshold_for_precision(pairs, target_precision)
        accepted = wrong = 0
        for fold in range(folds):
            others = [(p, s.correct) for s, p, f in rows if f != fold]
            fold_threshold = threshold_for_precision(others, target_precision)
            for s, p, f in rows:
                if f == fold and p >= fold_threshold:
                    accepted += 1
                    wrong += not s.correct
        group = [s for s in samples if s.field == name]
        reports.append(
            FieldReport(
                field=name,
                samples=len(group),
                accuracy=sum(s.correct for s in group) / len(group),
                ece_raw=expected_calibration_error((s.score, s.correct) for s in group),
                ece_held_out=expected_calibration_error(pairs),
                auto_accepted=accepted / len(rows) if rows else 0.0,
                error_when_auto_accepted=wrong / accepted if accepted else None,
                threshold=thresholds[name],
            )
        )
    models = _fit_all(samples, min_samples)
    fields = {name: models.get(name, models[POOLED]) for name in names}
    summary = {
        "method": "isotonic regression per field (pooled below "
        f"{min_samples} samples), {folds}-fold cross-validated by document",
        "target_precision": target_precision,
        "samples": len(samples),
        "held_out": {r.field: r.as_dict() for r in reports},
    }
    return Calibration(fields=fields, thresholds=thresholds, summary=summary), reports
