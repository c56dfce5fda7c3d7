"""The review queues: who has which, what is in them, filters, counts and paging."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.core.paginator import Page as DjangoPage
from django.core.paginator import Paginator
from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Upper
from django.utils import timezone

from pipeline.validate import types as validation
from reviewapp import review_reasons
from reviewapp.models.documents import LEAST_SURE_FIRST, VENDOR_KEY, Document
from reviewapp.permissions import (
    AnyUser,
    can_handle_exceptions,
    can_view_all_documents,
    is_reviewer,
    visible_documents,
)

logger = logging.getLogger(__name__)


# ---------- review queues ----------

MY_QUEUE = "mine"
EXCEPTION_QUEUE = "exceptions"
NEW_COPY_QUEUE = "new-copy"
SPLIT_QUEUE = "split"
OVERVIEW = "overview"
QUEUE_TITLES = {
    MY_QUEUE: "My queue",
    EXCEPTION_QUEUE: "Exceptions",
    NEW_COPY_QUEUE: "Needs a new copy",
    SPLIT_QUEUE: "Split to confirm",
    OVERVIEW: "Overview",
}
REVIEW_REASONS = review_reasons.LABELS
SORTS = {
    "oldest": ("created_at", "id"),
    "newest": ("-created_at", "-id"),
    "vendor": ("vendor_name", "created_at", "id"),
    # The documents most likely to hold a wrong value first, along the
    # document_queue_least_sure index.
    "least_sure": LEAST_SURE_FIRST,
}


def queues_for(user: AnyUser) -> list[str]:
    """The queues `user` may open, in menu order."""
    queues = []
    if is_reviewer(user):
        queues.append(MY_QUEUE)
    if can_handle_exceptions(user) and (
        is_reviewer(user) or can_view_all_documents(user)
    ):
        queues.append(EXCEPTION_QUEUE)
    if is_reviewer(user):
        queues.append(NEW_COPY_QUEUE)
        queues.append(SPLIT_QUEUE)
    if can_view_all_documents(user):
        queues.append(OVERVIEW)
    return queues


def queues_containing(
    user: AnyUser,
    *,
    status: str,
    claimed_by_id: int | None,
    claim_expires_at: datetime | None,
    now: datetime,
) -> list[str]:
    """Which of `user`'s queues hold a document in this state: the same rule as
    `queue_documents`, for one event (the websocket consumer), without a query."""
    queues = []
    waiting = status == Document.Status.READY or (
        status == Document.Status.CLAIMED
        and (
            claimed_by_id == user.pk
            or claim_expires_at is None
            or claim_expires_at <= now
        )
    )
    if waiting and is_reviewer(user):
        queues.append(MY_QUEUE)
    if status == Document.Status.ESCALATED and can_handle_exceptions(user):
        queues.append(EXCEPTION_QUEUE)
    if status == Document.Status.NEEDS_NEW_COPY and is_reviewer(user):
        queues.append(NEW_COPY_QUEUE)
    if status == Document.Status.SPLIT_TO_CONFIRM and is_reviewer(user):
        queues.append(SPLIT_QUEUE)
    if can_view_all_documents(user):
        queues.append(OVERVIEW)
    return queues


# The kinds of document the classifier tells apart, and "not classified yet".
UNCLASSIFIED = "unclassified"
DOCUMENT_TYPE_LABELS = {
    **{kind: kind.replace("_", " ").capitalize() for kind in validation.DOCUMENT_TYPES},
    UNCLASSIFIED: "Not classified",
}


@dataclass(frozen=True)
class QueueFilters:
    # What the vendor's name begins with, in any case.
    vendor: str = ""
    reason: str = ""
    status: str = ""
    document_type: str = ""
    sort: str = "oldest"


# The reason a document in these states is in a queue, whatever its fields
# say; any other status takes the reason services keep in `review_reason`
# (services.document_refresh_review_columns). Written once, read by the SQL
# annotation and by the counts.
REASON_BY_STATUS: dict[str, str] = {
    Document.Status.ESCALATED: review_reasons.ESCALATED,
    Document.Status.NEEDS_NEW_COPY: review_reasons.NEW_COPY,
    Document.Status.SPLIT_TO_CONFIRM: review_reasons.SPLIT,
    # The overview's approved and rejected documents wait for no one: the
    # reason they were once checked for is history.
    Document.Status.APPROVED: review_reasons.DECIDED,
    Document.Status.REJECTED: review_reasons.DECIDED,
}


def reason_of(status: str, review_reason: str) -> str:
    """The `reason` `queue_documents` annotates, for one row's columns."""
    return REASON_BY_STATUS.get(status, review_reason)


