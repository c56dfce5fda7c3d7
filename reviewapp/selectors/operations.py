"""Reads for the operations dashboard: the figures a finance team runs on, from
the documents, their fields, the review time recorded from the review page and
the audit trail. The counts over a date range come from `operation_figures`
(day rows kept by a rollup, plus what changed since, counted live); waiting
work and review time are read from their rows. The arithmetic is in
`metric_arithmetic`, the drawing in `charts`.

Dates are days in the site's time zone; a range includes both ends.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, F, FloatField, Func, Min, QuerySet, Sum
from django.utils import timezone

from pipeline.registry import validation_rules
from reviewapp import charts
from reviewapp.extraction_fields import FIELD_LABELS, FIELD_NAMES
from reviewapp.metric_arithmetic import (
    daily_rates,
    days_between,
    histogram_percentile,
    minutes_per_hundred,
    per_day,
    share,
    sla_state,
)
from reviewapp.models.documents import Document
from reviewapp.models.operations import OperationsDay
from reviewapp.models.review import ReviewTime
from reviewapp.selectors import operation_figures as figure_names
from reviewapp.selectors.json_numbers import json_number_sums
from reviewapp.selectors.operation_figures import (
    RangeFigures,
    changed_documents,
    current_rollup,
    range_figures,
)

SLA_COLOURS = {"ok": "#009E73", "warning": "#E69F00", "late": "#D55E00"}
TOP = 10


class EpochSeconds(Func):
    """A datetime column as seconds since the epoch, computed by the database,
    so durations reach Python as floats instead of parsed datetimes."""

    output_field = FloatField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Django stores UTC text; julianday() reads it (2440587.5 is 1970-01-01).
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)",
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="EXTRACT(EPOCH FROM %(expressions)s)"
        )


@dataclass(frozen=True)
class DashboardFilters:
    start: date
    end: date
    document_type: str = ""  # "" is every type

    def bounds(self) -> tuple[datetime, datetime]:
        """Aware datetimes: the start of `start` and the start of the day after
        `end`, so range filters use the columns' indexes (no date casts)."""
        zone = timezone.get_current_timezone()
        return (
            datetime.combine(self.start, time.min, tzinfo=zone),
            datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=zone),
        )

    def figures(self) -> RangeFigures:
        """The range's counts (read once per page: `dashboard_charts` hands
        them to every chart)."""
        return range_figures(self.start, self.end, self.document_type)

    @property
    def days(self) -> list[date]:
        return days_between(self.start, self.end)


@dataclass
class Chart:
    """One chart: its SVG and the same figures as a table, for the CSV."""

    slug: str
    title: str
    svg: str
    columns: list[str]
    rows: list[list[Any]]
    summary: list[tuple[str, str]] = field(default_factory=list)
    extra: Any = None  # what the page shows beside the chart (a table's rows)


def _day_labels(days: Sequence[date]) -> list[str]:
    return [day.strftime("%d %b") for day in days]


def _percent(value: float | None) -> str:
    return "–" if value is None else charts.as_percent(value)


def _per_day_chart(
    filters: DashboardFilters,
    *,
    slug: str,
    title: str,
    description: str,
    series: dict[str, list[Any]],
    columns: list[str],
    counts: dict[str, dict[date, int]],
    **line_options: Any,
) -> Chart:
    """A line per series over the range's days; the table has a row per day
    with each of `counts` (its columns after "day")."""
    days = filters.days
    return Chart(
        slug=slug,
        title=title,
        svg=charts.line_chart(
            title=title,
            description=description,
            x_labels=_day_labels(days),
            series=[charts.Series(name, values) for name, values in series.items()],
            **line_options,
        ),
        columns=["day", *columns],
        rows=[
            [day.isoformat(), *(per_day.get(day, 0) for per_day in counts.values())]
            for day in days
        ],
    )


