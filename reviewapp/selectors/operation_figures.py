"""The dashboard's counts, document by document: what each document adds to
which day ("approved on 2 March", "an upload-to-ready time in bucket 412 for
documents uploaded on 1 March"), and a range's totals read from the day rows
that `services.operations.operations_rollup` keeps, corrected live for the
documents changed since it last ran.

Every count the dashboard shows over a date range is a sum of these figures,
so the day rows answer a year in one row per day and type, and the figures of
a few changed documents bring them up to the minute. The live path and the
rollup run the same code, so both give the same numbers.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from reviewapp import review_reasons
from reviewapp.metric_arithmetic import duration_bucket
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document
from reviewapp.models.fields import Field
from reviewapp.models.operations import DocumentFigures, OperationsDay, OperationsRollup
from reviewapp.models.validation import ValidationIssue
from reviewapp.thresholds import review_thresholds

# Bump when what a figure counts changes: the day rows are then rebuilt.
FIGURES_VERSION = 1

# On the day of the column named after each.
RECEIVED = "in"  # created_at
PROCESSED = "processed"  # processed_at
EXPORTED = "exported"  # exported_at
DECIDED = "decided"  # decided_at, approved or rejected
APPROVED = "approved"  # decided_at, approved
APPROVED_UNTOUCHED = "approved_untouched"  # ... and no field set by a person
APPROVED_ROUTED = "approved_routed"  # ... by routing, without a person
# Approved by a person (decided_at): machine values they could have changed.
FIELD_VALUES = "field_values:"  # + field name
FIELD_KEPT = "field_kept:"
VENDOR_VALUES = "vendor_values:"  # + vendor name
VENDOR_KEPT = "vendor_kept:"
# On the day of upload, for documents read: why they were held.
READ = "read"
FAILED = "failed"
HELD = "held"  # still held by the capture check
NEW_COPY = "new_copy"  # the capture check held it, whatever happened next
TYPE_UNSURE = "type_unsure"
KEY_MISSING = "key_missing"
LOW_CONFIDENCE = "low_confidence"
RULE = "rule:"  # + validation rule with an error
# On the day of upload: "cycle:<step>:<duration bucket>" per cycle step.
CYCLE = "cycle:"
CYCLE_STEPS = (
    ("Upload → ready", "created_at", "processed_at"),
    ("Ready → approved", "processed_at", "decided_at"),
    ("Approved → exported", "decided_at", "exported_at"),
    ("Upload → exported", "created_at", "exported_at"),
)

# Not read yet, so never an exception: waiting for a worker, or a batch
# waiting for a person to confirm where its documents begin.
NOT_READ = (
    Document.Status.QUEUED,
    Document.Status.PROCESSING,
    Document.Status.SPLIT_TO_CONFIRM,
)
CHUNK = 2000
Pair = tuple[str, str]  # (day as ISO text, figure)


@dataclass(frozen=True)
class FigureRules:
    """The settings some figures depend on: change one and every stored
    figure is recounted."""

    thresholds: dict[str, float]
    classify_min_confidence: float
    capture_min_quality: float
    time_zone: str

    def fingerprint(self) -> str:
        settings_text = json.dumps(
            [
                FIGURES_VERSION,
                sorted(self.thresholds.items()),
                self.classify_min_confidence,
                self.capture_min_quality,
                self.time_zone,
                review_reasons.KEY_FIELDS,
            ]
        )
        return hashlib.sha256(settings_text.encode()).hexdigest()


def current_rules() -> FigureRules:
    return FigureRules(
        thresholds=review_thresholds(),
        classify_min_confidence=settings.VOUCH_CLASSIFY_MIN_CONFIDENCE,
        capture_min_quality=settings.VOUCH_CAPTURE_MIN_QUALITY,
        time_zone=timezone.get_current_timezone_name(),
    )


DOCUMENT_COLUMNS = (
    "pk",
    "status",
    "document_type",
    "document_type_confidence",
    "quality_score",
    "straight_through",
    "vendor_name",
    "created_at",
    "processed_at",
    "decided_at",
    "exported_at",
)


def _day(moment: datetime | None) -> str | None:
    return None if moment is None else timezone.localdate(moment).isoformat()


def _figures_of(
    document: dict[str, Any],
    fields: list[tuple[str, str, str, float | None, str]],
    rules_broken: Iterable[str],
    rules: FigureRules,
) -> list[Pair]:
    """One document's figures; `fields` are (name, value, machine_value,
    machine_confidence, set_by)."""
    if document["status"] == Document.Status.SPLIT:
        return []  # a batch split into documents: each of its parts counts
    created = timezone.localdate(document["created_at"]).isoformat()
    pairs: list[Pair] = [(created, RECEIVED)]
    processed = _day(document["processed_at"])
    if processed:
        pairs.append((processed, PROCESSED))
    exported = _day(document["exported_at"])
    if exported:
        pairs.append((exported, EXPORTED))
    status = document["status"]
    decided = _day(document["decided_at"])
    if decided and status in (Document.Status.APPROVED, Document.Status.REJECTED):
        pairs.append((decided, DECIDED))
    if decided and status == Document.Status.APPROVED:
        pairs.append((decided, APPROVED))
        if not any(set_by == Field.SetBy.HUMAN for *_, set_by in fields):
            pairs.append((decided, APPROVED_UNTOUCHED))
        if document["straight_through"]:
            pairs.append((decided, APPROVED_ROUTED))
        else:
            vendor = document["vendor_name"]
            for name, value, machine_value, _, _ in fields:
                if machine_value == "" and value == "":
                    continue  # nothing for a person to keep or change
                pairs.append((decided, FIELD_VALUES + name))
                pairs.append((decided, VENDOR_VALUES + vendor))
                if value == machine_value:
                    pairs.append((decided, FIELD_KEPT + name))
                    pairs.append((decided, VENDOR_KEPT + vendor))
    if status not in NOT_READ:
        pairs += _exception_figures(created, document, fields, rules_broken, rules)
    for step, (_, start, end) in enumerate(CYCLE_STEPS):
        if document[start] is not None and document[end] is not None:
            seconds = (document[end] - document[start]).total_seconds()
            pairs.append((created, f"{CYCLE}{step}:{duration_bucket(seconds)}"))
    return pairs


def _exception_figures(
    created: str,
    document: dict[str, Any],
    fields: list[tuple[str, str, str, float | None, str]],
    rules_broken: Iterable[str],
    rules: FigureRules,
) -> list[Pair]:
    reasons = [READ]
    failed = document["status"] == Document.Status.FAILED
    held = document["status"] == Document.Status.NEEDS_NEW_COPY
    reasons += [FAILED] if failed else []
    reasons += [HELD] if held else []
    type_confidence = document["document_type_confidence"]
    if type_confidence is not None and type_confidence < rules.classify_min_confidence:
        reasons.append(TYPE_UNSURE)
    quality = document["quality_score"]
    if quality is not None and quality < rules.capture_min_quality:
        reasons.append(NEW_COPY)
    # A failed or held copy was never read: it has no fields to miss.
    if not failed and not held:
        filled = {
            name
            for name, _, machine_value, _, _ in fields
            if name in review_reasons.KEY_FIELDS and machine_value != ""
        }
        if len(filled) < len(review_reasons.KEY_FIELDS):
            reasons.append(KEY_MISSING)
        # First pass: the machine's own confidence against today's threshold.
        if any(
            confidence is not None
            and name in rules.thresholds
            and confidence < rules.thresholds[name]
            for name, _, _, confidence, _ in fields
        ):
            reasons.append(LOW_CONFIDENCE)
    reasons += [RULE + rule for rule in sorted(set(rules_broken))]
    return [(created, reason) for reason in reasons]


def documents_figures(
    documents: QuerySet[Document], rules: FigureRules
) -> Iterator[tuple[int, str, list[Pair]]]:
    """(id, type, figures) of each document, a chunk of documents at a time
    with their fields and failed checks in two queries per chunk."""
    ids = list(documents.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        fields: dict[int, list[tuple[str, str, str, float | None, str]]] = defaultdict(
            list
        )
        for document_id, *field in Field.objects.order_by().filter(
            document_id__in=chunk
        ).values_list(
            "document_id", "name", "value", "machine_value", "machine_confidence",
            "set_by",
        ):  # fmt: skip
            fields[document_id].append(tuple(field))  # type: ignore[arg-type]
        broken: dict[int, list[str]] = defaultdict(list)
        for document_id, rule in (
            ValidationIssue.objects.order_by()
            .filter(document_id__in=chunk, severity=ValidationIssue.Severity.ERROR)
            .values_list("document_id", "rule")
        ):
            broken[document_id].append(rule)
        for document in (
            Document.objects.order_by("pk")
            .filter(pk__in=chunk)
            .values(*DOCUMENT_COLUMNS)
        ):
            pk = document["pk"]
            yield (
                pk,
                document["document_type"],
                _figures_of(document, fields[pk], broken[pk], rules),
            )


@dataclass
class RangeFigures:
    """A range's figures: per day (for the per-day charts) and in total."""

    per_day: dict[str, Counter[date]]
    totals: Counter[str]

    def by_day(self, figure: str) -> dict[date, int]:
        return dict(self.per_day.get(figure, {}))

    def total(self, figure: str) -> int:
        return self.totals.get(figure, 0)

    def named(self, prefix: str) -> dict[str, int]:
        """{"total_amount": 12, ...} for FIELD_VALUES and the like."""
        return {
            figure.removeprefix(prefix): count
            for figure, count in self.totals.items()
            if figure.startswith(prefix) and count
        }

    def cycle_histogram(self, step: int) -> dict[int, int]:
        prefix = f"{CYCLE}{step}:"
        return {
            int(figure.removeprefix(prefix)): count
            for figure, count in self.totals.items()
            if figure.startswith(prefix) and count
        }


