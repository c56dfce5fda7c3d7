"""Every non-trivial read, shaped for the page or command that needs it."""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
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

from pipeline.registry import validation_rules
from pipeline.validate import types as validation
from pipeline.validate.duplicates import (
    image_fingerprint,
    normalise_invoice_number,
    text_shingles,
)
from pipeline.validate.fields import label as rule_field_label
from pipeline.validate.vendors import match_vendor
from reviewapp import review_reasons, routing
from reviewapp.audit import canonical_json, is_envelope, masked_details
from reviewapp.exports import ExportDocument, ExportLine, decimal_text, money_text
from reviewapp.extraction_fields import FIELD_LABELS
from reviewapp.masking import (
    document_mask,
    mask_value,
    page_mask,
    scrub,
    sensitive_field_names,
)
from reviewapp.models import (
    AuditEvent,
    Document,
    DocumentValidation,
    ExtractorVersion,
    Field,
    GoodsReceipt,
    Page,
    PurchaseOrder,
    TextLine,
    ValidationIssue,
    ValidationRuleSetting,
    Vendor,
)
from reviewapp.ocr_evidence import line_words
from reviewapp.permissions import (
    HANDLE_EXCEPTIONS,
    AnyUser,
    can_handle_exceptions,
    can_reveal_sensitive,
    can_view_all_documents,
    is_reviewer,
    visible_documents,
)
from reviewapp.thresholds import is_unsure, review_thresholds

logger = logging.getLogger(__name__)


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


def document_as_json(
    document: Document, *, show_sensitive: bool = False
) -> dict[str, Any]:
    """The document as a JSON-ready dict (what `ingest --wait` prints), with
    sensitive values masked unless `show_sensitive`: terminal output ends up
    in logs and CI transcripts."""
    fields = list(document.fields.select_related("page"))
    sensitive = frozenset() if show_sensitive else sensitive_field_names()
    everywhere = document_mask(fields, sensitive)

    def shown(field: Field) -> str:
        if field.name in sensitive:
            return mask_value(field.value)
        return scrub(field.value, everywhere)

    return {
        "id": str(document.public_id),
        "name": document.original_name,
        "status": document.status,
        "failure_reason": document.failure_reason,
        "pages": document.page_count,
        "fields": {
            field.name: {
                "value": shown(field),
                "confidence": field.confidence,
                "set_by": field.set_by,
                "page": field.page.number if field.page else None,
                "box": field.box,
            }
            for field in fields
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
    issues: tuple[IssueView, ...] = ()  # failing checks that involve this field
    # Not sensitive itself, but its value holds a sensitive one: shown masked,
    # and never put back into an edit box.
    holds_secret: bool = False


def review_page(
    document: Document, issues_by_field: dict[str, list[IssueView]] | None = None
) -> dict[str, Any]:
    """The review page's fields and pages with every sensitive value masked,
    in text lines too, each field with the failing checks that involve it.
    `document` comes from `document_for_review`."""
    sensitive = sensitive_field_names()
    fields = list(document.fields.all())
    by_name = {field.name: field for field in fields}
    everywhere = document_mask(fields, sensitive)
    thresholds = review_thresholds()
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
        # Any other field that swallowed a sensitive value is masked too.
        scrubbed = scrub(value, everywhere)
        holds_secret = scrubbed != value
        value, explanation = scrubbed, scrub(explanation, everywhere)
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
                or is_unsure(name, field.confidence, thresholds),
                issues=tuple((issues_by_field or {}).get(name, ())),
                holds_secret=holds_secret,
            )
        )
    pages = list(document.pages.all())
    for page in pages:
        mask = page_mask(fields, page.pk, sensitive)
        # A line showing a sensitive value is not sent at all (its pixels are
        # blacked out too): nothing on the page could fill a field from it.
        page.shown_lines = [  # type: ignore[attr-defined]
            ShownLine(line=line, words_json=_words_json(line))
            for line in page.lines.all()
            if not mask.hides(line)
        ]
    return {"fields": rows, "pages": pages}


@dataclass(frozen=True)
class ShownLine:
    """An OCR line on the review page, with its approximate word boxes for
    click-to-fill (see ocr_evidence)."""

    line: TextLine
    words_json: str