def straight_through_rate(
    filters: DashboardFilters, figures: RangeFigures | None = None
) -> Chart:
    """Per day of approval: the share approved with no person changing any
    field, and the share approved by routing without anyone looking."""
    figures = figures or filters.figures()
    counts = {
        name: figures.by_day(figure)
        for name, figure in (
            ("approved", figure_names.APPROVED),
            ("no_human_edit", figure_names.APPROVED_UNTOUCHED),
            ("approved_by_routing", figure_names.APPROVED_ROUTED),
        )
    }
    days = filters.days
    total = figures.total(figure_names.APPROVED)
    chart = _per_day_chart(
        filters,
        slug="straight-through",
        title="Straight-through rate",
        description=(
            "Per day of approval, the share of approved documents no person "
            "edited, and the share approved by routing with no person at all."
        ),
        series={
            "No human edit": daily_rates(
                counts["no_human_edit"], counts["approved"], days
            ),
            "Approved by routing": daily_rates(
                counts["approved_by_routing"], counts["approved"], days
            ),
        },
        columns=list(counts),
        counts=counts,
        y_format=charts.as_percent,
        y_max=1.0,
    )
    chart.summary = [
        ("Approved", str(total)),
        (
            "No human edit",
            _percent(share(figures.total(figure_names.APPROVED_UNTOUCHED), total)),
        ),
        (
            "By routing",
            _percent(share(figures.total(figure_names.APPROVED_ROUTED), total)),
        ),
    ]
    return chart


def exception_rates(
    filters: DashboardFilters, figures: RangeFigures | None = None
) -> Chart:
    """Of the documents read in the range, the share held for a person for
    each reason: a key field missing or a value below its threshold when the
    machine read it, the type unsure, and each check failing now (a check a
    correction settled no longer counts). Failed reads are counted apart."""
    figures = figures or filters.figures()
    documents = figures.total(figure_names.READ)
    reasons = [
        ("Could not be read", figures.total(figure_names.FAILED)),
        ("Key field missing", figures.total(figure_names.KEY_MISSING)),
        ("Low confidence", figures.total(figure_names.LOW_CONFIDENCE)),
        ("Document type unsure", figures.total(figure_names.TYPE_UNSURE)),
        ("Needs a new copy (capture check)", figures.total(figure_names.NEW_COPY)),
        *(
            (validation_rules.title(rule), n)
            for rule, n in figures.named(figure_names.RULE).items()
        ),
    ]
    reasons = sorted((r for r in reasons if r[1]), key=lambda r: (-r[1], r[0]))
    return Chart(
        slug="exceptions",
        title="Exception rate by reason",
        svg=charts.bar_chart(
            title="Exception rate by reason",
            description=(
                f"Of {documents} documents read, the share held for a person "
                "for each reason; one document can have several."
            ),
            bars=[(label, share(n, documents) or 0.0) for label, n in reasons],
            value_format=charts.as_percent,
        ),
        columns=["reason", "documents", "of_documents_read", "rate"],
        rows=[[label, n, documents, share(n, documents)] for label, n in reasons],
        summary=[("Documents read", str(documents))],
    )


def _accuracy_rows(
    figures: RangeFigures, values: str, kept: str, key: str
) -> list[dict[str, Any]]:
    """Per name under `values`: machine values, those kept, those changed."""
    counted = figures.named(values)
    kept_counts = figures.named(kept)
    rows = []
    for name, total in counted.items():
        kept_here = kept_counts.get(name, 0)
        rows.append(
            {
                key: name,
                "values": total,
                "kept": kept_here,
                "changed": total - kept_here,
                "accuracy": share(kept_here, total),
            }
        )
    return rows


