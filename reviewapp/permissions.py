"""Who may see and change what: one helper per resource, used by views and the
websocket consumer alike."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.http import Http404

from reviewapp.models import Document

VIEW_ALL = "reviewapp.view_all_documents"
CORRECT_FIELDS = "reviewapp.change_field"
EXPORT_AUDIT = "reviewapp.export_auditevent"
REVEAL_SENSITIVE = "reviewapp.reveal_sensitive"


def can_view_all_documents(user: AbstractBaseUser | AnonymousUser) -> bool:
    return bool(user.is_authenticated and user.has_perm(VIEW_ALL))


def visible_documents(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Document]:
    """Documents `user` may see: their own uploads, or all with view_all_documents."""
    if not user.is_authenticated or not user.has_perm("reviewapp.view_document"):
        return Document.objects.none()
    if can_view_all_documents(user):
        return Document.objects.all()
    return Document.objects.filter(uploaded_by=user)


def can_see_document(
    user: AbstractBaseUser | AnonymousUser, *, uploaded_by_id: int | None
) -> bool:
    """The same rule as `visible_documents`, for one document's uploader id
    (the websocket consumer checks events with it, without a query)."""
    if not user.is_authenticated or not user.has_perm("reviewapp.view_document"):
        return False
    return can_view_all_documents(user) or uploaded_by_id == user.pk


def document_for(
    user: AbstractBaseUser | AnonymousUser, public_id: UUID | str
) -> tuple[Document, bool]:
    """The document and whether `user` may change it.

    Raises Http404 when it does not exist or `user` may not see it, so that a
    document's existence is never revealed to someone outside it.
    """
    try:
        document = visible_documents(user).get(public_id=public_id)
    except (Document.DoesNotExist, ValueError):
        raise Http404("No such document") from None
    return document, user.has_perm(CORRECT_FIELDS)


def can_export_audit(user: AbstractBaseUser | AnonymousUser) -> bool:
    """The whole audit log, every user and document: administrators only."""
    return bool(user.is_authenticated and user.has_perm(EXPORT_AUDIT))


def can_reveal_sensitive(user: AbstractBaseUser | AnonymousUser) -> bool:
    """May see a sensitive value in the audit trail unmasked (each reveal is
    itself audited, with a reason)."""
    return bool(user.is_authenticated and user.has_perm(REVEAL_SENSITIVE))