def _words_json(line: TextLine) -> str:
    return json.dumps(
        [
            [word.text, *word.box]
            for word in line_words(line.text, line.box, line_order=line.order)
        ],
        separators=(",", ":"),
        ensure_ascii=False,
    )


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
    """A field for a JSON answer, masked when sensitive (or when it holds a
    sensitive value of its document)."""
    sensitive = sensitive_field_names()
    if field.name not in sensitive:
        everywhere = document_mask(
            Field.objects.filter(document_id=field.document_id, name__in=sensitive),
            sensitive,
        )
        return {
            "name": field.name,
            "value": scrub(field.value, everywhere),
            "set_by": field.set_by,
        }
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


# --- validation ----------------------------------------------------------------

DEFAULT_DOCUMENT_TYPE = validation.INVOICE
# The review-workflow branch adds approval statuses; until then nothing counts
# as approved and the bank-detail rule compares with the vendor master only.
_APPROVED = getattr(Document.Status, "APPROVED", None)


def document_text(document: Document) -> str:
    """Every line read on the document, page by page, in reading order."""
    lines = TextLine.objects.filter(page__document=document).order_by(
        "page__number", "order"
    )
    return "\n".join(lines.values_list("text", flat=True))


def document_image_fingerprint(document: Document) -> int | None:
    """The difference hash of page 1, or None when it has no stored image."""
    page = document.pages.filter(number=1).first()
    if page is None or not page.image:
        return None
    try:
        with page.image.open("rb") as image:
            return image_fingerprint(image.read())
    except (OSError, ValueError):
        logger.warning("page 1 of %s could not be fingerprinted", document.public_id)
        return None


def document_type_unsure(document: Document) -> bool:
    """The classifier's confidence is below VOUCH_CLASSIFY_MIN_CONFIDENCE: a
    person says what kind of document this is before anything is approved,
    and until then it is checked as an invoice."""
    confidence = document.document_type_confidence
    return (
        confidence is not None and confidence < settings.VOUCH_CLASSIFY_MIN_CONFIDENCE
    )


def invoice_data_for(document: Document) -> validation.InvoiceData:
    """The document as the validation rules see it: each field's current value
    (a person's correction wins, since it is what `Field.value` holds), its
    text and page fingerprint."""
    values = dict(document.fields.exclude(value="").values_list("name", "value"))
    # The rule set follows the document's type: a type a person set (a
    # "document_type" field) wins over the classifier's; a document never
    # classified, or classified without enough confidence, is checked as an
    # invoice, the strictest set.
    document_type = values.pop("document_type", "") or (
        document.document_type
        if document.document_type and not document_type_unsure(document)
        else DEFAULT_DOCUMENT_TYPE
    )
    return validation.InvoiceData(
        document_type=document_type,
        fields=values,
        line_items=validation_lines(document),
        document_id=str(document.public_id),
        channel=document.get_channel_display(),
        text=document_text(document),
        image_fingerprint=document_image_fingerprint(document),
    )


def validation_lines(document: Document) -> tuple[validation.LineItem, ...]:
    """The document's line items in grid order, as the rules read them."""
    return tuple(
        validation.LineItem(
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=line.amount,
            tax_rate=line.tax_rate,
            item_code=line.item_code,
        )
        for line in document.line_items.order_by("position", "id")
    )


def vendor_record(vendor: Vendor) -> validation.VendorRecord:
    return validation.VendorRecord(
        id=str(vendor.public_id),
        name=vendor.name,
        aliases=tuple(vendor.aliases),
        vat_id=vendor.vat_id,
        ibans=tuple(vendor.ibans),
        address=vendor.address,
        country=vendor.country,
        currency=vendor.currency,
        payment_terms_days=vendor.payment_terms_days,
        active=vendor.active,
    )


def _candidate_purchase_orders(po_number: str) -> QuerySet[PurchaseOrder]:
    # The rules compare numbers without punctuation ("PO 55120" = "PO-55120");
    # narrowing by the digits keeps that without loading every order.
    digits = re.sub(r"\D", "", po_number)
    condition = Q(number__iexact=po_number.strip())
    if digits:
        condition |= Q(number__contains=digits)
    return (
        PurchaseOrder.objects.filter(condition)
        .select_related("vendor")
        .prefetch_related("lines")
    )


