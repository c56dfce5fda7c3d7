"""Keeping the operations dashboard's day rows equal to the sum of every
document's figures (reviewapp.selectors.operation_figures)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction
from django.db.models import Max, Min, Q, QuerySet
from django.utils import timezone

from reviewapp.models.documents import Document, ProcessingRun
from reviewapp.models.operations import DocumentFigures, OperationsDay, OperationsRollup
from reviewapp.selectors.metrics import (
    histograms_as_json,
    histograms_from_json,
    merged_histograms,
    stage_histograms,
)
from reviewapp.selectors.operation_figures import (
    FigureRules,
    audit_head,
    changed_documents,
    current_rules,
    documents_figures,
)

# Documents folded per transaction while catching up (a first run, a rebuild):
# short transactions, so ingest and review never wait long for the database.
BATCH = 5000
# A run started this recently may still be committing under a lower id than
# a run already visible: runs from the first such one on wait for the next
# fold, so none is passed over.
RUN_SETTLE = timedelta(minutes=1)


@dataclass(frozen=True)
class RollupOutcome:
    rebuilt: bool
    documents: int  # documents whose figures were (re)counted

    def __str__(self) -> str:
        what = "rebuilt the day rows" if self.rebuilt else "updated the day rows"
        return f"Operations rollup {what}: {self.documents} documents counted."


def operations_rollup(*, rebuild: bool = False) -> RollupOutcome:
    """Fold into the day rows every document created or changed (an audit
    event) since the last run; on the first run, with `rebuild`, or after a
    setting the figures depend on changed (a threshold, the time zone), start
    again from every document: the backfill of an existing installation.

    Safe to run twice and side by side: each step locks the rollup row and
    takes a document's old figures out before putting its new ones in, so a
    document counted twice is still counted once. Until it catches up, the
    dashboard counts what it has not folded live, so its numbers are right
    throughout, only slower."""
    rules = current_rules()
    fingerprint = rules.fingerprint()
    with transaction.atomic():
        rollup, _ = OperationsRollup.objects.select_for_update().get_or_create(
            singleton=1
        )
        rebuilt = rebuild or rollup.rules != fingerprint
        if rebuild:
            rollup.through_run_id, rollup.stage_histograms = 0, {}
        if rebuilt:
            OperationsDay.objects.all().delete()
            DocumentFigures.objects.all().delete()
            rollup.rules = fingerprint
            # Every document is counted below as it is from now on: changes
            # up to this event are in them, later ones are seen as changes.
            rollup.through_sequence = audit_head()
            rollup.through_document_id = 0
            rollup.save()
    counted = 0
    # New documents first, a batch per transaction, in id order.
    while True:
        with transaction.atomic():
            rollup = OperationsRollup.objects.select_for_update().get(singleton=1)
            if rollup.rules != fingerprint:
                break  # a run with newer settings took over
            batch = list(
                Document.objects.filter(pk__gt=rollup.through_document_id)
                .order_by("pk")
                .values_list("pk", flat=True)[:BATCH]
            )
            if not batch:
                break
            _fold(Document.objects.filter(pk__in=batch), rules)
            rollup.through_document_id = batch[-1]
            rollup.save(update_fields=["through_document_id", "updated_at"])
            counted += len(batch)
    # Then the older documents changed since the last run, in one step.
    with transaction.atomic():
        rollup = OperationsRollup.objects.select_for_update().get(singleton=1)
        if rollup.rules == fingerprint:
            # Read the head first: a change committed after it has a later
            # event, so the next run (and the dashboard meanwhile) sees it.
            head = audit_head()
            changed = changed_documents(rollup).filter(
                pk__lte=rollup.through_document_id
            )
            counted += _fold(changed, rules)
            rollup.through_sequence = max(rollup.through_sequence, head)
            rollup.save(update_fields=["through_sequence", "updated_at"])
    _fold_runs()
    return RollupOutcome(rebuilt=rebuilt, documents=counted)


def _fold_runs() -> None:
    """Add the successful runs finished since the last fold to the stage
    histograms /metrics reads (selectors.metrics.successful_run_histograms),
    up to the first run still running or too recent to be sure of. A finished
    run never changes again."""
    with transaction.atomic():
        rollup = OperationsRollup.objects.select_for_update().get(singleton=1)
        later = ProcessingRun.objects.order_by().filter(pk__gt=rollup.through_run_id)
        unsettled = later.filter(
            Q(outcome=ProcessingRun.Outcome.RUNNING)
            | Q(started_at__gt=timezone.now() - RUN_SETTLE)
        ).aggregate(first=Min("pk"))["first"]
        through: int | None = (
            later.aggregate(last=Max("pk"))["last"]
            if unsettled is None
            else unsettled - 1
        )
        if through is None or through <= rollup.through_run_id:
            return
        folded = later.filter(pk__lte=through)
        rollup.stage_histograms = histograms_as_json(
            merged_histograms(
                histograms_from_json(rollup.stage_histograms),
                stage_histograms(
                    folded.filter(outcome=ProcessingRun.Outcome.SUCCEEDED)
                ),
            )
        )
        rollup.through_run_id = through
        rollup.save(update_fields=["through_run_id", "stage_histograms", "updated_at"])


def operations_documents_refold(*, document_ids: Iterable[int]) -> int:
    """Count these documents again in the day rows, for a change no audit
    event records (`validate_documents` running the checks again); returns
    how many. Documents not in the day rows yet are left to the next run."""
    rules = current_rules()
    with transaction.atomic():
        rollup = (
            OperationsRollup.objects.select_for_update()
            .filter(rules=rules.fingerprint())
            .first()
        )
        if rollup is None:
            return 0  # nothing stored under today's rules: the next run counts all
        return _fold(
            Document.objects.filter(
                pk__in=list(document_ids), pk__lte=rollup.through_document_id
            ),
            rules,
        )


def _fold(documents: QuerySet[Document], rules: FigureRules) -> int:
    """Replace the documents' stored figures with their figures now, in the
    day rows and in DocumentFigures; returns how many documents."""
    delta: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    ids = documents.values("pk")
    for stored in DocumentFigures.objects.filter(document__in=ids):
        for day, figure in stored.figures:
            delta[(day, stored.document_type)][figure] -= 1
    fresh = []
    for pk, document_type, pairs in documents_figures(documents, rules):
        for day, figure in pairs:
            delta[(day, document_type)][figure] += 1
        fresh.append(
            DocumentFigures(
                document_id=pk,
                document_type=document_type,
                figures=[list(pair) for pair in pairs],
            )
        )
    DocumentFigures.objects.bulk_create(
        fresh,
        batch_size=BATCH,
        update_conflicts=True,
        unique_fields=["document"],
        update_fields=["document_type", "figures"],
    )
    _apply(delta)
    return len(fresh)


def _apply(delta: dict[tuple[str, str], Counter[str]]) -> None:
    """Add `delta` to the day rows, dropping figures that come to zero."""
    days = {date.fromisoformat(day) for day, _ in delta}
    existing = {
        (row.day.isoformat(), row.document_type): row
        for row in OperationsDay.objects.filter(day__in=days)
    }
    changed, created, emptied = [], [], []
    for key, counts in delta.items():
        row = existing.get(key)
        figures = Counter(row.figures if row else {})
        figures.update(counts)
        figures = Counter({f: n for f, n in figures.items() if n})
        if row is None:
            if figures:
                created.append(
                    OperationsDay(
                        day=date.fromisoformat(key[0]),
                        document_type=key[1],
                        figures=dict(figures),
                    )
                )
        elif figures:
            row.figures = dict(figures)
            changed.append(row)
        else:
            emptied.append(row.pk)
    OperationsDay.objects.bulk_create(created, batch_size=BATCH)
    OperationsDay.objects.bulk_update(changed, ["figures"], batch_size=BATCH)
    OperationsDay.objects.filter(pk__in=emptied).delete()
