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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.extract.auto_accept_thresholds import (
    DEFAULT_BOUND_CONFIDENCE,
    DEFAULT_MAX_ERROR,
    ThresholdChoice,
    choose_thresholds,
)
from pipeline.extract.calibration import (
    MAX_CALIBRATED,
    POOLED,
    Calibration,
    EvidenceModel,
    FieldCalibration,
    evidence_features,
    recalibrated,
    type_key,
)
from pipeline.extract.evidence import FieldEvidence

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


# --- the evidence stage ----------------------------------------------------------


# A value's confidence, its field's threshold, the held-out values behind it.
Judgement = tuple[float, float, int]


@dataclass(frozen=True)
class EvidenceSample:
    """One extracted, labelled field: the finder's confidence, the evidence,
    and whether the value was right."""

    document: str  # folds split by document, never inside one
    source: str  # the dataset it comes from, for leave-one-source-out
    document_type: str
    field: str
    finder_confidence: float
    signals: Mapping[str, int]
    correct: bool
    # Synthetic: used to fit, never scored, and a threshold it supports needs
    # the real values' confirmation (auto_accept_thresholds.real_confirms).
    train_only: bool = False

    def features(self) -> dict[str, float]:
        return evidence_features(
            self.finder_confidence,
            self.document_type,
            FieldEvidence(signals=dict(self.signals)),
        )


# The weight each feature may take: evidence that agrees never lowers a
# confidence and evidence that contradicts never raises it, whatever a small
# sample suggests; the finder's confidence never counts against a value.
def _weight_bounds(name: str) -> tuple[float | None, float | None]:
    if name.endswith(":agrees") or name == "finder_logit":
        return (0.0, None)
    if name.endswith(":disagrees"):
        return (None, 0.0)
    return (None, None)


# L2 penalty on the weights (not the intercept): shrinks what a field with few
# samples learns towards nothing, i.e. towards its base rate.
_L2 = 1.0


def _fit_logistic(samples: Sequence[EvidenceSample]) -> EvidenceModel | None:
    """Logistic regression with an L2 penalty and sign constraints
    (`_weight_bounds`); None when the samples hold one outcome only."""
    import numpy as np  # heavy: only when fitting
    from scipy.optimize import minimize

    if len({s.correct for s in samples}) < 2:
        return None
    names = tuple(samples[0].features())
    x = np.array([[s.features()[n] for n in names] for s in samples])
    y = np.array([float(s.correct) for s in samples])

    def loss(params: Any) -> tuple[float, Any]:
        weights, intercept = params[:-1], params[-1]
        z = x @ weights + intercept
        # log(1 + e^z) - y z, computed stably.
        value = float(np.sum(np.logaddexp(0.0, z) - y * z))
        value += 0.5 * _L2 * float(weights @ weights)
        residual = 1.0 / (1.0 + np.exp(-z)) - y
        gradient = np.append(x.T @ residual + _L2 * weights, residual.sum())
        return value, gradient

    result = minimize(
        loss,
        np.zeros(len(names) + 1),
        jac=True,
        method="L-BFGS-B",
        bounds=[_weight_bounds(n) for n in names] + [(None, None)],
    )
    return EvidenceModel(
        features=names,
        coefficients=tuple(round(float(c), 5) + 0.0 for c in result.x[:-1]),
        intercept=round(float(result.x[-1]), 5),
        samples=len(samples),
    )


def fit_evidence_models(
    samples: Sequence[EvidenceSample], min_samples: int = 30
) -> dict[str, EvidenceModel]:
    """One model per field and one per field and document type, each with at
    least `min_samples` values of both outcomes, and a pooled one for the
    rest."""
    pooled = _fit_logistic(samples)
    if pooled is None:
        raise ValueError("the samples hold one outcome only; nothing to learn")
    models = {POOLED: pooled}
    by_field: dict[str, list[EvidenceSample]] = defaultdict(list)
    for sample in samples:
        by_field[sample.field].append(sample)
        by_field[type_key(sample.document_type, sample.field)].append(sample)
    for name, group in by_field.items():
        if len(group) >= min_samples:
            model = _fit_logistic(group)
            if model is not None:
                models[name] = model
    return models


def _predict_evidence(
    models: Mapping[str, EvidenceModel], sample: EvidenceSample
) -> float:
    return recalibrated(
        models,
        sample.field,
        sample.finder_confidence,
        sample.document_type,
        FieldEvidence(signals=dict(sample.signals)),
    )