def _reason_is(reason: str) -> Q:
    """The documents whose `reason` is `reason`, on the columns themselves, so
    that the database can use its indexes (the annotation's CASE hides them)."""
    from_status = [
        status for status, kept in REASON_BY_STATUS.items() if kept == reason
    ]
    return Q(status__in=from_status) | (
        Q(review_reason=reason) & ~Q(status__in=list(REASON_BY_STATUS))
    )


def _with_review_columns(documents: QuerySet[Document]) -> QuerySet[Document]:
    """Annotate `reason` (see REASON_BY_STATUS) and `reason_label`, its words
    (review_reasons.LABELS, the one place they are written): no subquery per
    document."""
    return documents.annotate(
        reason=Case(
            *(
                When(status=status, then=Value(reason))
                for status, reason in REASON_BY_STATUS.items()
            ),
            default=F("review_reason"),
            output_field=CharField(),
        ),
    ).annotate(
        reason_label=Case(
            *(
                When(reason=reason, then=Value(label))
                for reason, label in review_reasons.LABELS.items()
            ),
            default=Value(""),
            output_field=CharField(),
        ),
    )


# Columns no queue row shows, some of them large: not read for a list.
_NOT_LISTED = (
    "document_type_evidence",
    "escalation_note",
    "decision_note",
    "quality_issues",
    "memory_notes",
)


def queue_documents(
    *,
    user: AnyUser,
    queue: str,
    filters: QueueFilters | None = None,
    now: datetime | None = None,
) -> QuerySet[Document]:
    """The documents in one of `user`'s queues, filtered and sorted (oldest
    first by default), with `reason` annotated.

    mine: waiting for review: ready, claimed by `user`, or an expired claim.
    exceptions: escalated (needs handle_exceptions). overview: everything `user`
    may see. A queue `user` may not open is empty."""
    filters = filters or QueueFilters()
    now = now or timezone.now()
    if queue not in queues_for(user):
        return Document.objects.none()
    # Only reviewers open my queue and the exceptions (queues_for), and they
    # see every document in a review status (permissions.visible_documents):
    # filtering on the queue's status alone lets the database walk the
    # queue_status indexes (models.Document.Meta) in order and stop after a page.
    documents = visible_documents(user) if queue == OVERVIEW else Document.objects.all()
    if queue == MY_QUEUE:
        documents = documents.filter(
            Q(queue_status=Document.Status.READY),
            Q(status=Document.Status.READY)
            | Q(status=Document.Status.CLAIMED, claimed_by=user)
            | Q(status=Document.Status.CLAIMED, claim_expires_at__lte=now)
            | Q(status=Document.Status.CLAIMED, claim_expires_at__isnull=True),
        )
    elif queue == EXCEPTION_QUEUE:
        documents = documents.filter(queue_status=Document.Status.ESCALATED)
    elif queue == NEW_COPY_QUEUE:
        documents = documents.filter(queue_status=Document.Status.NEEDS_NEW_COPY)
    elif queue == SPLIT_QUEUE:
        documents = documents.filter(queue_status=Document.Status.SPLIT_TO_CONFIRM)
    documents = _listed(documents)
    if filters.vendor:
        # The start of the name, in any case: along the
        # document_queue_vendor_prefix index, where "contains" made the
        # database test the name of every document in the queue.
        documents = documents.alias(vendor_key=VENDOR_KEY).filter(
            vendor_key__startswith=Upper(Value(filters.vendor))
        )
    if filters.status in Document.Status.values:
        documents = documents.filter(status=filters.status)
    if filters.reason in REVIEW_REASONS:
        documents = documents.filter(_reason_is(filters.reason))
    if filters.document_type in DOCUMENT_TYPE_LABELS:
        documents = documents.filter(
            document_type=""
            if filters.document_type == UNCLASSIFIED
            else filters.document_type
        )
    return documents.order_by(*SORTS.get(filters.sort, SORTS["oldest"]))