def _prior_invoices(
    invoice: validation.InvoiceData, document: Document, vendor_id: str
) -> tuple[validation.PriorInvoice, ...]:
    """Earlier documents matched to the same vendor, for duplicates and the
    bank-detail history. Text is read only for those with the same total."""
    others = (
        DocumentValidation.objects.filter(vendor__public_id=vendor_id)
        .exclude(document=document)
        .select_related("document")
        .prefetch_related(
            Prefetch("document__fields", queryset=Field.objects.exclude(value=""))
        )
    )
    total = invoice.amount(validation.TOTAL_AMOUNT)
    priors = []
    for other in others:
        fields = {field.name: field.value for field in other.document.fields.all()}
        prior_total = validation.parse_decimal(fields.get("total_amount", ""))
        same_total = total is not None and prior_total == total
        priors.append(
            validation.PriorInvoice(
                document_id=str(other.document.public_id),
                vendor_id=vendor_id,
                invoice_number=normalise_invoice_number(
                    fields.get("invoice_number", "")
                ),
                total=prior_total,
                currency=fields.get("currency", ""),
                invoice_date=validation.parse_iso_date(fields.get("invoice_date", "")),
                received_on=other.document.created_at.date(),
                text_shingles=(
                    text_shingles(document_text(other.document))
                    if same_total
                    else frozenset()
                ),
                image_fingerprint=(
                    int(other.image_fingerprint, 16)
                    if same_total and other.image_fingerprint
                    else None
                ),
                iban=fields.get("iban", ""),
                approved=_APPROVED is not None and other.document.status == _APPROVED,
                channel=other.document.get_channel_display(),
            )
        )
    return tuple(priors)


def tolerances() -> validation.Tolerances:
    """The rules' tolerances, with those the settings make configurable."""
    return validation.Tolerances(
        max_age_days=settings.VOUCH_INVOICE_MAX_AGE_DAYS,
        duplicate_window_days=settings.VOUCH_DUPLICATE_WINDOW_DAYS,
        po_price_percent=Decimal(settings.VOUCH_PO_PRICE_TOLERANCE_PERCENT),
        po_quantity_percent=Decimal(settings.VOUCH_PO_QUANTITY_TOLERANCE_PERCENT),
    )


def validation_context_for(
    invoice: validation.InvoiceData, document: Document, *, today: date
) -> validation.ValidationContext:
    """Master data and earlier documents the rules compare `invoice` with."""
    vendors = tuple(vendor_record(vendor) for vendor in Vendor.objects.all())
    po_number = invoice.value(validation.PO_NUMBER)
    orders = list(_candidate_purchase_orders(po_number)) if po_number else []
    receipts = GoodsReceipt.objects.filter(
        line__purchase_order__in=orders
    ).select_related("line__purchase_order")
    context = validation.ValidationContext(
        today=today,
        tolerances=tolerances(),
        vendors=vendors,
        purchase_orders=tuple(
            validation.PurchaseOrder(
                number=order.number,
                vendor_id=str(order.vendor.public_id),
                currency=order.currency,
                lines=tuple(
                    validation.PurchaseOrderLine(
                        line_ref=line.line_number,
                        description=line.description,
                        quantity=line.quantity,
                        unit_price=line.unit_price,
                        item_code=line.item_code,
                    )
                    for line in order.lines.all()
                ),
                price_tolerance_percent=order.price_tolerance_percent,
                quantity_tolerance_percent=order.quantity_tolerance_percent,
            )
            for order in orders
        ),
        goods_receipts=tuple(
            validation.GoodsReceipt(
                po_number=receipt.line.purchase_order.number,
                line_ref=receipt.line.line_number,
                quantity_received=receipt.quantity_received,
                received_on=receipt.received_on,
                reference=receipt.reference,
            )
            for receipt in receipts
        ),
    )
    match = match_vendor(invoice, context)
    if match is None:
        return context
    return replace(
        context, prior_invoices=_prior_invoices(invoice, document, match.vendor_id)
    )


def enabled_rules_for(document_type: str) -> set[str] | None:
    """The rule codes to run for `document_type`, or None for all of them:
    admins switch rules off with ValidationRuleSetting rows."""
    switched_off = set(
        ValidationRuleSetting.objects.filter(
            document_type=document_type, enabled=False
        ).values_list("rule", flat=True)
    )
    if not switched_off:
        return None
    return {spec.code for spec in validation_rules.all()} - switched_off


@dataclass(frozen=True)
class IssueView:
    """A validation issue as the review page shows it."""

    code: str
    severity: str
    message: str
    # (name, label, listed) of each field involved; `listed`: the page shows it.
    fields: tuple[tuple[str, str, bool], ...]
    needs_supervisor: bool


def field_label(name: str) -> str:
    """The review page's label for a field, also for line fields and fields
    the page does not list ("line_items[1].quantity" -> "Line 2 quantity")."""
    if name in FIELD_LABELS:
        return FIELD_LABELS[name]
    line = re.fullmatch(r"line_items\[(\d+)\]\.(\w+)", name)
    if line:
        return f"Line {int(line[1]) + 1} {line[2].replace('_', ' ')}"
    text = rule_field_label(name)
    return text[:1].upper() + text[1:]


