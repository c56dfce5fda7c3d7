"""Approved documents as the ERP exports read them."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from django.db.models import (
    QuerySet,
)

from reviewapp.export_formats import (
    ExportDocument,
    ExportLine,
    decimal_text,
    money_text,
)
from reviewapp.masking import (
    document_secrets,
    mask_text,
    mask_value,
    sensitive_field_names,
)
from reviewapp.models.documents import Document
from reviewapp.permissions import (
    AnyUser,
    can_reveal_sensitive,
    visible_documents,
)
from reviewapp.selectors.documents import DEFAULT_DOCUMENT_TYPE

logger = logging.getLogger(__name__)

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
    exactly as on the review page, and so is any sensitive value another field,
    a line or the matched vendor's name holds."""
    sensitive = sensitive_field_names() if sensitive is None else sensitive
    fields = list(document.fields.all())
    values = {field.name: field.value for field in fields}
    secrets = document_secrets(fields, sensitive)

    def shown(text: str) -> str:
        return mask_text(text, secrets) if masked else text

    if masked:
        values = {
            name: mask_value(value) if name in sensitive else shown(value)
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
                description=shown(line.description),
                quantity=decimal_text(line.quantity),
                unit_price=decimal_text(line.unit_price),
                amount=money_text(line.amount),
                tax_rate=decimal_text(line.tax_rate),
                item_code=shown(line.item_code),
            )
            # Sorted here: the prefetched rows keep the model's ordering.
            for line in sorted(document.line_items.all(), key=lambda row: row.position)
        ),
        vendor_id=vendor.number if vendor else "",
        vendor_name=shown(vendor.name) if vendor else "",
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
    """One document's export as `user` may see it. `user` None is the system
    (webhooks): masked too, since a clerk's approval sends it to a receiver
    no one checked for the right to see values; an ERP that needs them in
    clear pulls them through the export API with a role that may reveal."""
    loaded = _with_export_data(Document.objects.filter(pk=document.pk)).get()
    masked = user is None or not can_reveal_sensitive(user)
    return export_document(loaded, masked=masked)
