"""Who may see and change what: one helper per resource, used by views and the
websocket consumer alike."""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone

from reviewapp.models.documents import REVIEW_STATUSES, Document

VIEW_ALL = "reviewapp.view_all_documents"
CORRECT_FIELDS = "reviewapp.change_field"
REVIEW = "reviewapp.review_document"
HANDLE_EXCEPTIONS = "reviewapp.handle_exceptions"
REVEAL_SENSITIVE = "reviewapp.reveal_sensitive"
EXPORT_DOCUMENTS = "reviewapp.export_documents"
EXPORT_AUDIT = "reviewapp.export_auditevent"
EXPORT_TRAINING = "reviewapp.export_fieldcorrection"

AnyUser = AbstractBaseUser | AnonymousUser


def can_view_all_documents(user: AnyUser) -> bool:
    return bool(user.is_authenticated and user.has_perm(VIEW_ALL))


def is_reviewer(user: AnyUser) -> bool:
    """Reviewers share the queue of read documents, whoever uploaded them."""
    return bool(user.is_authenticated and user.has_perm(REVIEW))


def can_handle_exceptions(user: AnyUser) -> bool:
    return bool(user.is_authenticated and user.has_perm(HANDLE_EXCEPTIONS))


def can_reveal_sensitive(user: AnyUser) -> bool:
    return bool(user.is_authenticated and user.has_perm(REVEAL_SENSITIVE))


def can_export_batches(user: AnyUser) -> bool:
    """Batch exports, the Export page and the ERP pull API."""
    return bool(user.is_authenticated and user.has_perm(EXPORT_DOCUMENTS))


def approved_document_for(user: AnyUser, public_id: UUID | str) -> Document:
    """An approved document `user` may see, for export. Raises Http404
    otherwise (another user's document, or one not approved yet)."""
    document, _ = document_for(user, public_id)
    if document.status != Document.Status.APPROVED:
        raise Http404("Only approved documents are exported")
    return document


def visible_documents(user: AnyUser) -> QuerySet[Document]:
    """Documents `user` may see: their own uploads; with review_document also
    every read document (the shared queue); with view_all_documents all."""
    if not user.is_authenticated or not user.has_perm("reviewapp.view_document"):
        return Document.objects.none()
    if can_view_all_documents(user):
        return Document.objects.all()
    if is_reviewer(user):
        return Document.objects.filter(
            Q(uploaded_by=user) | Q(status__in=REVIEW_STATUSES)
        )
    return Document.objects.filter(uploaded_by=user)


def can_see_document(user: AnyUser, *, uploaded_by_id: int | None, status: str) -> bool:
    """The same rule as `visible_documents`, for one document's uploader id and
    status (the websocket consumer checks events with it, without a query)."""
    if not user.is_authenticated or not user.has_perm("reviewapp.view_document"):
        return False
    if can_view_all_documents(user) or uploaded_by_id == user.pk:
        return True
    return is_reviewer(user) and status in REVIEW_STATUSES


def document_for(user: AnyUser, public_id: UUID | str) -> tuple[Document, bool]:
    """The document and whether `user` may change documents at all (retry,
    correct); `review_rights` says what the workflow allows on this one now.

    Raises Http404 when it does not exist or `user` may not see it, so that a
    document's existence is never revealed to someone outside it.
    """
    try:
        document = visible_documents(user).get(public_id=public_id)
    except (Document.DoesNotExist, ValueError):
        raise Http404("No such document") from None
    return document, user.has_perm(CORRECT_FIELDS)


def batch_for_split(user: AnyUser, public_id: UUID | str) -> tuple[Document, bool]:
    """A document `user` may see, and whether they may split it: reviewers
    who may correct documents, as for having a poor image read anyway (a
    split decides what gets read). Raises Http404 as `document_for` does."""
    document, can_change = document_for(user, public_id)
    return document, can_change and is_reviewer(user)


@dataclass(frozen=True)
class ReviewRights:
    """What `user` may do to one document now; the review page shows exactly
    these actions, and the services refuse the rest."""

    can_claim: bool
    can_release: bool
    can_approve: bool
    can_escalate: bool
    can_reject: bool
    can_edit_fields: bool
    can_reveal: bool
    claimed_by_someone_else: bool


def claim_is_takeable(document: Document, user: AnyUser, now: datetime) -> bool:
    """Ready, or claimed by `user`, or claimed by someone whose claim expired."""
    if document.status == Document.Status.READY:
        return True
    if document.status != Document.Status.CLAIMED:
        return False
    return document.claimed_by_id == user.pk or not document.claim_is_live(now)


def review_rights(
    user: AnyUser, document: Document, *, now: datetime | None = None
) -> ReviewRights:
    """The object rules of the review workflow for one document (see the
    Document docstring); model permissions say which roles may act at all."""
    now = now or timezone.now()
    reviewer = is_reviewer(user) and user.has_perm(CORRECT_FIELDS)
    holds_claim = (
        document.status == Document.Status.CLAIMED and document.claimed_by_id == user.pk
    )
    takeable = claim_is_takeable(document, user, now)
    # Four eyes: whoever escalated a document does not decide it.
    decides_exception = (
        document.status == Document.Status.ESCALATED
        and can_handle_exceptions(user)
        and document.escalated_by_id != user.pk
    )
    return ReviewRights(
        can_claim=reviewer and takeable and not holds_claim,
        can_release=reviewer and holds_claim,
        can_approve=(reviewer and holds_claim) or decides_exception,
        can_escalate=reviewer and holds_claim,
        can_reject=decides_exception,
        # Editing a takeable document claims it (services.field_correct).
        can_edit_fields=(reviewer and takeable) or decides_exception,
        can_reveal=can_reveal_sensitive(user),
        claimed_by_someone_else=(
            document.status == Document.Status.CLAIMED
            and document.claimed_by_id != user.pk
            and document.claim_is_live(now)
        ),
    )


def can_export_training(user: AnyUser) -> bool:
    """Every correction of every document, as training data: administrators."""
    return bool(user.is_authenticated and user.has_perm(EXPORT_TRAINING))


def can_export_audit(user: AnyUser) -> bool:
    """The whole audit log, every user and document: administrators only."""
    return bool(user.is_authenticated and user.has_perm(EXPORT_AUDIT))


MANAGE_EXTRACTOR = "reviewapp.manage_extractor"


def can_manage_extractor(user: AnyUser) -> bool:
    """Extractor versions: list, retrain and roll back. Administrators only."""
    return bool(user.is_authenticated and user.has_perm(MANAGE_EXTRACTOR))


def can_view_operations(user: AnyUser) -> bool:
    """The dashboard and the threshold simulator: supervisors and admins."""
    return can_handle_exceptions(user)


def can_apply_thresholds(user: AnyUser) -> bool:
    """Changing a field's auto-accept threshold: administrators."""
    return user.has_perm("reviewapp.change_fieldthreshold")


def can_manage_failed_jobs(user: AnyUser) -> bool:
    """Failed jobs, requeues and the health details: administrators."""
    return user.has_perm("reviewapp.change_document")


def metrics_allowed(request: HttpRequest) -> bool:
    """/metrics for a scraper: the bearer token (VOUCH_METRICS_TOKEN) or an
    address in VOUCH_METRICS_ALLOWED_IPS. Neither configured: nobody."""
    token = settings.VOUCH_METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(header.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(allowed, strict=False)
        for allowed in settings.VOUCH_METRICS_ALLOWED_IPS
    )
