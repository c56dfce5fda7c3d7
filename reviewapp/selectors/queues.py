"""The review queues: who has which, what is in them, filters, counts and paging."""

from __future__ import annotations

import logging
from collections import Counter
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
from django.utils import timezone

from pipeline.validate import types as validation
from reviewapp import review_reasons
from reviewapp.models.documents import Document
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
    # The documents most likely to hold a wrong value first.
    "least_sure": (F("confidence").asc(nulls_first=True), "created_at", "id"),
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
    vendor: str = ""
    reason: str = ""
    status: str = ""
    document_type: str = ""
    sort: str = "oldest"


def _with_review_columns(documents: QuerySet[Document]) -> QuerySet[Document]:
    """Annotate `reason` from the column services keep (see
    services.document_refresh_review_columns) and `reason_label`, its words
    (review_reasons.LABELS, the one place they are written): no subquery per
    document."""
    return documents.annotate(
        reason=Case(
            When(
                status=Document.Status.ESCALATED, then=Value(review_reasons.ESCALATED)
            ),
            When(
                status=Document.Status.NEEDS_NEW_COPY,
                then=Value(review_reasons.NEW_COPY),
            ),
            When(
                status=Document.Status.SPLIT_TO_CONFIRM,
                then=Value(review_reasons.SPLIT),
            ),
            # The overview's approved and rejected documents wait for no one:
            # the reason they were once checked for is history.
            When(
                status__in=(Document.Status.APPROVED, Document.Status.REJECTED),
                then=Value(review_reasons.DECIDED),
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
    # filtering on the status alone lets the database use its status indexes.
    documents = visible_documents(user) if queue == OVERVIEW else Document.objects.all()
    if queue == MY_QUEUE:
        documents = documents.filter(
            Q(status=Document.Status.READY)
            | Q(status=Document.Status.CLAIMED, claimed_by=user)
            | Q(status=Document.Status.CLAIMED, claim_expires_at__lte=now)
            | Q(status=Document.Status.CLAIMED, claim_expires_at__isnull=True)
        )
    elif queue == EXCEPTION_QUEUE:
        documents = documents.filter(status=Document.Status.ESCALATED)
    elif queue == NEW_COPY_QUEUE:
        documents = documents.filter(status=Document.Status.NEEDS_NEW_COPY)
    elif queue == SPLIT_QUEUE:
        documents = documents.filter(status=Document.Status.SPLIT_TO_CONFIRM)
    documents = _with_review_columns(documents)
    if filters.vendor:
        documents = documents.filter(vendor_name__icontains=filters.vendor)
    if filters.status in Document.Status.values:
        documents = documents.filter(status=filters.status)
    if filters.reason in REVIEW_REASONS:
        documents = documents.filter(reason=filters.reason)  # type: ignore[misc]
    if filters.document_type in DOCUMENT_TYPE_LABELS:
        documents = documents.filter(
            document_type=""
            if filters.document_type == UNCLASSIFIED
            else filters.document_type
        )
    return documents.select_related(
        "claimed_by", "uploaded_by", "escalated_by"
    ).order_by(*SORTS.get(filters.sort, SORTS["oldest"]))


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
    for those ids only. Two queries at any size, three without `count`."""
    ids_query = documents.values_list("pk", flat=True)
    paginator = (
        Paginator(ids_query, per_page)
        if count is None
        else _CountedPaginator(ids_query, per_page, count=count)
    )
    page = paginator.get_page(number)
    ids = list(page.object_list)
    rows = {document.pk: document for document in documents.filter(pk__in=ids)}
    return page, [rows[pk] for pk in ids if pk in rows]


def queue_counts(documents: QuerySet[Document], column: str) -> dict[str, int]:
    """How many documents per value of `column` ("reason", "status" or
    "document_type", whose "" counts as UNCLASSIFIED): one query."""
    rows = documents.order_by().values(column).annotate(count=Count("pk"))
    counts = {row[column]: row["count"] for row in rows}
    if column == "document_type" and "" in counts:
        counts[UNCLASSIFIED] = counts.pop("")
    return counts


def queue_facet_counts(
    *, user: AnyUser, queue: str, filters: QueueFilters
) -> tuple[dict[str, int], dict[str, int]]:
    """The per-reason and per-type counts of a queue, each over the documents
    the other filters leave: one grouped query while neither is filtered (the
    usual page), one each otherwise."""
    by_reason = queue_documents(
        user=user, queue=queue, filters=replace(filters, reason="")
    )
    if (
        filters.reason not in REVIEW_REASONS
        and filters.document_type not in DOCUMENT_TYPE_LABELS
    ):
        reasons: Counter[str] = Counter()
        kinds: Counter[str] = Counter()
        rows = (
            by_reason.order_by()
            .values("reason", "document_type")
            .annotate(count=Count("pk"))
        )
        for row in rows:
            reasons[row["reason"]] += row["count"]
            kinds[row["document_type"] or UNCLASSIFIED] += row["count"]
        return dict(reasons), dict(kinds)
    by_type = queue_documents(
        user=user, queue=queue, filters=replace(filters, document_type="")
    )
    return queue_counts(by_reason, "reason"), queue_counts(by_type, "document_type")


def next_in_queue(*, user: AnyUser, queue: str, after: Document) -> Document | None:
    """The document to open after finishing `after`: the oldest other one in
    the queue that nobody else holds."""
    return (
        queue_documents(user=user, queue=queue)
        .exclude(pk=after.pk)
        .order_by("created_at", "id")
        .first()
    )
