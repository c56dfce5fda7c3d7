"""The arithmetic behind the operations dashboard, the threshold simulator and
the health check, as pure functions of plain numbers. Selectors fetch the
counts and durations from the database; this module turns them into shares,
percentiles, curves and colours, so each figure is tested on constructed data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

# The simulator's resolution: confidences are counted in buckets of 0.001, so
# any threshold given to three decimals (calibrated ones are) is exact.
CONFIDENCE_BUCKETS = 1000
# An SLA turns amber when the oldest waiting item has used this much of it.
SLA_WARNING_SHARE = 0.75

OK = "ok"
WARNING = "warning"
LATE = "late"


def share(part: float, whole: float) -> float | None:
    """part / whole, or None when there is nothing to divide (not 0: a day
    without documents has no rate, and a chart shows a gap)."""
    return part / whole if whole else None


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The percentile at `fraction` (0.9 for p90) by linear interpolation
    between closest ranks (numpy's default), of values in any order; None for
    no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * fraction
    low = math.floor(rank)
    high = math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# Cycle times are kept as counts per duration bucket, so a range's percentiles
# come from summed counts instead of every document's durations. Buckets are
# 2 % wide on a log scale from 1 s; a bucket stands for its geometric middle,
# so a percentile read from them is within 1 % of the exact one. Durations
# under a second (and negative ones, from clocks) count as 0 s.
DURATION_BUCKET_RATIO = 1.02
DURATION_PRECISION = math.sqrt(DURATION_BUCKET_RATIO) - 1  # 0.995 %


def duration_bucket(seconds: float) -> int:
    """0 for under a second, else 1 + floor(log(seconds) / log(1.02))."""
    if seconds < 1:
        return 0
    return 1 + math.floor(math.log(seconds) / math.log(DURATION_BUCKET_RATIO))


def bucket_seconds(bucket: int) -> float:
    """The duration a bucket stands for: the geometric middle of its bounds."""
    if bucket <= 0:
        return 0.0
    return float(DURATION_BUCKET_RATIO ** (bucket - 1 + 0.5))


def histogram_percentile(counts: Mapping[int, int], fraction: float) -> float | None:
    """`percentile` of durations given as counts per bucket: the same ranks
    and interpolation, each value read as its bucket's middle."""
    total = sum(counts.values())
    if not total:
        return None
    rank = (total - 1) * fraction
    low, high = math.floor(rank), math.ceil(rank)
    values: dict[int, float] = {}
    seen = 0
    for bucket in sorted(counts):
        count = counts[bucket]
        for wanted in (low, high):
            if wanted not in values and seen <= wanted < seen + count:
                values[wanted] = bucket_seconds(bucket)
        seen += count
        if high in values:
            break
    return values[low] + (values[high] - values[low]) * (rank - low)


def days_between(first: date, last: date) -> list[date]:
    """Every day from first to last, both included (empty when last < first)."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def per_day(counts: Mapping[date, float], days: Sequence[date]) -> list[float]:
    """A count for every day, 0 where the database had no row for it."""
    return [counts.get(day, 0) for day in days]


def daily_rates(
    parts: Mapping[date, int], wholes: Mapping[date, int], days: Sequence[date]
) -> list[float | None]:
    return [share(parts.get(day, 0), wholes.get(day, 0)) for day in days]


def minutes_per_hundred(active_seconds: float, documents: int) -> float | None:
    """Minutes of human work per 100 documents."""
    rate = share(active_seconds, documents)
    return None if rate is None else rate * 100 / 60


def sla_state(age_seconds: float | None, sla_seconds: float) -> str:
    """OK, WARNING (most of the SLA used) or LATE (past it) for the oldest item
    waiting in a queue; an empty queue is OK."""
    if age_seconds is None or age_seconds < SLA_WARNING_SHARE * sla_seconds:
        return OK
    return WARNING if age_seconds <= sla_seconds else LATE


# Added before flooring so 0.57 x 1000 = 569.9999... lands in bucket 570.
BUCKET_EPSILON = 1e-6


def confidence_bucket(confidence: float) -> int:
    """The bucket a confidence falls in: floor(confidence x 1000), clamped."""
    raw = math.floor(confidence * CONFIDENCE_BUCKETS + BUCKET_EPSILON)
    return min(CONFIDENCE_BUCKETS, max(0, raw))


@dataclass(frozen=True)
class BucketCounts:
    """Machine values in one confidence bucket, split by what people did."""

    kept: int  # nobody changed the value
    changed: int  # a person replaced it: the machine was wrong


@dataclass(frozen=True)
class CurvePoint:
    threshold: float
    auto_accepted: int
    auto_accepted_share: float | None  # of the field's machine values
    errors: int  # auto-accepted values a person would have had to change
    errors_per_thousand: float | None  # per 1,000 documents


def threshold_curve(
    buckets: Mapping[int, BucketCounts],
    documents: int,
    candidates: Sequence[float],
) -> list[CurvePoint]:
    """What each candidate threshold would have done to the recorded values:
    those at or above it (routing's `confidence >= threshold`) are accepted
    without a look; its errors are the accepted values people changed, per
    1,000 of the `documents` reviewed, whether or not they carried the field.
    One pass over cumulative counts (from the top bucket down), so a curve
    costs no more than one point."""
    kept_from = [0] * (CONFIDENCE_BUCKETS + 2)
    changed_from = [0] * (CONFIDENCE_BUCKETS + 2)
    for bucket in range(CONFIDENCE_BUCKETS, -1, -1):
        counts = buckets.get(bucket, BucketCounts(0, 0))
        kept_from[bucket] = kept_from[bucket + 1] + counts.kept
        changed_from[bucket] = changed_from[bucket + 1] + counts.changed
    values = kept_from[0] + changed_from[0]
    points = []
    for threshold in candidates:
        cut = min(
            CONFIDENCE_BUCKETS + 1,
            max(0, math.ceil(round(threshold * CONFIDENCE_BUCKETS, 6))),
        )
        accepted = kept_from[cut] + changed_from[cut]
        errors = changed_from[cut]
        per_thousand = share(errors, documents)
        points.append(
            CurvePoint(
                threshold=threshold,
                auto_accepted=accepted,
                auto_accepted_share=share(accepted, values),
                errors=errors,
                errors_per_thousand=(
                    None if per_thousand is None else per_thousand * 1000
                ),
            )
        )
    return points


def candidate_thresholds(low: float = 0.5, step: float = 0.01) -> list[float]:
    """The curve's x axis: low to 1.0 in steps, rounded to avoid 0.30000004."""
    count = round((1.0 - low) / step)
    return [round(low + n * step, 4) for n in range(count + 1)]


def nearest_index(values: Sequence[float], target: float) -> int:
    """Where the current threshold sits on the curve's x axis."""
    return min(range(len(values)), key=lambda i: abs(values[i] - target))