def held_out_predictions(
    samples: Sequence[EvidenceSample], folds: int, min_samples: int = 30
) -> list[tuple[EvidenceSample, float]]:
    """Each sample's confidence from models fitted on the other folds."""
    out: list[tuple[EvidenceSample, float]] = []
    for fold in range(folds):
        train = [s for s in samples if fold_of(s.document, folds) != fold]
        test = [s for s in samples if fold_of(s.document, folds) == fold]
        if not test:
            continue
        models = fit_evidence_models(train, min_samples)
        out.extend((s, _predict_evidence(models, s)) for s in test)
    return out


def _fit_and_choose(
    samples: Sequence[EvidenceSample],
    folds: int,
    min_samples: int,
    max_error: float,
    confidence: float,
) -> tuple[dict[str, EvidenceModel], dict[str, ThresholdChoice]]:
    """Models fitted on `samples`, and thresholds chosen on their own k-fold
    held-out predictions (never on the fitted models' in-sample output)."""
    models = fit_evidence_models(samples, min_samples)
    choices = choose_thresholds(
        held_out_predictions(samples, folds, min_samples),
        max_error=max_error,
        confidence=confidence,
    )
    return models, choices


@dataclass(frozen=True)
class HeldOutFigures:
    """Per field: values, right, auto-accepted and wrong among those, each
    sample scored by a model and thresholds that never saw its group."""

    scheme: str
    counts: dict[str, dict[str, int]]

    def as_dict(self) -> dict[str, Any]:
        return {"scheme": self.scheme, "fields": self.counts}


def cross_validated_figures(
    samples: Sequence[EvidenceSample],
    group_of: Callable[[EvidenceSample], str],
    *,
    scheme: str,
    folds: int = 5,
    min_samples: int = 30,
    max_error: float = DEFAULT_MAX_ERROR,
    confidence: float = DEFAULT_BOUND_CONFIDENCE,
) -> HeldOutFigures:
    """For each group of real samples, models fitted on the other groups plus
    every train-only sample, and thresholds chosen on that training data's own
    held-out predictions, applied to the group: every figure is on real
    documents."""
    counts: dict[str, dict[str, int]] = defaultdict(
        lambda: {"values": 0, "right": 0, "accepted": 0, "wrong_accepted": 0}
    )
    real = [s for s in samples if not s.train_only]
    for group in sorted({group_of(s) for s in real}):
        train = [s for s in samples if s.train_only or group_of(s) != group]
        test = [s for s in real if group_of(s) == group]
        if len({s.correct for s in train}) < 2:
            continue
        models, thresholds = _fit_and_choose(
            train, folds, min_samples, max_error, confidence
        )
        for sample in test:
            row = counts[sample.field]
            row["values"] += 1
            row["right"] += sample.correct
            choice = thresholds.get(sample.field)
            if (
                choice is not None
                and _predict_evidence(models, sample) >= choice.threshold
            ):
                row["accepted"] += 1
                row["wrong_accepted"] += not sample.correct
    return HeldOutFigures(scheme, dict(sorted(counts.items())))


def _held_out_figures(
    samples: Sequence[EvidenceSample],
    real_sources: set[str],
    folds: int,
    min_samples: int,
    max_error: float,
    confidence: float,
) -> list[HeldOutFigures]:
    """k-fold by document, and leave-one-source-out when there are several
    real sources."""
    figures = [
        cross_validated_figures(
            samples,
            lambda s: str(fold_of(s.document, folds)),
            scheme=f"{folds}-fold by document",
            folds=folds,
            min_samples=min_samples,
            max_error=max_error,
            confidence=confidence,
        )
    ]
    if len(real_sources) > 1:
        figures.append(
            cross_validated_figures(
                samples,
                lambda s: s.source,
                scheme="leave one source out",
                folds=folds,
                min_samples=min_samples,
                max_error=max_error,
                confidence=confidence,
            )
        )
    return figures


def synthetic_failures(
    figures: Sequence[HeldOutFigures],
    samples: Sequence[EvidenceSample],
    max_error: float,
) -> dict[str, dict[str, list[int]]]:
    """The fields fitted with synthetic values whose held-out real values
    auto-accepted are wrong more than `max_error` of the time under some
    scheme, with [accepted, wrong] per scheme."""
    synthetic = {s.field for s in samples if s.train_only}
    failing: dict[str, dict[str, list[int]]] = {}
    for figure in figures:
        for name, row in figure.counts.items():
            if (
                name in synthetic
                and row["wrong_accepted"] > max_error * row["accepted"]
            ):
                failing.setdefault(name, {})[figure.scheme] = [
                    row["accepted"],
                    row["wrong_accepted"],
                ]
    return failing