def _listed(documents: QuerySet[Document]) -> QuerySet[Document]:
    """`documents` as a queue row shows them: review columns, the people
    named, and none of the large columns no row shows."""
    return (
        _with_review_columns(documents)
        .select_related("claimed_by", "uploaded_by", "escalated_by")
        .defer(*_NOT_LISTED)
    )


class _CountedPaginator(Paginator):  # type: ignore[type-arg]
    """A paginator told its count (from the per-reason counts already made),
    saving a second count over the whole queue."""

    def __init__(self, object_list: Any, per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self.__dict__["count"] = count  # Paginator.count is a cached_property


def page_of(
    documents: QuerySet[Document],
    number: str | int | None,
    per_page: int,
    *,
    count: int | None = None,
) -> tuple[DjangoPage[Any], list[Document]]:
    """One page of a queue: the page's ids first (an index scan), then the rows
    for those ids only, by primary key (with the queue's filters again, SQLite
    would walk the queue's index instead). Two queries at any size, three
    without `count`."""
    ids_query = documents.values_list("pk", flat=True)
    paginator = (
        Paginator(ids_query, per_page)
        if count is None
        else _CountedPaginator(ids_query, per_page, count=count)
    )
    page = paginator.get_page(number)
    ids = list(page.object_list)
    rows = {
        document.pk: document
        for document in _listed(Document.objects.filter(pk__in=ids))
    }
    return page, [rows[pk] for pk in ids if pk in rows]


def grouped_counts_query(documents: QuerySet[Document]) -> QuerySet[Any]:
    """How many documents per (status, review_reason, document_type): one
    query, grouped in the order of the document_queue_counts index, so that
    the database counts along the index without sorting. COUNT(*), not of a
    column: the index lacks the id, and counting ids made PostgreSQL read
    every row from the table instead of answering from the index alone."""
    return (
        documents.order_by()
        .values("queue_status", "status", "review_reason", "document_type")
        .annotate(count=Count("*"))
    )


def _grouped_counts(documents: QuerySet[Document]) -> list[Mapping[str, Any]]:
    return list(grouped_counts_query(documents))


def _counted_by(rows: list[Mapping[str, Any]], column: str) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for row in rows:
        if column == "reason":
            key = reason_of(row["status"], row["review_reason"])
        elif column == "document_type":
            key = row["document_type"] or UNCLASSIFIED
        else:
            key = row[column]
        counts[key] += row["count"]
    return dict(counts)


@dataclass(frozen=True)
class FacetCounts:
    """A queue's counts per reason, per status (over the documents the other
    filters leave, bar the reason) and per type (bar the type filter)."""

    reasons: dict[str, int]
    statuses: dict[str, int]
    types: dict[str, int]


def queue_facet_counts(
    *, user: AnyUser, queue: str, filters: QueueFilters
) -> FacetCounts:
    """The counts a queue page shows: one grouped query while neither the
    reason nor the type is filtered (the usual page), two otherwise."""
    by_reason = _grouped_counts(
        queue_documents(user=user, queue=queue, filters=replace(filters, reason=""))
    )
    if (
        filters.reason not in REVIEW_REASONS
        and filters.document_type not in DOCUMENT_TYPE_LABELS
    ):
        by_type = by_reason
    else:
        by_type = _grouped_counts(
            queue_documents(
                user=user, queue=queue, filters=replace(filters, document_type="")
            )
        )
    return FacetCounts(
        reasons=_counted_by(by_reason, "reason"),
        statuses=_counted_by(by_reason, "status"),
        types=_counted_by(by_type, "document_type"),
    )


def next_in_queue(*, user: AnyUser, queue: str, after: Document) -> Document | None:
    """The document to open after finishing `after`: the oldest other one in
    the queue that nobody else holds, with its public id only (all a link
    needs: a planner that expects many candidates sorts narrow rows)."""
    return (
        queue_documents(user=user, queue=queue)
        .exclude(pk=after.pk)
        .select_related(None)
        .only("public_id")
        .order_by("created_at", "id")
        .first()
    )
