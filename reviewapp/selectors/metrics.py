"""`/metrics` in Prometheus text format, read from the database, the audit trail
and Redis at scrape time.

Nothing is counted in process memory: web servers and workers run as many
processes on many machines, and a per-process counter would show whichever
one the scrape happened to reach. The database and Redis are shared, so every
scrape sees the same numbers, and a restart loses none.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import redis
from django.db.models import Count, QuerySet, Sum
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document, ProcessingRun
from reviewapp.models.operations import OperationsRollup
from reviewapp.models.review import ReviewTime
from reviewapp.selectors.health import (
    QUEUE_NAME,
    queue_depth,
    ready_workers,
    redis_client,
)
from reviewapp.selectors.json_numbers import json_number_rows

# Seconds; a page of OCR takes about 1-6 s, a long document a minute or more.
STAGE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
# Keys of ProcessingRun.stage_seconds that are not stages.
NOT_STAGES = frozenset({"current"})
# Per stage: runs per bucket (not cumulative; the last is +Inf) and seconds.
Histograms = dict[str, tuple[list[int], float]]


def stage_histograms(runs: QuerySet[ProcessingRun]) -> Histograms:
    """Per stage: counts per bucket (not yet cumulative, the last one is +Inf)
    and the sum of seconds, from the runs' stage_seconds, counted by the
    database (a bucket is the first bound the seconds do not exceed)."""
    bucket = " ".join(
        f"WHEN value <= {bound!r} THEN {index}"
        for index, bound in enumerate(STAGE_BUCKETS)
    )
    histograms: dict[str, tuple[list[int], float]] = {}
    for stage, index, count, total in json_number_rows(
        runs,
        "stage_seconds",
        select=f"key, CASE {bucket} ELSE {len(STAGE_BUCKETS)} END, COUNT(*), "
        "SUM(value)",
        group_by="1, 2",
    ):
        if stage in NOT_STAGES:
            continue
        counts, seconds = histograms.get(stage, ([0] * (len(STAGE_BUCKETS) + 1), 0.0))
        counts[index] += count
        histograms[stage] = (counts, seconds + float(total))
    return histograms


def merged_histograms(*parts: Histograms) -> Histograms:
    merged: Histograms = {}
    for part in parts:
        for stage, (counts, seconds) in part.items():
            kept, kept_seconds = merged.get(stage, ([0] * len(counts), 0.0))
            merged[stage] = (
                [a + b for a, b in zip(kept, counts, strict=True)],
                kept_seconds + seconds,
            )
    return merged


def histograms_as_json(histograms: Histograms) -> dict[str, Any]:
    return {
        stage: {"counts": counts, "seconds": seconds}
        for stage, (counts, seconds) in histograms.items()
    }


def histograms_from_json(stored: dict[str, Any]) -> Histograms:
    return {
        stage: (list(kept["counts"]), float(kept["seconds"]))
        for stage, kept in stored.items()
    }


def successful_run_histograms() -> Histograms:
    """The stage histograms of every successful run: those the rollup kept
    (runs up to its `through_run_id`) plus the runs after it, counted now.
    Reading every run's stage_seconds took 0.5-0.7 s at 100,000 documents;
    this reads one row and the runs since the last rollup (a minute's)."""
    kept = (
        OperationsRollup.objects.filter(singleton=1)
        .values_list("through_run_id", "stage_histograms")
        .first()
    )
    through, stored = kept or (0, {})
    since = ProcessingRun.objects.filter(
        outcome=ProcessingRun.Outcome.SUCCEEDED, pk__gt=through
    )
    return merged_histograms(histograms_from_json(stored), stage_histograms(since))


class VouchCollector:
    """Collects every Vouch metric on each scrape."""

    def collect(self) -> Iterator[Metric]:
        yield from self._documents()
        yield from self._processing()
        yield from self._review()
        yield from self._redis()

    def _documents(self) -> Iterator[Metric]:
        by_state = GaugeMetricFamily(
            "vouch_documents", "Documents by state", labels=["state"]
        )
        counts = dict(
            Document.objects.order_by()
            .values_list("status")
            .annotate(n=Count("*"))  # not of the id: the status index alone
            .values_list("status", "n")
        )
        for state in Document.Status.values:
            by_state.add_metric([state], counts.get(state, 0))
        yield by_state
        straight = CounterMetricFamily(
            "vouch_straight_through",
            "Documents approved by routing, without a person",
        )
        straight.add_metric([], Document.objects.filter(straight_through=True).count())
        yield straight

    def _processing(self) -> Iterator[Metric]:
        durations = HistogramMetricFamily(
            "vouch_job_stage_seconds",
            "Seconds per pipeline stage of successful processing runs",
            labels=["stage"],
        )
        for stage, (counts, total) in sorted(successful_run_histograms().items()):
            cumulative, buckets = 0, []
            for bound, count in zip(
                (*STAGE_BUCKETS, float("inf")), counts, strict=True
            ):
                cumulative += count
                buckets.append(
                    ("+Inf" if bound == float("inf") else str(bound), cumulative)
                )
            durations.add_metric([stage], buckets, total)
        yield durations
        failures = CounterMetricFamily(
            "vouch_job_failures",
            "Failed processing attempts by reason (from the audit trail)",
            labels=["reason"],
        )
        for reason, count in (
            AuditEvent.objects.filter(event_type=AuditEvent.EventType.JOB_FAILED)
            .order_by()
            .values_list("details__reason")
            .annotate(n=Count("id"))
            .values_list("details__reason", "n")
        ):
            failures.add_metric([str(reason or "unknown")[:120]], count)
        yield failures

    def _review(self) -> Iterator[Metric]:
        totals = ReviewTime.objects.aggregate(
            seconds=Sum("active_seconds"), documents=Count("document", distinct=True)
        )
        seconds = CounterMetricFamily(
            "vouch_review_active_seconds",
            "Active review time: page visible and the person active, idle excluded",
        )
        seconds.add_metric([], float(totals["seconds"] or 0.0))
        yield seconds
        documents = CounterMetricFamily(
            "vouch_reviewed_documents",
            "Documents with recorded active review time",
        )
        documents.add_metric([], totals["documents"] or 0)
        yield documents

    def _redis(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("vouch_redis_up", "1 when Redis answers, else 0")
        client = redis_client()
        try:
            depth, workers = queue_depth(client), len(ready_workers(client))
        except redis.RedisError:
            # The other figures still come from the database; Redis's are unknown.
            up.add_metric([], 0)
            yield up
            return
        finally:
            client.close()
        up.add_metric([], 1)
        yield up
        queue = GaugeMetricFamily(
            "vouch_queue_depth", "Jobs waiting in the queue", labels=["queue"]
        )
        queue.add_metric([QUEUE_NAME], depth)
        yield queue
        ready = GaugeMetricFamily(
            "vouch_workers_ready", "Workers alive with their OCR models loaded"
        )
        ready.add_metric([], workers)
        yield ready


def metrics_text() -> bytes:
    """Every metric, in the Prometheus text exposition format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(VouchCollector())
    return generate_latest(registry)