def validation_of(document: Document) -> DocumentValidation | None:
    """The latest validation's vendor and PO match, or None before the first."""
    return (
        DocumentValidation.objects.filter(document=document)
        .select_related("vendor", "purchase_order")
        .first()
    )


def validation_issues_for(document: Document) -> list[IssueView]:
    """The document's failing rules, errors first, in the order they ran."""
    issues: Iterable[ValidationIssue] = document.validation_issues.all()
    ordered = sorted(issues, key=lambda issue: (issue.severity != "error", issue.pk))
    return [
        IssueView(
            code=issue.code,
            severity=issue.severity,
            message=issue.message,
            fields=tuple(
                (name, field_label(name), name in FIELD_LABELS) for name in issue.fields
            ),
            needs_supervisor=issue.needs_supervisor,
        )
        for issue in ordered
    ]


def issues_by_field(issues: list[IssueView]) -> dict[str, list[IssueView]]:
    """The same issues keyed by each field they involve, for inline messages."""
    by_field: dict[str, list[IssueView]] = {}
    for issue in issues:
        for name, _, _ in issue.fields:
            by_field.setdefault(name, []).append(issue)
    return by_field


# --- audit history ---------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    """One audit event as a document's page shows it: sensitive values masked."""

    sequence: int
    occurred_at: datetime
    event_type: str
    label: str
    actor: str
    role: str
    details: list[tuple[str, str]]
    sensitive_keys: list[str]


HISTORY_LIMIT = 500


def document_history(*, document: Document) -> list[HistoryEntry]:
    """The audit events of `document`, oldest first (the newest HISTORY_LIMIT),
    with every sensitive value replaced by its mask."""
    newest = AuditEvent.objects.filter(document_public_id=document.public_id).order_by(
        "-sequence"
    )[:HISTORY_LIMIT]
    entries = []
    for event in reversed(list(newest)):
        sensitive = [key for key, value in event.details.items() if is_envelope(value)]
        entries.append(
            HistoryEntry(
                sequence=event.sequence,
                occurred_at=event.occurred_at,
                event_type=event.event_type,
                label=event.get_event_type_display(),
                actor=event.actor_username or "Vouch",
                role=event.actor_role,
                details=[
                    (key.replace("_", " ").capitalize(), _display(value))
                    for key, value in masked_details(event.details).items()
                ],
                sensitive_keys=sensitive,
            )
        )
    return entries


def _display(value: Any) -> str:
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return canonical_json(value)
    return str(value)


# ---------- exports ----------

EXPORT_CHUNK = 200
STRAIGHT_THROUGH = "straight-through"


@dataclass(frozen=True)
class ExportFilters:
    """A batch: approved between two dates (inclusive), exported or not."""

    approved_from: date | None = None
    approved_to: date | None = None
    exported: bool | None = None  # None: both


def exportable_documents(
    *, user: AnyUser, filters: ExportFilters | None = None
) -> QuerySet[Document]:
    """Approved documents `user` may see, oldest decision first."""
    filters = filters or ExportFilters()
    documents = visible_documents(user).filter(status=Document.Status.APPROVED)
    if filters.approved_from:
        documents = documents.filter(decided_at__date__gte=filters.approved_from)
    if filters.approved_to:
        documents = documents.filter(decided_at__date__lte=filters.approved_to)
    if filters.exported is not None:
        documents = documents.filter(exported_at__isnull=not filters.exported)
    return documents.order_by("decided_at", "id")


def _with_export_data(documents: QuerySet[Document]) -> QuerySet[Document]:
    return documents.select_related(
        "decided_by", "validation__vendor", "validation__purchase_order"
    ).prefetch_related("fields", "line_items")


