"""Reading documents: who may see which, their JSON and live status, text and type."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import (
    Prefetch,
    QuerySet,
)

from pipeline.validate import types as validation
from reviewapp.masking import (
    document_secrets,
    mask_text,
    mask_value,
    sensitive_field_names,
)
from reviewapp.models.documents import Document, Page
from reviewapp.models.fields import Field
from reviewapp.permissions import (
    visible_documents,
)

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
    everywhere = document_secrets(fields, sensitive)

    def shown(field: Field) -> str:
        if field.name in sensitive:
            return mask_value(field.value)
        return mask_text(field.value, everywhere)

    return {
        "id": str(document.public_id),
        "name": document.original_name,
        "status": document.status,
        "failure_reason": document.failure_reason,
        "pages": document.page_count,
        "quality_score": document.quality_score,
        "quality_advice": quality_advice(document),
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


def quality_advice(document: Document) -> list[str]:
    """What the capture check asked of the sender, page by page."""
    return [str(issue["advice"]) for issue in document.quality_issues]


def quality_summary(document: Document) -> str:
    """One sentence for a channel's reply: what to do about the image."""
    advice = quality_advice(document)
    if document.status == Document.Status.NEEDS_NEW_COPY:
        return "It will not read well enough: " + "; ".join(advice) + "."
    if advice:
        return "It will be read; next time: " + "; ".join(advice) + "."
    return ""


def status_payload(document: Document) -> dict[str, Any]:
    """What a browser needs to update one document's status in place."""
    return {
        "id": str(document.public_id),
        "name": document.original_name,
        "status": document.status,
        "status_display": document.get_status_display(),
        "failure_reason": document.failure_reason,
        "pages": document.page_count,
        "quality_score": document.quality_score,
        "quality_advice": quality_advice(document),
        "claimed_by": (
            document.claimed_by.get_username() if document.claimed_by else None
        ),
    }


# --- validation ----------------------------------------------------------------

DEFAULT_DOCUMENT_TYPE = validation.INVOICE


def document_type_unsure(document: Document) -> bool:
    """The classifier's confidence is below VOUCH_CLASSIFY_MIN_CONFIDENCE: a
    person says what kind of document this is before anything is approved,
    and until then it is checked as an invoice."""
    confidence = document.document_type_confidence
    return (
        confidence is not None and confidence < settings.VOUCH_CLASSIFY_MIN_CONFIDENCE
    )