# The figures charts draw per day; every other one is only summed.
PER_DAY = frozenset(
    {RECEIVED, PROCESSED, APPROVED, EXPORTED, APPROVED_UNTOUCHED, APPROVED_ROUTED}
)


def _add(figures: RangeFigures, day: date, figure: str, count: int) -> None:
    figures.totals[figure] += count
    if figure in PER_DAY:
        figures.per_day[figure][day] += count


def range_figures(start: date, end: date, document_type: str = "") -> RangeFigures:
    """Every figure from `start` to `end` (both included) of the type ("" is
    every type): the day rows, less what they hold for documents changed
    since the rollup, plus those documents' figures now."""
    # A defaultdict: setdefault(figure, Counter()) built a Counter per day
    # row and figure, most of them thrown away (a year: some 4,000).
    figures = RangeFigures(per_day=defaultdict(Counter), totals=Counter())
    rules = current_rules()
    rollup = current_rollup(rules)
    low, high = start.isoformat(), end.isoformat()
    if rollup is None:
        changed = Document.objects.all()
    else:
        days = OperationsDay.objects.filter(day__gte=start, day__lte=end)
        if document_type:
            days = days.filter(document_type=document_type)
        for day, stored in days.values_list("day", "figures"):
            # A year is some 700 rows of a few hundred figures: sum them in
            # bulk, and pick out only the figures drawn per day.
            figures.totals.update(stored)
            for figure in PER_DAY.intersection(stored):
                figures.per_day[figure][day] += stored[figure]
        changed = changed_documents(rollup)
        rolled_up = DocumentFigures.objects.filter(
            document__in=changed.values("pk")
        ).values_list("document_type", "figures")
        for stored_type, pairs in rolled_up:
            if document_type and stored_type != document_type:
                continue
            for day_text, figure in pairs:
                if low <= day_text <= high:
                    _add(figures, date.fromisoformat(day_text), figure, -1)
    for _, _, pairs in documents_figures(
        _on_days(changed, start, end, document_type), rules
    ):
        for day_text, figure in pairs:
            if low <= day_text <= high:
                _add(figures, date.fromisoformat(day_text), figure, 1)
    return figures