def export_document(
    document: Document, *, masked: bool, sensitive: frozenset[str] | None = None
) -> ExportDocument:
    """One approved document as the export writers take it. With `masked`,
    the values of sensitive fields (masking.sensitive_field_names) are masked
    exactly as on the review page."""
    sensitive = sensitive_field_names() if sensitive is None else sensitive
    values = {field.name: field.value for field in document.fields.all()}
    if masked:
        values = {
            name: mask_value(value) if name in sensitive else value
            for name, value in values.items()
        }
    validation_row = getattr(document, "validation", None)
    vendor = validation_row.vendor if validation_row else None
    order = validation_row.purchase_order if validation_row else None
    document_type = (
        validation_row.document_type
        if validation_row and validation_row.document_type
        else values.get("document_type") or DEFAULT_DOCUMENT_TYPE
    )
    return ExportDocument(
        id=str(document.public_id),
        name=document.original_name,
        document_type=document_type,
        approved_at=document.decided_at.isoformat() if document.decided_at else "",
        fields=values,
        lines=tuple(
            ExportLine(
                description=line.description,
                quantity=decimal_text(line.quantity),
                unit_price=decimal_text(line.unit_price),
                amount=money_text(line.amount),
                tax_rate=decimal_text(line.tax_rate),
                item_code=line.item_code,
            )
            # Sorted here: the prefetched rows keep the model's ordering.
            for line in sorted(document.line_items.all(), key=lambda row: row.position)
        ),
        vendor_id=vendor.number if vendor else "",
        vendor_name=vendor.name if vendor else "",
        purchase_order=order.number if order else "",
        extra={
            "approved_by": (
                document.decided_by.get_username()
                if document.decided_by
                else STRAIGHT_THROUGH
            ),
            "exported_at": (
                document.exported_at.isoformat() if document.exported_at else None
            ),
            "masked": masked,
        },
    )


def export_documents_for(
    documents: QuerySet[Document], *, user: AnyUser
) -> Iterator[ExportDocument]:
    """The documents as `user` may export them (masked unless they may reveal
    sensitive values), loaded a chunk at a time so a large batch streams."""
    masked = not can_reveal_sensitive(user)
    sensitive = sensitive_field_names()
    ids = list(documents.values_list("pk", flat=True))
    for start in range(0, len(ids), EXPORT_CHUNK):
        chunk = ids[start : start + EXPORT_CHUNK]
        rows = {
            row.pk: row
            for row in _with_export_data(Document.objects.filter(pk__in=chunk))
        }
        for pk in chunk:
            yield export_document(rows[pk], masked=masked, sensitive=sensitive)


def export_for(document: Document, *, user: AnyUser | None) -> ExportDocument:
    """One document's export; `user` None is the system (webhooks): in clear."""
    loaded = _with_export_data(Document.objects.filter(pk=document.pk)).get()
    masked = user is not None and not can_reveal_sensitive(user)
    return export_document(loaded, masked=masked)


# ---------- approvals ----------


def approval_refusal(document_id: int, user: AnyUser, *, escalated: bool) -> str:
    """Why `user` may not approve the document although the workflow lets them
    act ("" when they may): the amount or the checks reserve it. A
    total over VOUCH_SUPERVISOR_AMOUNT_LIMIT or a rule exception (a PO
    mismatch, a duplicate ...) needs a supervisor; changed bank details (an
    issue with needs_supervisor) need an escalation and then a supervisor who
    neither escalated the document nor changed its fields."""
    total_value = (
        Field.objects.filter(document_id=document_id, name="total_amount")
        .values_list("value", flat=True)
        .first()
    )
    total = routing.amount_of(total_value or "")
    limit = Decimal(settings.VOUCH_SUPERVISOR_AMOUNT_LIMIT)
    if total is not None and total > limit and not user.has_perm(HANDLE_EXCEPTIONS):
        return (
            f"The total {total} is over {limit}, the most a clerk may approve: "
            "escalate it (amount over my approval limit) for a supervisor."
        )
    exception = (
        ValidationIssue.objects.filter(
            document_id=document_id,
            severity=ValidationIssue.Severity.ERROR,
            rule__in=routing.EXCEPTION_RULES,
            needs_supervisor=False,
        )
        .order_by("id")
        .first()
    )
    if exception is not None and not user.has_perm(HANDLE_EXCEPTIONS):
        return (
            f"A check only a supervisor settles failed: {exception.message} "
            "Escalate the document."
        )
    if not ValidationIssue.objects.filter(
        document_id=document_id, needs_supervisor=True
    ).exists():
        return ""
    if not escalated:
        return (
            "The bank details differ from the vendor's: escalate the document; "
            "a supervisor other than you must approve it."
        )
    handlers = set(
        Field.objects.filter(
            document_id=document_id, corrected_by__isnull=False
        ).values_list("corrected_by", flat=True)
    )
    handlers.add(
        Document.objects.values_list("escalated_by", flat=True).get(pk=document_id)
    )
    if user.pk in handlers:
        return (
            "You handled this document (you escalated it or changed its fields) "
            "and its bank details changed: another supervisor must approve it."
        )
    return ""


def extractor_versions_listed() -> list[ExtractorVersion]:
    """Every extractor version, newest first, with who trained it."""
    return list(ExtractorVersion.objects.select_related("created_by").defer("artefact"))
