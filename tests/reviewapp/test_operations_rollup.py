"""The dashboard's day rows: equal to a recount from the documents after real
status changes, unchanged by a second run, rebuilt when a threshold moves, and
never needed for a right answer (what is not folded in yet is counted live)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper

from reviewapp.metric_arithmetic import (
    DURATION_PRECISION,
    bucket_seconds,
    duration_bucket,
    histogram_percentile,
    percentile,
)
from reviewapp.models.documents import Document, ProcessingRun
from reviewapp.models.operations import DocumentFigures, OperationsDay, OperationsRollup
from reviewapp.models.validation import ValidationIssue
from reviewapp.selectors.metrics import (
    Histograms,
    stage_histograms,
    successful_run_histograms,
)
from reviewapp.selectors.operation_figures import current_rules
from reviewapp.selectors.operations import Chart, DashboardFilters, dashboard_charts
from reviewapp.services.exports import document_mark_exported
from reviewapp.services.fields import field_correct
from reviewapp.services.operations import operations_rollup
from reviewapp.services.review import (
    document_approve,
    document_claim,
    document_escalate,
    document_reject,
)
from reviewapp.services.thresholds import field_threshold_set
from tests.conftest import make_document

FIELDS = {"total_amount": ("12.00", 1.0), "vendor_name": ("ACME", 1.0)}


def week() -> DashboardFilters:
    today = timezone.localdate()
    return DashboardFilters(start=today - timedelta(days=6), end=today)


def figures_shown(charts: list[Chart]) -> dict[str, list[list[object]]]:
    """Every chart's table, which is what the page and the CSVs show; not the
    age of waiting work, which is read at the moment from the queues."""
    return {chart.slug: chart.rows for chart in charts if chart.slug != "waiting"}


def recounted(filters: DashboardFilters) -> dict[str, list[list[object]]]:
    """The charts counted from the documents alone, without the day rows."""
    OperationsRollup.objects.update(rules="")  # no longer matches: unused
    try:
        return figures_shown(dashboard_charts(filters))
    finally:
        OperationsRollup.objects.update(rules=current_rules().fingerprint())


def day_rows() -> dict[tuple[str, str], dict[str, int]]:
    return {
        (row.day.isoformat(), row.document_type): row.figures
        for row in OperationsDay.objects.all()
    }


def exception_counts() -> dict[object, object]:
    chart = figures_shown(dashboard_charts(week()))["exceptions"]
    return {row[0]: row[1] for row in chart}


def received(
    days_ago: int,
    *,
    document_type: str = "invoice",
    fields: dict[str, tuple[str, float]] = FIELDS,
) -> Document:
    """A document read `days_ago` days ago, waiting for review."""
    document = make_document(status="ready", fields=fields)
    moment = timezone.now() - timedelta(days=days_ago)
    Document.objects.filter(pk=document.pk).update(
        created_at=moment - timedelta(minutes=3),
        processed_at=moment,
        document_type=document_type,
        document_type_confidence=0.95,
    )
    document.refresh_from_db()
    return document


def test_the_day_rows_equal_a_recount_after_a_sequence_of_status_changes(
    db: None, clerk: User, supervisor: User
) -> None:
    approved, corrected, escalated = received(3), received(2), received(1)
    received(1, document_type="receipt")
    first = operations_rollup()
    assert first.rebuilt and first.documents == 4
    # Reviews after the rollup: the dashboard counts these documents live.
    document_claim(document=approved, user=clerk)
    document_approve(document=approved, user=clerk)
    document_claim(document=corrected, user=clerk)
    # Its checks run again; the correction is first-pass evidence once approved.
    field_correct(document=corrected, name="total_amount", value="21.00", user=clerk)
    document_claim(document=escalated, user=clerk)
    document_escalate(
        document=escalated, user=clerk, reason="wrong_data", note="totals differ"
    )
    document_reject(document=escalated, user=supervisor, note="not ours")
    document_mark_exported(document=approved, user=supervisor)
    late = received(0)  # a new document, after the rollup too

    live = figures_shown(dashboard_charts(week()))
    assert live == recounted(week())
    throughput = {row[0]: row[1:] for row in live["throughput"]}
    today = timezone.localdate().isoformat()
    # in, processed, approved, exported today
    assert throughput[today] == [1, 1, 1, 1]
    assert live["field-accuracy"] == [
        ["total_amount", 1, 1, 0, 1.0],
        ["vendor_name", 1, 1, 0, 1.0],
    ]

    second = operations_rollup()  # folds the four changed documents in
    assert not second.rebuilt and second.documents == 4
    assert figures_shown(dashboard_charts(week())) == live
    # The folded rows are what counting every document from scratch gives.
    folded = day_rows()
    operations_rollup(rebuild=True)
    assert day_rows() == folded
    assert DocumentFigures.objects.count() == 5
    receipts = DashboardFilters(week().start, week().end, document_type="receipt")
    assert figures_shown(dashboard_charts(receipts)) == recounted(receipts)
    assert late.pk <= OperationsRollup.objects.get().through_document_id


def test_a_second_run_changes_nothing(db: None, clerk: User) -> None:
    document = received(1)
    received(2)
    operations_rollup()
    document_claim(document=document, user=clerk)
    document_approve(document=document, user=clerk)
    operations_rollup()
    rows = day_rows()
    state = OperationsRollup.objects.values().get()

    again = operations_rollup()

    assert again.documents == 0
    assert day_rows() == rows
    assert (
        OperationsRollup.objects.values().get()["through_sequence"]
        == (state["through_sequence"])
    )


def test_a_new_threshold_rebuilds_the_day_rows_and_is_counted_at_once(
    db: None, admin_user: User
) -> None:
    field_threshold_set(name="total_amount", threshold=0.95, actor=admin_user)
    received(1, fields={"total_amount": ("12.00", 0.97)})
    operations_rollup()
    assert "Low confidence" not in exception_counts()

    field_threshold_set(name="total_amount", threshold=0.98, actor=admin_user)

    # Before the rollup runs again the stored rows no longer apply: counted live.
    shown = figures_shown(dashboard_charts(week()))
    assert exception_counts()["Low confidence"] == 1
    assert operations_rollup().rebuilt
    assert figures_shown(dashboard_charts(week())) == shown


def test_the_command_backfills_an_existing_history(db: None) -> None:
    for days_ago in (40, 10, 0):
        received(days_ago)
    assert not OperationsDay.objects.exists()

    call_command("rollup_operations")

    assert DocumentFigures.objects.count() == 3
    assert sum(row["in"] for row in day_rows().values() if "in" in row) == 3


@pytest.mark.parametrize("seconds", [1.0, 59.0, 150.0, 3540.0, 86400.0 * 30])
def test_a_duration_bucket_stands_for_its_durations_within_the_precision(
    seconds: float,
) -> None:
    assert bucket_seconds(duration_bucket(seconds)) == pytest.approx(
        seconds, rel=DURATION_PRECISION
    )
    assert duration_bucket(0.4) == 0 and bucket_seconds(0) == 0.0


def test_percentiles_from_buckets_follow_the_exact_ones() -> None:
    durations = [0.0, 60.0, 61.0, 120.0, 3600.0, 7300.0, 86400.0]
    histogram: dict[int, int] = {}
    for seconds in durations:
        bucket = duration_bucket(seconds)
        histogram[bucket] = histogram.get(bucket, 0) + 1
    for fraction in (0.1, 0.5, 0.9):
        exact = percentile(durations, fraction)
        assert histogram_percentile(histogram, fraction) == pytest.approx(
            exact, rel=DURATION_PRECISION
        )
    assert histogram_percentile({}, 0.5) is None


def test_settings_and_the_time_zone_are_part_of_the_rules(
    db: None, settings: SettingsWrapper
) -> None:
    received(1)
    operations_rollup()
    settings.TIME_ZONE = "Europe/Berlin"
    with timezone.override("Europe/Berlin"):
        assert operations_rollup().rebuilt


def test_checks_run_again_without_an_audit_event_are_counted_again(db: None) -> None:
    document = received(1)
    ValidationIssue.objects.create(
        document=document, rule="duplicate_invoice", code="duplicate",
        severity="error", message="seen before",
    )  # fmt: skip
    operations_rollup()
    assert exception_counts()["Possible duplicate"] == 1

    call_command("validate_documents", str(document.public_id), stdout=io.StringIO())

    assert not ValidationIssue.objects.filter(rule="duplicate_invoice").exists()
    assert "Possible duplicate" not in exception_counts()
    assert figures_shown(dashboard_charts(week())) == recounted(week())


def _run(document: Document, outcome: str, text: float, **moments: object) -> int:
    run = ProcessingRun.objects.create(
        document=document,
        attempt=1,
        outcome=outcome,
        stage_seconds={"decode": 0.2, "text": text, "current": "text"},
    )
    ProcessingRun.objects.filter(pk=run.pk).update(**moments)
    return run.pk


def _recounted() -> Histograms:
    return stage_histograms(
        ProcessingRun.objects.filter(outcome=ProcessingRun.Outcome.SUCCEEDED)
    )


def _same(kept: Histograms, recount: Histograms) -> None:
    assert {stage: counts for stage, (counts, _) in kept.items()} == {
        stage: counts for stage, (counts, _) in recount.items()
    }
    for stage, (_, seconds) in recount.items():
        assert kept[stage][1] == pytest.approx(seconds)


def test_metrics_stage_histograms_are_kept_by_the_rollup_and_equal_a_recount(
    db: None,
) -> None:
    document = make_document(status="approved")
    settled = timezone.now() - timedelta(minutes=5)
    for text in (0.3, 4.0, 200.0):
        _run(document, "succeeded", text, started_at=settled)
    _run(document, "failed", 9.0, started_at=settled)
    still_running = _run(document, "running", 1.0, started_at=settled)
    after_it = _run(document, "succeeded", 2.0, started_at=settled)
    just_started = _run(document, "succeeded", 0.1)
    _same(successful_run_histograms(), _recounted())  # nothing kept yet

    operations_rollup()
    rollup = OperationsRollup.objects.get()
    # Kept up to the run still running: the ones after it wait for it.
    assert rollup.through_run_id == still_running - 1
    assert rollup.stage_histograms["text"]["counts"][-1] == 1  # 200 s: +Inf
    _same(successful_run_histograms(), _recounted())

    ProcessingRun.objects.filter(pk=still_running).update(outcome="succeeded")
    operations_rollup()
    # The recent run is left for a later fold, in case one before it is
    # still committing; every other run is in.
    assert OperationsRollup.objects.get().through_run_id == after_it == just_started - 1
    _same(successful_run_histograms(), _recounted())
    assert sum(successful_run_histograms()["text"][0]) == 6

    operations_rollup(rebuild=True)
    _same(successful_run_histograms(), _recounted())