def field_accuracy(
    filters: DashboardFilters, figures: RangeFigures | None = None
) -> tuple[Chart, Chart, Chart]:
    """First-pass accuracy (the share of machine values nobody changed) per
    field and per vendor, on documents a person approved in the range (where
    the machine or the person put a value), and where people corrected most."""
    figures = figures or filters.figures()
    per_field = sorted(
        _accuracy_rows(
            figures, figure_names.FIELD_VALUES, figure_names.FIELD_KEPT, "name"
        ),
        key=lambda row: row["name"],
    )
    per_vendor = _accuracy_rows(
        figures, figure_names.VENDOR_VALUES, figure_names.VENDOR_KEPT, "vendor"
    )
    per_vendor.sort(key=lambda row: (-row["changed"], row["vendor"]))
    field_chart = Chart(
        slug="field-accuracy",
        title="First-pass accuracy per field",
        svg=charts.bar_chart(
            title="First-pass accuracy per field",
            description=(
                "Per field, the share of machine values on documents people "
                "approved that nobody changed."
            ),
            bars=[
                (FIELD_LABELS.get(row["name"], row["name"]), row["accuracy"] or 0.0)
                for row in per_field
            ],
            value_format=charts.as_percent,
            x_max=1.0,
        ),
        columns=["field", "values", "kept", "changed", "accuracy"],
        rows=[
            [r["name"], r["values"], r["kept"], r["changed"], r["accuracy"]]
            for r in per_field
        ],
    )
    vendor_rows = [r for r in per_vendor if r["changed"]][:TOP]
    vendor_chart = Chart(
        slug="vendor-corrections",
        title="Most corrected vendors",
        svg=charts.bar_chart(
            title="Most corrected vendors",
            description=(
                "Vendors whose documents people corrected most, with how many values."
            ),
            bars=[
                (r["vendor"] or "(no vendor read)", r["changed"]) for r in vendor_rows
            ],
        ),
        columns=["vendor", "values", "kept", "changed", "accuracy"],
        rows=[
            [r["vendor"], r["values"], r["kept"], r["changed"], r["accuracy"]]
            for r in per_vendor
        ],
    )
    corrected = sorted(
        (r for r in per_field if r["changed"]), key=lambda r: -r["changed"]
    )
    corrected_chart = Chart(
        slug="field-corrections",
        title="Most corrected fields",
        svg=charts.bar_chart(
            title="Most corrected fields",
            description="Fields people corrected most on approved documents.",
            bars=[
                (FIELD_LABELS.get(r["name"], r["name"]), r["changed"])
                for r in corrected[:TOP]
            ],
        ),
        columns=["field", "changed"],
        rows=[[r["name"], r["changed"]] for r in corrected],
    )
    return field_chart, vendor_chart, corrected_chart


