"""What a supervisor needs beside an exception to settle it: a duplicate next
to the document it repeats, field by field and page by page, masked as the
review page masks; an invoice beside its purchase order and goods receipts,
line by line."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from pipeline.validate.purchase_orders import (
    PurchaseOrderComparison,
    compare_with_purchase_order,
)
from reviewapp.extraction_fields import fields_for_type, label_for_type
from reviewapp.masking import (
    SecretSet,
    document_secret_set,
    mask_text,
    mask_value,
    sensitive_field_names,
)
from reviewapp.models.documents import Document, Page
from reviewapp.models.fields import Field
from reviewapp.models.validation import ValidationIssue
from reviewapp.permissions import AnyUser, visible_documents
from reviewapp.selectors.validation import invoice_data_for, validation_context_for

DUPLICATE_RULE = "duplicate_invoice"
PURCHASE_ORDER_RULES = ("two_way_match", "three_way_match")


@dataclass(frozen=True)
class ComparedField:
    label: str
    this: str  # masked where sensitive
    original: str
    same: bool


@dataclass(frozen=True)
class DuplicateView:
    """A document beside the earlier one a check says it repeats."""

    document: Document
    original: Document
    rows: tuple[ComparedField, ...]
    this_page: Page | None  # the first page of each, for the thumbnails
    original_page: Page | None

    @property
    def differences(self) -> int:
        return sum(not row.same for row in self.rows)

    @property
    def pages(self) -> tuple[tuple[str, Document, Page | None], ...]:
        """(caption, document, first page) for the two thumbnails."""
        return (
            ("This document", self.document, self.this_page),
            ("Earlier document", self.original, self.original_page),
        )


def duplicate_comparison(*, document: Document, user: AnyUser) -> DuplicateView | None:
    """`document` beside the earlier document its duplicate check names, or
    None when no such check failed or `user` may not see that document (it
    is then not named either: the check's sentence says what it may)."""
    issue = (
        ValidationIssue.objects.filter(document=document, rule=DUPLICATE_RULE)
        .exclude(details__document_id=None)
        .order_by("id")
        .first()
    )
    if issue is None:
        return None
    original = (
        visible_documents(user)
        .filter(public_id=issue.details.get("document_id"))
        .exclude(pk=document.pk)
        .first()
    )
    if original is None:
        return None
    sensitive = sensitive_field_names()
    this_values = _shown_values(document, sensitive)
    original_values = _shown_values(original, sensitive)
    rows = tuple(
        ComparedField(
            label=label_for_type(name, document.document_type),
            this=this_values.get(name, ""),
            original=original_values.get(name, ""),
            same=_comparable(this_values.get(name, ""))
            == _comparable(original_values.get(name, "")),
        )
        for name in fields_for_type(document.document_type)
        if this_values.get(name) or original_values.get(name)
    )
    return DuplicateView(
        document=document,
        original=original,
        rows=rows,
        this_page=_first_page(document),
        original_page=_first_page(original),
    )


def _shown_values(document: Document, sensitive: frozenset[str]) -> dict[str, str]:
    """Each field's value as the review page shows it to anyone: a sensitive
    field masked, and a sensitive value inside another field masked too."""
    fields = {
        name: value
        for name, value in Field.objects.filter(document=document)
        .exclude(value="")
        .values_list("name", "value")
    }
    secrets: SecretSet = document_secret_set(document.pk)
    return {
        name: mask_value(value) if name in sensitive else mask_text(value, secrets)
        for name, value in fields.items()
    }


def _comparable(value: str) -> str:
    return " ".join(value.split()).casefold()


def _first_page(document: Document) -> Page | None:
    return document.pages.order_by("number").first()


def purchase_order_comparison(*, document: Document) -> PurchaseOrderComparison | None:
    """The invoice's lines beside its purchase order's and the goods received,
    once a PO check failed on `document` (None otherwise, or without lines).
    Paired and judged as the checks do (pipeline.validate.purchase_orders)."""
    if not ValidationIssue.objects.filter(
        document=document, rule__in=PURCHASE_ORDER_RULES
    ).exists():
        return None
    invoice = invoice_data_for(document)
    context = validation_context_for(
        invoice, document, today=timezone.localdate(), with_earlier_documents=False
    )
    return compare_with_purchase_order(invoice, context)
