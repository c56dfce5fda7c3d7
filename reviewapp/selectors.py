"""Every non-trivial read, shaped for the page or command that needs it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.paginator import Page as DjangoPage
from django.core.paginator import Paginator
from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from reviewapp import review_reasons
from reviewapp.extraction_fields import FIELD_LABELS
from reviewapp.masking import (
    mask_value,
    masked_line_text,
    page_mask,
    sensitive_field_names,
)
from reviewapp.models import Document, Field, Page
from reviewapp.permissions import (
    AnyUser,
    can_handle_exceptions,
    can_view_all_documents,
    is_reviewer,
    visible_documents,
)


def documents_for(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Document]:
    """The documents `user` may see, newest first, ready for the list page."""
    return (
        visible_documents(user)
        .select_related("uploaded_by")
        .order_by("-created_at", "-id")
    )


def document_for_review(*, document: Document) -> Document:
    """One document with its pages, each page's lines and its fields: the
    review page's data in four queries whatever the page count."""
    return (
        Document.objects.filter(pk=document.pk)
        .prefetch_related(
            Prefetch("pages", queryset=Page.objects.prefetch_related("lines")),
            Prefetch("fields", queryset=Field.objects.select_related("page")),
        )
        .get()
    )


def document_as_json(document: Document) -> dict[str, Any]:
    """The document as a JSON-ready dict (what `ingest --wait` prints)."""
    return {
        "id": str(document.public_id),
        "name": document.original_name,
        "status": document.status,
        "failure_reason": document.failure_reason,
        "pages": document.page_count,
        "fields": {
            field.name: {
                "value": field.value,
                "confidence": field.confidence,
                "set_by": field.set_by,
                "page": field.page.number if field.page else None,
                "box": field.box,
            }
            for field in document.fields.select_related("page")
        },
    }


def status_payload(document: Document) -> dict[str, Any]:
    """What a browser needs to update one document's status in place."""
    return {
        "id": str(document.public_id),
        "name": document.original_name,
        "status": document.status,
        "status_display": document.get_status_display(),
        "failure_reason": document.failure_reason,
        "pages": document.page_count,
        "claimed_by": (
            document.claimed_by.get_username() if document.claimed_by else None
        ),
    }


# ---------- review queues ----------

MY_QUEUE = "mine"
EXCEPTION_QUEUE = "exceptions"
OVERVIEW = "overview"
QUEUE_TITLES = {
    MY_QUEUE: "My queue",
    EXCEPTION_QUEUE: "Exceptions",
    OVERVIEW: "Overview",
}
REVIEW_REASONS = review_reasons.LABELS
SORTS = {
    "oldest": ("created_at", "id"),
    "newest": ("-created_at", "-id"),
    "vendor": ("vendor_name", "created_at", "id"),
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
    if can_view_all_documents(user):
        queues.append(OVERVIEW)
    return queues


@dataclass(frozen=True)
class QueueFilters:
    vendor: str = ""
    reason: str = ""
    status: str = ""
    sort: str = "oldest"


def _with_review_columns(documents: QuerySet[Document]) -> QuerySet[Document]:
    """Annotate `reason` from the column services keep (see
    services.document_refresh_review_columns): no subquery per document."""
    return documents.annotate(
        reason=Case(
            When(
                status=Document.Status.ESCALATED, then=Value(review_reasons.ESCALATED)
            ),
            default=F("review_reason"),
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
    documents = _with_review_columns(documents)
    if filters.vendor:
        documents = documents.filter(vendor_name__icontains=filters.vendor)
    if filters.status in Document.Status.values:
        documents = documents.filter(status=filters.status)
    if filters.reason in REVIEW_REASONS:
        documents = documents.filter(reason=filters.reason)  # type: ignore[misc]
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
    """How many documents per value of `column` ("reason" or "status"): one
    query."""
    rows = documents.order_by().values(column).annotate(count=Count("pk"))
    return {row[column]: row["count"] for row in rows}


def next_in_queue(*, user: AnyUser, queue: str, after: Document) -> Document | None:
    """The document to open after finishing `after`: the oldest other one in
    the queue that nobody else holds."""
    return (
        queue_documents(user=user, queue=queue)
        .exclude(pk=after.pk)
        .order_by("created_at", "id")
        .first()
    )


# ---------- the review page, masked ----------


@dataclass(frozen=True)
class FieldRow:
    name: str
    label: str
    field: Field | None
    sensitive: bool
    shown_value: str  # masked when sensitive
    shown_explanation: str  # with the value masked in it too
    flagged: bool


def review_page(document: Document) -> dict[str, Any]:
    """The review page's fields and pages with every sensitive value masked,
    in text lines too. `document` comes from `document_for_review`."""
    sensitive = sensitive_field_names()
    fields = list(document.fields.all())
    by_name = {field.name: field for field in fields}
    threshold = settings.VOUCH_FLAG_BELOW_CONFIDENCE
    rows = []
    for name, label in FIELD_LABELS.items():
        field = by_name.get(name)
        value = field.value if field else ""
        explanation = field.explanation if field else ""
        if name in sensitive and field is not None:
            value = mask_value(value)
            for clear in {field.raw_value, field.machine_value, field.value}:
                if clear:
                    explanation = explanation.replace(clear, mask_value(clear))
        rows.append(
            FieldRow(
                name=name,
                label=label,
                field=field,
                sensitive=name in sensitive,
                shown_value=value,
                shown_explanation=explanation,
                flagged=field is None
                or not field.value
                or (field.confidence is not None and field.confidence < threshold),
            )
        )
    pages = list(document.pages.all())
    for page in pages:
        mask = page_mask(fields, page.pk, sensitive)
        page.shown_lines = [  # type: ignore[attr-defined]
            (line, masked_line_text(line, mask)) for line in page.lines.all()
        ]
    return {"fields": rows, "pages": pages}


def redaction_boxes(page: Page) -> list[tuple[int, int, int, int]]:
    """Where the page image shows sensitive values (field boxes and the text
    lines holding them), to black out before serving it."""
    sensitive = sensitive_field_names()
    if not sensitive:
        return []
    fields = list(page.document.fields.filter(name__in=sensitive))
    mask = page_mask(fields, page.pk, sensitive)
    boxes = list(mask.boxes)
    boxes += [
        (line.x0, line.y0, line.x1, line.y1)
        for line in page.lines.all()
        if mask.hides(line)
    ]
    return boxes


def field_payload(field: Field) -> dict[str, Any]:
    """A field for a JSON answer, masked when sensitive."""
    if field.name not in sensitive_field_names():
        return {"name": field.name, "value": field.value, "set_by": field.set_by}
    # A clerk confirms a masked value by typing it in full: say whether it is
    # what the machine read, without showing what that was.
    typed, read = (
        "".join(text.split()).upper() for text in (field.value, field.machine_value)
    )
    return {
        "name": field.name,
        "value": mask_value(field.value),
        "set_by": field.set_by,
        "matches_read_value": bool(read) and typed == read,
    }