def _hours(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def cycle_times(
    filters: DashboardFilters, figures: RangeFigures | None = None
) -> Chart:
    """p50 and p90 of each step for documents uploaded in the range (a step
    counts once both its ends happened), from counts per duration bucket:
    within 1 % of the exact percentiles (metric_arithmetic)."""
    figures = figures or filters.figures()
    table: list[list[Any]] = []
    for step, (label, _, _) in enumerate(figure_names.CYCLE_STEPS):
        histogram = figures.cycle_histogram(step)
        table.append(
            [
                label,
                sum(histogram.values()),
                histogram_percentile(histogram, 0.5),
                histogram_percentile(histogram, 0.9),
            ]
        )
    hours = [(r[0], (r[3] or 0) / 3600) for r in table]
    return Chart(
        slug="cycle-time",
        title="Cycle time (p90)",
        svg=charts.bar_chart(
            title="Cycle time (p90)",
            description=(
                "For documents uploaded in the range, the time 90 % of them took "
                "for each step, in hours."
            ),
            bars=hours,
            value_format=lambda h: _hours(h * 3600),
        ),
        columns=["step", "documents", "p50_seconds", "p90_seconds"],
        rows=table,
        summary=[(r[0], f"p50 {_hours(r[2])} · p90 {_hours(r[3])}") for r in table],
    )


@dataclass(frozen=True)
class WaitingQueue:
    name: str
    count: int
    p50_seconds: float | None
    oldest_seconds: float | None
    sla_seconds: float
    state: str

    @property
    def oldest(self) -> str:
        return _hours(self.oldest_seconds)

    @property
    def p50(self) -> str:
        return _hours(self.p50_seconds)

    @property
    def sla(self) -> str:
        return _hours(self.sla_seconds)


WAITING_QUEUES = (
    (
        "Processing",
        (Document.Status.QUEUED, Document.Status.PROCESSING),
        "status_changed_at",
        "VOUCH_SLA_PROCESSING_MINUTES",
        60,
    ),
    (
        "Clerks' review",
        (Document.Status.READY, Document.Status.CLAIMED),
        "processed_at",
        "VOUCH_SLA_REVIEW_HOURS",
        3600,
    ),
    (
        "Exceptions",
        (Document.Status.ESCALATED,),
        "status_changed_at",
        "VOUCH_SLA_EXCEPTIONS_HOURS",
        3600,
    ),
    (
        "Export",
        (Document.Status.APPROVED,),
        "decided_at",
        "VOUCH_SLA_EXPORT_HOURS",
        3600,
    ),
)


@dataclass(frozen=True)
class _Ages:
    count: int
    p50_seconds: float | None
    oldest_seconds: float | None


def _ages(documents: QuerySet[Document], since: str, now: datetime) -> _Ages:
    """How long the documents have waited since `since`, counted by the
    database: the count, the oldest, and the median from the one or two
    middle rows in order (`percentile`'s interpolation at 0.5 is the same
    counted from either end), so no queue is read into Python whole.
    COUNT(*), not of the id: the queues' indexes lack it, and counting ids
    made PostgreSQL read every waiting row from the table."""
    moment = EpochSeconds(F(since))
    summary = documents.aggregate(count=Count("*"), first=Min(moment))
    count = summary["count"]
    if not count:
        return _Ages(0, None, None)
    lower = (count - 1) // 2  # the middle row, or the first of the two
    middle = list(
        documents.annotate(moment=moment)
        .order_by("moment")
        .values_list("moment", flat=True)[lower : lower + 2 - count % 2]
    )
    now_seconds = now.timestamp()
    median = sum(middle) / len(middle)
    return _Ages(count, now_seconds - median, now_seconds - summary["first"])


def waiting_work(filters: DashboardFilters, *, now: datetime | None = None) -> Chart:
    """What waits now in each queue, how old it is against the queue's SLA.
    Ignores the date range: it is the state of the moment."""
    now = now or timezone.now()
    queues = []
    for name, statuses, since, setting, unit in WAITING_QUEUES:
        documents = Document.objects.order_by().filter(
            status__in=statuses, **{f"{since}__isnull": False}
        )
        if name == "Export":
            documents = documents.filter(exported_at__isnull=True)
        if filters.document_type:
            documents = documents.filter(document_type=filters.document_type)
        ages = _ages(documents, since, now)
        sla = getattr(settings, setting) * unit
        queues.append(
            WaitingQueue(
                name,
                ages.count,
                ages.p50_seconds,
                ages.oldest_seconds,
                sla,
                sla_state(ages.oldest_seconds, sla),
            )
        )
    return Chart(
        slug="waiting",
        title="Age of waiting work",
        svg=charts.bar_chart(
            title="Age of waiting work",
            description=(
                "The oldest document waiting in each queue now, in hours; green "
                "within its SLA, amber past three quarters of it, red past it."
            ),
            bars=[(q.name, (q.oldest_seconds or 0) / 3600) for q in queues],
            value_format=lambda h: _hours(h * 3600),
            colours=[SLA_COLOURS[q.state] for q in queues],
        ),
        columns=[
            "queue",
            "waiting",
            "p50_seconds",
            "oldest_seconds",
            "sla_seconds",
            "state",
        ],
        rows=[
            [q.name, q.count, q.p50_seconds, q.oldest_seconds, q.sla_seconds, q.state]
            for q in queues
        ],
        summary=[(q.name, q.state) for q in queues],
        extra=queues,
    )


def review_time(
    filters: DashboardFilters, figures: RangeFigures | None = None
) -> tuple[Chart, Chart]:
    """Active review time in the range per reviewer and per field, and the
    minutes of human work per 100 documents decided in the range."""
    figures = figures or filters.figures()
    low, high = filters.bounds()
    times = ReviewTime.objects.filter(updated_at__gte=low, updated_at__lt=high)
    if filters.document_type:
        times = times.filter(document__document_type=filters.document_type)
    times = times.order_by()
    # Summed by the database, per reviewer and per field: a year is tens of
    # thousands of rows, too many to read into Python per page.
    per_reviewer: list[dict[str, Any]] = sorted(
        (
            dict(row)
            for row in times.values("username").annotate(
                seconds=Sum("active_seconds"),
                documents=Count("document", distinct=True),
            )
        ),
        key=lambda row: (-row["seconds"], row["username"]),
    )
    # review_time_record stores numbers only.
    per_field = {
        name: seconds
        for name, seconds in json_number_sums(
            times, "field_seconds", FIELD_NAMES
        ).items()
        if seconds
    }
    total = sum(row["seconds"] for row in per_reviewer)
    decided = figures.total(figure_names.DECIDED)
    reviewed = times.aggregate(n=Count("document", distinct=True))["n"]
    per_hundred = minutes_per_hundred(total, decided)
    reviewer_chart = Chart(
        slug="review-time",
        title="Active review time per reviewer",
        svg=charts.bar_chart(
            title="Active review time per reviewer",
            description=(
                "Minutes each reviewer spent with a review page visible and "
                "being active; idle time is not counted."
            ),
            bars=[
                (r["username"] or "(deleted user)", (r["seconds"] or 0) / 60)
                for r in per_reviewer
            ],
            value_format=lambda m: f"{m:.1f} min",
        ),
        columns=["reviewer", "active_seconds", "documents"],
        rows=[[r["username"], r["seconds"], r["documents"]] for r in per_reviewer],
        summary=[
            ("Total active review", _hours(total)),
            ("Documents reviewed", str(reviewed)),
            ("Per reviewed document", _hours(share(total, reviewed))),
            (
                "Minutes of human work per 100 documents",
                "–" if per_hundred is None else f"{per_hundred:.1f}",
            ),
        ],
    )
    fields = sorted(per_field.items(), key=lambda item: -item[1])
    field_chart = Chart(
        slug="review-time-fields",
        title="Active review time per field",
        svg=charts.bar_chart(
            title="Active review time per field",
            description="Minutes spent with each field's editor in use.",
            bars=[(FIELD_LABELS.get(n, n), s / 60) for n, s in fields[:TOP]],
            value_format=lambda m: f"{m:.1f} min",
        ),
        columns=["field", "active_seconds"],
        rows=[[n, s] for n, s in fields],
    )
    return reviewer_chart, field_chart


def throughput(filters: DashboardFilters, figures: RangeFigures | None = None) -> Chart:
    """Documents in, processed, approved and exported per day."""
    figures = figures or filters.figures()
    counts = {
        name: figures.by_day(figure)
        for name, figure in (
            ("In", figure_names.RECEIVED),
            ("Processed", figure_names.PROCESSED),
            ("Approved", figure_names.APPROVED),
            ("Exported", figure_names.EXPORTED),
        )
    }
    chart = _per_day_chart(
        filters,
        slug="throughput",
        title="Throughput per day",
        description="Documents received, processed, approved and exported each day.",
        series={name: per_day(by_day, filters.days) for name, by_day in counts.items()},
        columns=[name.lower() for name in counts],
        counts=counts,
    )
    chart.summary = [
        (name, str(sum(by_day.values()))) for name, by_day in counts.items()
    ]
    return chart


def dashboard_charts(filters: DashboardFilters) -> list[Chart]:
    """Every chart of the dashboard, in page order."""
    figures = filters.figures()
    field_chart, vendor_chart, corrected_chart = field_accuracy(filters, figures)
    reviewer_chart, review_field_chart = review_time(filters, figures)
    return [
        straight_through_rate(filters, figures),
        exception_rates(filters, figures),
        field_chart,
        corrected_chart,
        vendor_chart,
        cycle_times(filters, figures),
        waiting_work(filters),
        reviewer_chart,
        review_field_chart,
        throughput(filters, figures),
    ]


# The function drawing each chart (some draw several from the same reads).
_CHART_BUILDERS: dict[str, Callable[[DashboardFilters], Chart | tuple[Chart, ...]]] = {
    "straight-through": straight_through_rate,
    "exceptions": exception_rates,
    "field-accuracy": field_accuracy,
    "field-corrections": field_accuracy,
    "vendor-corrections": field_accuracy,
    "cycle-time": cycle_times,
    "waiting": waiting_work,
    "review-time": review_time,
    "review-time-fields": review_time,
    "throughput": throughput,
}


def dashboard_chart(filters: DashboardFilters, slug: str) -> Chart | None:
    """One chart of the dashboard (a CSV download), drawing only it and the
    charts made from the same reads; None for no such chart."""
    build = _CHART_BUILDERS.get(slug)
    if build is None:
        return None
    built = build(filters)
    return next(
        chart
        for chart in (built if isinstance(built, tuple) else (built,))
        if chart.slug == slug
    )


def document_types() -> list[str]:
    """The types documents were classified as, for the filter: read from the
    day rows (a few per day, not a row per document) and the documents
    changed since the rollup; from every document when the day rows were
    counted under other rules. A type whose last document was reclassified
    since the rollup stays listed until the next one (a minute or so)."""
    rollup = current_rollup()
    kinds: set[str] = set()
    if rollup is None:
        documents = Document.objects.order_by()
    else:
        kinds.update(
            OperationsDay.objects.order_by()
            .values_list("document_type", flat=True)
            .distinct()
        )
        documents = changed_documents(rollup)
    kinds.update(
        documents.exclude(document_type="")
        .values_list("document_type", flat=True)
        .distinct()
    )
    kinds.discard("")
    return sorted(kinds)
