"""Reads for the operations dashboard: the figures a finance team runs on, from
the documents, their fields, the review time recorded from the review page and
the audit trail. Each function answers one chart with a few grouped queries;
the arithmetic is in `metric_arithmetic`, the drawing in `charts`.

Dates are days in the site's time zone; a range includes both ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import (
    Count,
    DateField,
    Exists,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, TruncDate
from django.utils import timezone

from pipeline.registry import validation_rules
from reviewapp import charts, review_reasons
from reviewapp.extraction_fields import FIELD_LABELS, FIELD_NAMES
from reviewapp.metric_arithmetic import (
    daily_rates,
    days_between,
    minutes_per_hundred,
    per_day,
    percentile,
    share,
    sla_state,
)
from reviewapp.models.documents import Document
from reviewapp.models.fields import Field
from reviewapp.models.review import ReviewTime
from reviewapp.models.validation import ValidationIssue
from reviewapp.thresholds import review_thresholds

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


def _duration(start: str, end: str) -> Any:
    return EpochSeconds(F(end)) - EpochSeconds(F(start))


def _day_of(column: str) -> Any:
    """The local day of a datetime column. SQLite's TruncDate calls a Python
    function per row; when the site runs on UTC, SQLite's own date() of the
    stored UTC text is the same day at a fraction of the cost."""
    if connection.vendor == "sqlite" and timezone.get_current_timezone_name() == "UTC":
        return Func(F(column), function="date", output_field=DateField())
    return TruncDate(column)


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

    def documents(self, column: str) -> QuerySet[Document]:
        """Documents whose `column` (a datetime) falls in the range, of the type."""
        low, high = self.bounds()
        documents = Document.objects.order_by().filter(
            **{f"{column}__gte": low, f"{column}__lt": high}
        )
        if self.document_type:
            documents = documents.filter(document_type=self.document_type)
        return documents

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


def _by_day(
    documents: QuerySet[Document], column: str, **counts: Any
) -> dict[str, dict[date, int]]:
    """Counts per day of `column`, one dict per named aggregate."""
    rows = (
        documents.annotate(day=_day_of(column))
        .values("day")
        .annotate(**counts)
        .values("day", *counts)
    )
    result: dict[str, dict[date, int]] = {name: {} for name in counts}
    for row in rows:
        for name in counts:
            result[name][row["day"]] = row[name]
    return result


def _day_labels(days: Sequence[date]) -> list[str]:
    return [day.strftime("%d %b") for day in days]


def _percent(value: float | None) -> str:
    return "–" if value is None else charts.as_percent(value)


def straight_through_rate(filters: DashboardFilters) -> Chart:
    """Per day of approval: the share approved with no person changing any
    field, and the share approved by routing without anyone looking."""
    approved = filters.documents("decided_at").filter(status=Document.Status.APPROVED)
    edited = Field.objects.filter(document=OuterRef("pk"), set_by=Field.SetBy.HUMAN)
    counts = _by_day(
        approved.annotate(edited=Exists(edited)),
        "decided_at",
        approved=Count("id"),
        untouched=Count("id", filter=Q(edited=False)),
        routed=Count("id", filter=Q(straight_through=True)),
    )
    days = filters.days
    untouched = daily_rates(counts["untouched"], counts["approved"], days)
    routed = daily_rates(counts["routed"], counts["approved"], days)
    total = sum(counts["approved"].values())
    return Chart(
        slug="straight-through",
        title="Straight-through rate",
        svg=charts.line_chart(
            title="Straight-through rate",
            description=(
                "Per day of approval, the share of approved documents no person "
                "edited, and the share approved by routing with no person at all."
            ),
            x_labels=_day_labels(days),
            series=[
                charts.Series("No human edit", untouched),
                charts.Series("Approved by routing", routed),
            ],
            y_format=charts.as_percent,
            y_max=1.0,
        ),
        columns=["day", "approved", "no_human_edit", "approved_by_routing"],
        rows=[
            [
                day.isoformat(),
                counts["approved"].get(day, 0),
                counts["untouched"].get(day, 0),
                counts["routed"].get(day, 0),
            ]
            for day in days
        ],
        summary=[
            ("Approved", str(total)),
            (
                "No human edit",
                _percent(share(sum(counts["untouched"].values()), total)),
            ),
            ("By routing", _percent(share(sum(counts["routed"].values()), total))),
        ],
    )


def _first_pass_unsure(thresholds: dict[str, float]) -> Q:
    """A field the machine read below its threshold when it first read it."""
    unsure = Q(pk__in=[])
    for name, threshold in thresholds.items():
        unsure |= Q(name=name, machine_confidence__lt=threshold)
    return unsure


def exception_rates(filters: DashboardFilters) -> Chart:
    """Of the documents read in the range, the share held for a person for
    each reason: a key field missing or a value below its threshold when the
    machine read it, the type unsure, and each check failing now (a check a
    correction settled no longer counts). Failed reads are counted apart."""
    read = filters.documents("created_at").exclude(
        status__in=[Document.Status.QUEUED, Document.Status.PROCESSING]
    )
    counts = read.aggregate(
        documents=Count("id"),
        failed=Count("id", filter=Q(status=Document.Status.FAILED)),
        type_unsure=Count(
            "id",
            filter=Q(
                document_type_confidence__lt=settings.VOUCH_CLASSIFY_MIN_CONFIDENCE
            ),
        ),
        held=Count("id", filter=Q(status=Document.Status.NEEDS_NEW_COPY)),
        # Held by the capture check, whether or not a person then had it read.
        new_copy=Count(
            "id", filter=Q(quality_score__lt=settings.VOUCH_CAPTURE_MIN_QUALITY)
        ),
    )
    # Grouped joins over the fields of the documents read, not one subquery
    # per document: the same answer, a fraction of the work on a long range.
    # A copy still held by the capture check was never read: it has no fields
    # to miss, and counts under its own reason.
    read_ids = read.exclude(
        status__in=[Document.Status.FAILED, Document.Status.NEEDS_NEW_COPY]
    ).values("pk")
    complete = (
        Field.objects.filter(document__in=read_ids, name__in=review_reasons.KEY_FIELDS)
        .exclude(machine_value="")
        .values("document")
        .annotate(names=Count("id"))
        .filter(names=len(review_reasons.KEY_FIELDS))
        .count()
    )
    counts["missing"] = (
        counts["documents"] - counts["failed"] - counts["held"] - complete
    )
    counts["low_confidence"] = (
        Field.objects.filter(document__in=read_ids)
        .filter(_first_pass_unsure(review_thresholds()))
        .values("document")
        .distinct()
        .count()
    )
    by_rule = dict(
        ValidationIssue.objects.filter(
            document__in=read.values("pk"),
            severity=ValidationIssue.Severity.ERROR,
        )
        .order_by()
        .values("rule")
        .annotate(n=Count("document", distinct=True))
        .values_list("rule", "n")
    )
    documents = counts["documents"]
    reasons = [
        ("Could not be read", counts["failed"]),
        ("Key field missing", counts["missing"]),
        ("Low confidence", counts["low_confidence"]),
        ("Document type unsure", counts["type_unsure"]),
        ("Needs a new copy (capture check)", counts["new_copy"]),
        *((validation_rules.title(rule), n) for rule, n in by_rule.items()),
    ]
    reasons = sorted((r for r in reasons if r[1]), key=lambda r: -r[1])
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


def _reviewed_fields(filters: DashboardFilters) -> QuerySet[Field]:
    """Machine values a person had the chance to change: fields of documents a
    person approved in the range, where the machine or the person put a value."""
    approved = filters.documents("decided_at").filter(
        status=Document.Status.APPROVED, straight_through=False
    )
    return (
        Field.objects.order_by()
        .filter(document__in=approved.values("pk"))
        .exclude(machine_value="", value="")
    )


def field_accuracy(filters: DashboardFilters) -> tuple[Chart, Chart, Chart]:
    """First-pass accuracy (the share of machine values nobody changed) per
    field and per vendor, and where people corrected most."""
    fields = _reviewed_fields(filters)
    counted = {
        "values": Count("id"),
        "kept": Count("id", filter=Q(value=F("machine_value"))),
    }
    per_field: list[dict[str, Any]] = [
        dict(row) for row in fields.values("name").annotate(**counted).order_by("name")
    ]
    per_vendor: list[dict[str, Any]] = [
        dict(row)
        for row in fields.values(vendor=F("document__vendor_name")).annotate(**counted)
    ]
    for row in (*per_field, *per_vendor):
        row["accuracy"] = share(row["kept"], row["values"])
        row["changed"] = row["values"] - row["kept"]
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


CYCLE_STEPS = (
    ("Upload → ready", "created_at", "processed_at"),
    ("Ready → approved", "processed_at", "decided_at"),
    ("Approved → exported", "decided_at", "exported_at"),
    ("Upload → exported", "created_at", "exported_at"),
)


def cycle_times(filters: DashboardFilters) -> Chart:
    """p50 and p90 of each step for documents uploaded in the range (a step
    counts once both its ends happened)."""
    steps = {
        f"step{number}": _duration(start, end)
        for number, (_, start, end) in enumerate(CYCLE_STEPS)
    }
    durations: list[list[float]] = [[] for _ in CYCLE_STEPS]
    for row in filters.documents("created_at").annotate(**steps).values_list(*steps):
        for number, seconds in enumerate(row):
            if seconds is not None:  # a step whose end has not happened yet
                durations[number].append(seconds)
    table: list[list[Any]] = [
        [label, len(values), percentile(values, 0.5), percentile(values, 0.9)]
        for (label, _, _), values in zip(CYCLE_STEPS, durations, strict=True)
    ]
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


def waiting_work(filters: DashboardFilters, *, now: datetime | None = None) -> Chart:
    """What waits now in each queue, how old it is against the queue's SLA.
    Ignores the date range: it is the state of the moment."""
    now = now or timezone.now()
    queues = []
    for name, statuses, since, setting, unit in WAITING_QUEUES:
        documents = Document.objects.order_by().filter(status__in=statuses)
        if name == "Export":
            documents = documents.filter(exported_at__isnull=True)
        if filters.document_type:
            documents = documents.filter(document_type=filters.document_type)
        now_seconds = now.timestamp()
        ages = [
            now_seconds - moment
            for moment in documents.annotate(since=EpochSeconds(F(since))).values_list(
                "since", flat=True
            )
            if moment is not None
        ]
        sla = getattr(settings, setting) * unit
        oldest = max(ages, default=None)
        queues.append(
            WaitingQueue(
                name,
                len(ages),
                percentile(ages, 0.5),
                oldest,
                sla,
                sla_state(oldest, sla),
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


def review_time(filters: DashboardFilters) -> tuple[Chart, Chart]:
    """Active review time in the range per reviewer and per field, and the
    minutes of human work per 100 documents decided in the range."""
    low, high = filters.bounds()
    times = ReviewTime.objects.filter(updated_at__gte=low, updated_at__lt=high)
    if filters.document_type:
        times = times.filter(document__document_type=filters.document_type)
    per_reviewer = list(
        times.order_by()
        .values("username")
        .annotate(
            seconds=Sum("active_seconds"), documents=Count("document", distinct=True)
        )
        .order_by("-seconds")
    )
    # One sum per known field, inside the database: no JSON parsed in Python.
    sums = times.aggregate(
        **{
            name: Sum(Cast(KeyTextTransform(name, "field_seconds"), FloatField()))
            for name in FIELD_NAMES
        }
    )
    per_field = {name: seconds for name, seconds in sums.items() if seconds}
    total = sum(row["seconds"] or 0.0 for row in per_reviewer)
    decided = (
        filters.documents("decided_at")
        .filter(status__in=[Document.Status.APPROVED, Document.Status.REJECTED])
        .count()
    )
    reviewed = times.values("document").distinct().count()
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


def throughput(filters: DashboardFilters) -> Chart:
    """Documents in, processed, approved and exported per day."""
    days = filters.days
    series = {
        "In": _by_day(filters.documents("created_at"), "created_at", n=Count("id"))[
            "n"
        ],
        "Processed": _by_day(
            filters.documents("processed_at"), "processed_at", n=Count("id")
        )["n"],
        "Approved": _by_day(
            filters.documents("decided_at").filter(status=Document.Status.APPROVED),
            "decided_at",
            n=Count("id"),
        )["n"],
        "Exported": _by_day(
            filters.documents("exported_at"), "exported_at", n=Count("id")
        )["n"],
    }
    return Chart(
        slug="throughput",
        title="Throughput per day",
        svg=charts.line_chart(
            title="Throughput per day",
            description=(
                "Documents received, processed, approved and exported each day."
            ),
            x_labels=_day_labels(days),
            series=[
                charts.Series(name, per_day(counts, days))
                for name, counts in series.items()
            ],
        ),
        columns=["day", *(name.lower() for name in series)],
        rows=[
            [day.isoformat(), *(counts.get(day, 0) for counts in series.values())]
            for day in days
        ],
        summary=[(name, str(sum(counts.values()))) for name, counts in series.items()],
    )


def dashboard_charts(filters: DashboardFilters) -> list[Chart]:
    """Every chart of the dashboard, in page order."""
    field_chart, vendor_chart, corrected_chart = field_accuracy(filters)
    reviewer_chart, review_field_chart = review_time(filters)
    return [
        straight_through_rate(filters),
        exception_rates(filters),
        field_chart,
        corrected_chart,
        vendor_chart,
        cycle_times(filters),
        waiting_work(filters),
        reviewer_chart,
        review_field_chart,
        throughput(filters),
    ]


def document_types() -> list[str]:
    """The types documents were classified as, for the filter."""
    return sorted(
        t
        for t in Document.objects.order_by()
        .exclude(document_type="")
        .values_list("document_type", flat=True)
        .distinct()
    )
