"""Auto-accept thresholds: the lowest confidence at which a field's held-out
values are wrong no more than the promised share of the time, judged at an
upper bound so that a field seen a few dozen times never gets an optimistic
threshold; when a field may borrow the threshold of every field pooled; and
when values of synthetic documents may lower a threshold (only where real
ones confirm it). Used by the evidence-stage fit (calibration_fit).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.extract.calibration_fit import EvidenceSample

# One-sided confidence for the upper bound on error behind a threshold: with
# 90 %, a threshold for 1 % error needs at least 164 accepted held-out values
# and no error among them, so a field seen a few dozen times never gets an
# optimistic threshold of its own.
DEFAULT_BOUND_CONFIDENCE = 0.90
DEFAULT_MAX_ERROR = 0.01
# A field borrowing the pooled threshold must not contradict it on its own
# record: a dozen IBANs above it, all right, prove nothing (one wrong IBAN
# with valid check digits is exactly the error the pool hides).
POOLED_FALLBACK_MAX_ERROR = 0.05
# Train-only values (synthetic invoices) teach the curves and may lower a
# threshold, but a generator is not the world: a threshold they support below
# the one the real values alone support is kept only if the real held-out
# values at or above it confirm it. Confirmed means no more than `max_error`
# wrong among them (the promise itself, on real documents) and the same record
# a field needs to borrow the pooled threshold (upper bound under 5 %: about
# 30 real values, all right), so a field seen a dozen times on real documents
# is never auto-accepted on the generator's word alone.
REAL_CONFIRMATION_MAX_ERROR = POOLED_FALLBACK_MAX_ERROR


def error_upper_bound(errors: int, accepted: int, confidence: float) -> float:
    """Wilson score upper bound on the error rate, one-sided at `confidence`:
    the error rate the data cannot rule out. 1.0 with nothing accepted."""
    if accepted <= 0:
        return 1.0
    z = NormalDist().inv_cdf(confidence)
    rate = errors / accepted
    denominator = 1 + z * z / accepted
    centre = rate + z * z / (2 * accepted)
    spread = z * math.sqrt(
        rate * (1 - rate) / accepted + z * z / (4 * accepted * accepted)
    )
    return min(1.0, (centre + spread) / denominator)


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float
    samples: int  # held-out values the choice was made on
    accepted: int
    errors: int
    error_bound: float
    # "field" (its own values), "pooled" (every field's), or either with
    # "+synthetic" when train-only values took part and real ones confirmed it.
    basis: str
    # With train-only values: the lower threshold they supported that real
    # values did not confirm (None when none was refused), and the real
    # held-out values at or above the threshold judged (the chosen one, or
    # the refused one), with the wrong ones among them.
    refused: float | None = None
    real_accepted: int | None = None
    real_errors: int | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "threshold": self.threshold,
            "samples": self.samples,
            "accepted": self.accepted,
            "errors": self.errors,
            "error_bound": round(self.error_bound, 4),
            "basis": self.basis,
        }
        if self.refused is not None:
            out["refused_synthetic_threshold"] = self.refused
        if self.real_accepted is not None:
            out |= {
                "real_accepted": self.real_accepted,
                "real_errors": self.real_errors,
            }
        return out


def threshold_for_error(
    predictions: Sequence[tuple[float, bool]],
    *,
    max_error: float = DEFAULT_MAX_ERROR,
    confidence: float = DEFAULT_BOUND_CONFIDENCE,
) -> ThresholdChoice:
    """The lowest confidence at which the values at or above it are wrong at
    most `max_error` of the time at the upper bound (`error_upper_bound`), so
    that fewer samples need a cleaner record. 1.0 (nothing but XML passes)
    when no confidence qualifies."""
    ordered = sorted((p for p in predictions if p[0] < 1.0), reverse=True)
    choice = ThresholdChoice(1.0, len(predictions), 0, 0, 1.0, "field")
    errors = 0
    for index, (value, is_correct) in enumerate(ordered, start=1):
        errors += not is_correct
        if index < len(ordered) and ordered[index][0] == value:
            continue  # decide only at the end of a run of equal confidences
        bound = error_upper_bound(errors, index, confidence)
        if bound <= max_error:
            choice = ThresholdChoice(
                value, len(predictions), index, errors, bound, "field"
            )
    return choice


def _choose_on(
    predictions: Sequence[tuple[EvidenceSample, float]],
    *,
    max_error: float,
    confidence: float,
) -> dict[str, ThresholdChoice]:
    """Per field, the threshold its own held-out values support; a field
    whose values are too few falls back to the threshold every field's values
    together support, but only if its own values at or above that threshold
    keep the promise themselves (no more than `max_error` wrong) and keep the
    error under POOLED_FALLBACK_MAX_ERROR at the bound (no error among some
    30 of them), so a field seen a dozen times never borrows, and neither
    does one whose own record is worse than the pool's (1 invoice number
    wrong in 80 borrowed once, and 4 in 27 held out were wrong)."""
    pooled = threshold_for_error(
        [(p, s.correct) for s, p in predictions],
        max_error=max_error,
        confidence=confidence,
    )
    choices = {}
    for name in sorted({s.field for s, _ in predictions}):
        pairs = [(p, s.correct) for s, p in predictions if s.field == name]
        own = threshold_for_error(pairs, max_error=max_error, confidence=confidence)
        if own.threshold < 1.0 or pooled.threshold >= 1.0:
            choices[name] = own
            continue
        accepted = [c for p, c in pairs if p >= pooled.threshold]
        errors = sum(not c for c in accepted)
        bound = error_upper_bound(errors, len(accepted), confidence)
        if errors > max_error * len(accepted) or bound > POOLED_FALLBACK_MAX_ERROR:
            choices[name] = own
            continue
        choices[name] = ThresholdChoice(
            pooled.threshold,
            pooled.samples,
            pooled.accepted,
            pooled.errors,
            pooled.error_bound,
            "pooled",
        )
    return choices


def real_confirms(
    real: Sequence[tuple[float, bool]],
    threshold: float,
    *,
    max_error: float = DEFAULT_MAX_ERROR,
    confidence: float = DEFAULT_BOUND_CONFIDENCE,
) -> tuple[bool, int, int]:
    """Whether real held-out values confirm a threshold train-only values
    support (REAL_CONFIRMATION_MAX_ERROR), with the real values at or above
    it and the wrong ones among them."""
    accepted = [correct for p, correct in real if p >= threshold]
    errors = sum(not c for c in accepted)
    confirmed = (
        bool(accepted)
        and errors <= max_error * len(accepted)
        and error_upper_bound(errors, len(accepted), confidence)
        <= REAL_CONFIRMATION_MAX_ERROR
    )
    return confirmed, len(accepted), errors


def choose_thresholds(
    predictions: Sequence[tuple[EvidenceSample, float]],
    *,
    max_error: float = DEFAULT_MAX_ERROR,
    confidence: float = DEFAULT_BOUND_CONFIDENCE,
) -> dict[str, ThresholdChoice]:
    """Per field, the threshold the real held-out values support (`_choose_on`);
    with train-only values, the lower threshold real and train-only values
    support together when the real values at or above it confirm it
    (`real_confirms`), else the real values' own."""
    real = [(s, p) for s, p in predictions if not s.train_only]
    choices = _choose_on(real, max_error=max_error, confidence=confidence)
    if len(real) == len(predictions):
        return choices
    together = _choose_on(predictions, max_error=max_error, confidence=confidence)
    for name, joint in together.items():
        # A field no real document showed has nothing real to confirm it.
        own = choices.get(name) or ThresholdChoice(1.0, 0, 0, 0, 1.0, "field")
        # Only a field's own values may lower its threshold: a pooled one
        # would carry other fields' synthetic values into it (leave one
        # source out, dates borrowing it were 5 wrong in 36 once).
        if joint.threshold >= own.threshold or joint.basis != "field":
            choices[name] = own
            continue
        confirmed, accepted, errors = real_confirms(
            [(p, s.correct) for s, p in real if s.field == name],
            joint.threshold,
            max_error=max_error,
            confidence=confidence,
        )
        if confirmed:
            choices[name] = replace(
                joint,
                basis=f"{joint.basis}+synthetic",
                real_accepted=accepted,
                real_errors=errors,
            )
        else:
            # Real values do not confirm it: their own threshold stays.
            choices[name] = replace(
                own,
                refused=joint.threshold,
                real_accepted=accepted,
                real_errors=errors,
            )
    return choices
