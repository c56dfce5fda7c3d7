"""Every non-trivial read, shaped for the page or command that needs it."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Prefetch, QuerySet

from reviewapp.models import Document, Field, Page
from reviewapp.permissions import visible_documents


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
    }