def fit_evidence_calibration(
    samples: Sequence[EvidenceSample],
    base: Calibration,
    *,
    folds: int = 5,
    min_samples: int = 30,
    max_error: float = DEFAULT_MAX_ERROR,
    confidence: float = DEFAULT_BOUND_CONFIDENCE,
) -> tuple[Calibration, list[HeldOutFigures]]:
    """`base` (its finder stage kept) with an evidence stage fitted on every
    sample and thresholds chosen on out-of-fold predictions; plus held-out
    figures k-fold by document and leave-one-source-out, on the real samples
    only (train-only ones are in every training set, never scored). Raises
    ValueError without samples of both outcomes, without real samples, or
    with fewer than two folds."""
    if folds < 2:
        raise ValueError("cross-validation needs at least two folds")
    if len({s.correct for s in samples}) < 2:
        raise ValueError("the samples hold one outcome only; nothing to learn")
    real_sources = {s.source for s in samples if not s.train_only}
    if not real_sources:
        raise ValueError("no real samples: held-out figures need real documents")
    # Synthetic values of a field stay in the fit only while the held-out
    # figures on real documents, with them in every training set, keep that
    # field's error among auto-accepted values within `max_error` under
    # every scheme; a field that fails loses its synthetic values and the
    # fit is made again (at most once per field), so its model and threshold
    # are the real values' alone. The rule is judged on the very figures this
    # function returns, and `evaluate --train-only` drops the same fields.
    refused: dict[str, dict[str, list[int]]] = {}
    while True:
        kept = [s for s in samples if not (s.train_only and s.field in refused)]
        models, choices = _fit_and_choose(
            kept, folds, min_samples, max_error, confidence
        )
        figures = _held_out_figures(
            kept, real_sources, folds, min_samples, max_error, confidence
        )
        # Refused fields have no synthetic values left, so never fail again.
        failing = synthetic_failures(figures, kept, max_error)
        if not failing:
            break
        refused |= failing
    summary = {
        **base.summary,
        "evidence": {
            "method": "logistic regression per field (pooled below "
            f"{min_samples} samples) on the finder's confidence and the "
            f"evidence, {folds}-fold cross-validated by document",
            "max_error": max_error,
            "bound": f"Wilson upper bound, one-sided {100 * confidence:.0f}%",
            "samples": len(samples),
            "train_only_samples": sum(s.train_only for s in kept),
            # Per field whose synthetic values were dropped: per scheme the
            # real values auto-accepted and the wrong ones among them.
            "synthetic_refused": dict(sorted(refused.items())),
            "held_out": [f.as_dict() for f in figures],
        },
    }
    calibration = Calibration(
        fields=base.fields,
        # A field the samples never showed is never auto-accepted.
        thresholds={
            **dict.fromkeys(base.thresholds, 1.0),
            **{name: c.threshold for name, c in choices.items()},
        },
        summary=summary,
        evidence=models,
        threshold_support={name: c.as_dict() for name, c in choices.items()},
    )
    return calibration, figures


def cross_validated_confidences(
    samples: Sequence[EvidenceSample],
    *,
    folds: int = 5,
    extra: Sequence[EvidenceSample] = (),
    unlabelled: Sequence[EvidenceSample] = (),
    min_samples: int = 30,
    max_error: float = DEFAULT_MAX_ERROR,
    confidence: float = DEFAULT_BOUND_CONFIDENCE,
) -> tuple[list[Judgement], list[Judgement]]:
    """For each sample, in order: its confidence from an evidence stage fitted
    without its fold (on the other folds plus `extra`), the threshold chosen
    on that training data's own held-out predictions, and the number of
    held-out values behind it. `unlabelled` values (no label to learn from;
    their `correct` is ignored) are judged by their document's fold too."""
    everything = [*samples, *unlabelled]
    judged: list[Judgement] = [(0.0, 1.0, 0)] * len(everything)
    for fold in range(folds):
        inside = [
            i for i, s in enumerate(everything) if fold_of(s.document, folds) == fold
        ]
        if not inside:
            continue
        train = [
            *extra,
            *(s for s in samples if fold_of(s.document, folds) != fold),
        ]
        models, choices = _fit_and_choose(
            train, folds, min_samples, max_error, confidence
        )
        for i in inside:
            sample = everything[i]
            choice = choices.get(sample.field)
            judged[i] = (
                _predict_evidence(models, sample),
                choice.threshold if choice else 1.0,
                choice.samples if choice else 0,
            )
    return judged[: len(samples)], judged[len(samples) :]
