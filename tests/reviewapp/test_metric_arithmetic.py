"""The dashboard's and the simulator's arithmetic on constructed numbers."""

from __future__ import annotations

from datetime import date

import pytest

from reviewapp.metric_arithmetic import (
    LATE,
    OK,
    WARNING,
    BucketCounts,
    candidate_thresholds,
    confidence_bucket,
    daily_rates,
    days_between,
    minutes_per_hundred,
    nearest_index,
    per_day,
    percentile,
    share,
    sla_state,
    threshold_curve,
)


def test_share_is_none_without_a_whole() -> None:
    assert share(3, 4) == 0.75
    assert share(0, 0) is None


def test_percentile_interpolates_between_ranks_like_numpy() -> None:
    values = [10.0, 1.0, 4.0, 7.0]  # unsorted on purpose
    assert percentile(values, 0.5) == pytest.approx(5.5)
    assert percentile(values, 0.9) == pytest.approx(9.1)  # 7 + 0.7 * 3
    assert percentile(values, 0.0) == 1.0
    assert percentile(values, 1.0) == 10.0
    assert percentile([42.0], 0.9) == 42.0
    assert percentile([], 0.5) is None


def test_days_between_includes_both_ends() -> None:
    days = days_between(date(2026, 2, 27), date(2026, 3, 2))
    assert days == [date(2026, 2, 27), date(2026, 2, 28), date(2026, 3, 1),
                    date(2026, 3, 2)]  # fmt: skip
    assert days_between(date(2026, 3, 2), date(2026, 3, 1)) == []


def test_daily_series_fill_missing_days_with_zero_counts_and_no_rate() -> None:
    days = days_between(date(2026, 1, 1), date(2026, 1, 3))
    counts = {date(2026, 1, 1): 4, date(2026, 1, 3): 2}
    assert per_day(counts, days) == [4, 0, 2]
    rates = daily_rates({date(2026, 1, 1): 1}, counts, days)
    assert rates == [0.25, None, 0.0]


def test_minutes_of_human_work_per_hundred_documents() -> None:
    # 3 documents took 90 s of active review: 30 s each, 50 min per 100.
    assert minutes_per_hundred(90, 3) == pytest.approx(50.0)
    assert minutes_per_hundred(90, 0) is None


def test_sla_state_turns_amber_at_three_quarters_and_red_past_the_sla() -> None:
    hour = 3600
    assert sla_state(None, 4 * hour) == OK
    assert sla_state(2.9 * hour, 4 * hour) == OK
    assert sla_state(3 * hour, 4 * hour) == WARNING
    assert sla_state(4 * hour, 4 * hour) == WARNING
    assert sla_state(4 * hour + 1, 4 * hour) == LATE


def test_confidence_buckets_floor_to_a_thousandth() -> None:
    assert confidence_bucket(0.8739) == 873
    assert confidence_bucket(1.0) == 1000
    assert confidence_bucket(-0.2) == 0
    assert confidence_bucket(1.3) == 1000


def test_threshold_curve_counts_values_at_or_above_the_threshold() -> None:
    # 10 documents reviewed; 8 carried the field. At 0.95 and up: 3 values, 1
    # of which a person changed; at 0.90: 5 more kept and 1 more changed
    # below; 0.50: 1 kept at 0.5 exactly.
    buckets = {
        980: BucketCounts(kept=2, changed=1),
        920: BucketCounts(kept=2, changed=0),
        900: BucketCounts(kept=1, changed=1),
        500: BucketCounts(kept=1, changed=0),
    }
    high, ninety, low, above_all = threshold_curve(
        buckets, documents=10, candidates=[0.95, 0.90, 0.50, 1.0]
    )
    assert (high.auto_accepted, high.errors) == (3, 1)
    assert high.auto_accepted_share == pytest.approx(3 / 8)
    assert high.errors_per_thousand == pytest.approx(100.0)  # 1 of 10 documents
    assert (ninety.auto_accepted, ninety.errors) == (7, 2)
    assert ninety.errors_per_thousand == pytest.approx(200.0)
    assert (low.auto_accepted, low.errors) == (8, 2)
    assert low.auto_accepted_share == 1.0
    assert (above_all.auto_accepted, above_all.errors) == (0, 0)


def test_a_threshold_between_buckets_is_exact_to_the_thousandth() -> None:
    # Value at 0.873 is accepted at 0.873 and not at 0.874.
    buckets = {873: BucketCounts(kept=0, changed=1)}
    at, above = threshold_curve(buckets, documents=1, candidates=[0.873, 0.874])
    assert at.errors == 1
    assert above.errors == 0


def test_an_empty_history_has_no_shares() -> None:
    (point,) = threshold_curve({}, documents=0, candidates=[0.9])
    assert point.auto_accepted == 0
    assert point.auto_accepted_share is None
    assert point.errors_per_thousand is None


def test_candidates_run_to_one_and_the_current_threshold_is_marked() -> None:
    candidates = candidate_thresholds(0.5, 0.01)
    assert candidates[0] == 0.5 and candidates[-1] == 1.0 and len(candidates) == 51
    assert candidates[nearest_index(candidates, 0.873)] == 0.87