def current_rollup(rules: FigureRules | None = None) -> OperationsRollup | None:
    """The rollup, if its day rows were counted under today's rules."""
    rules = rules or current_rules()
    return OperationsRollup.objects.filter(rules=rules.fingerprint()).first()


def _on_days(
    documents: QuerySet[Document], start: date, end: date, document_type: str
) -> QuerySet[Document]:
    """Of `documents`, those with a figure in the range: every figure falls on
    the day of one of four moments, so one of them is in it."""
    zone = timezone.get_current_timezone()
    low = datetime.combine(start, datetime.min.time(), tzinfo=zone)
    high = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    in_range = Q()
    for column in ("created_at", "processed_at", "decided_at", "exported_at"):
        in_range |= Q(**{f"{column}__gte": low, f"{column}__lt": high})
    documents = documents.filter(in_range)
    if document_type:
        documents = documents.filter(document_type=document_type)
    return documents


def changed_documents(rollup: OperationsRollup) -> QuerySet[Document]:
    """Documents the day rows do not hold as they are now: created after the
    rollup, or with an audit event after it (every change to a document is
    recorded in the trail in the same transaction)."""
    touched = (
        AuditEvent.objects.order_by()
        .filter(sequence__gt=rollup.through_sequence)
        .exclude(document_public_id=None)
        .values("document_public_id")
    )
    # The changed ones among the folded documents, then one OR the database
    # answers from the primary key (an OR with the subquery would scan every
    # document; a list of the new ones could outgrow SQLite's parameters).
    touched_ids = list(
        Document.objects.order_by()
        .filter(pk__lte=rollup.through_document_id, public_id__in=touched)
        .values_list("pk", flat=True)
    )
    return Document.objects.order_by().filter(
        Q(pk__gt=rollup.through_document_id) | Q(pk__in=touched_ids)
    )


def audit_head() -> int:
    """The last audit event's sequence number (0 for none)."""
    return AuditEvent.objects.aggregate(last=Max("sequence"))["last"] or 0
