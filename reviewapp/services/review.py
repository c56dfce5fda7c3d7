"""The review workflow: claim, release, approve, escalate, reject, hold for
editing, and the attestation a bank-detail change needs."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from reviewapp import (
    broadcast,
    permissions,
)
from reviewapp.audit.trail import record_event
from reviewapp.learning.vendor_memory import directory_learn_from_approval
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document
from reviewapp.models.review import BankChangeAttestation
from reviewapp.models.validation import ValidationIssue
from reviewapp.selectors.review_page import approval_refusal
from reviewapp.webhooks import document_publish_approved

logger = logging.getLogger(__name__)
EventType = AuditEvent.EventType


class ReviewRefused(Exception):
    """A review action is not allowed now; `reason` is for the person who tried
    (someone else holds the claim, the document was approved meanwhile, ...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _why_not(document_id: int, user: AbstractBaseUser, action: str) -> ReviewRefused:
    """Explain a refused action from the document as it is now."""
    document = Document.objects.select_related("claimed_by").get(pk=document_id)
    if document.claim_is_live(timezone.now()) and document.claimed_by_id != user.pk:
        holder = document.claimed_by.get_username() if document.claimed_by else "?"
        until = timezone.localtime(document.claim_expires_at).strftime("%H:%M")
        return ReviewRefused(
            f"{document.original_name} is being reviewed by {holder} "
            f"(claimed until {until}); you cannot {action} it."
        )
    if document.status in (Document.Status.READY, Document.Status.CLAIMED):
        return ReviewRefused(
            f"Claim {document.original_name} first; then you can {action} it."
        )
    return ReviewRefused(
        f"{document.original_name} is {document.get_status_display().lower()}; "
        f"you cannot {action} it."
    )


def require_permission(user: AbstractBaseUser, permission: str, action: str) -> None:
    if not user.has_perm(permission):
        raise ReviewRefused(f"Your role does not allow you to {action} documents.")


def _claim_update(document_id: int, user: AbstractBaseUser) -> int:
    # One conditional UPDATE: of two reviewers claiming at once, exactly one
    # matches the row; an expired claim is free for anyone to take.
    now = timezone.now()
    takeable = (
        Q(status=Document.Status.READY)
        | Q(status=Document.Status.CLAIMED, claimed_by=user)
        | Q(status=Document.Status.CLAIMED, claim_expires_at__lte=now)
        | Q(status=Document.Status.CLAIMED, claim_expires_at__isnull=True)
    )
    return Document.objects.filter(takeable, pk=document_id).update(
        status=Document.Status.CLAIMED,
        claimed_by=user,
        claim_expires_at=now + timedelta(minutes=settings.VOUCH_CLAIM_MINUTES),
        status_changed_at=now,
    )


def review_action_record(
    document: Document,
    user: AbstractBaseUser,
    event_type: str,
    details: dict[str, Any],
) -> None:
    """After a workflow step: reload, tell the pages, record it (inside the
    step's transaction, so a rolled-back step leaves no event)."""
    document.refresh_from_db()
    broadcast.document_changed(document)
    record_event(event_type, actor=user, document=document, details=details)


def document_claim(*, document: Document, user: AbstractBaseUser) -> Document:
    """`user` takes the document for review until the claim expires
    (VOUCH_CLAIM_MINUTES); claiming one's own claim renews it.
    Raises ReviewRefused when someone else holds a live claim or it is not
    waiting for review."""
    require_permission(user, permissions.REVIEW, "claim")
    with transaction.atomic():
        if _claim_update(document.pk, user) != 1:
            raise _why_not(document.pk, user, "claim")
        review_action_record(
            document,
            user,
            EventType.DOCUMENT_CLAIMED,
            {
                "claim_expires_at": document.claim_expires_at.isoformat()
                if document.claim_expires_at
                else None
            },
        )
    return document


def document_release(*, document: Document, user: AbstractBaseUser) -> Document:
    """The claimant gives the document back to the queue.
    Raises ReviewRefused when `user` does not hold the claim."""
    with transaction.atomic():
        released = Document.objects.filter(
            pk=document.pk, status=Document.Status.CLAIMED, claimed_by=user
        ).update(
            status=Document.Status.READY,
            claimed_by=None,
            claim_expires_at=None,
            status_changed_at=timezone.now(),
        )
        if released != 1:
            raise _why_not(document.pk, user, "release")
        review_action_record(document, user, EventType.DOCUMENT_RELEASED, {})
    return document


def document_approve(*, document: Document, user: AbstractBaseUser) -> Document:
    """Approve: the claimant approves a claimed document, or a supervisor an
    escalated one that someone else escalated (four eyes).
    Raises ReviewRefused otherwise."""
    now = timezone.now()
    decided = {
        "status": Document.Status.APPROVED,
        "claimed_by": None,
        "claim_expires_at": None,
        "decided_by": user,
        "decided_at": now,
        "status_changed_at": now,
    }
    with transaction.atomic():
        current, holder = Document.objects.values_list("status", "claimed_by").get(
            pk=document.pk
        )
        if current == Document.Status.ESCALATED:
            require_permission(user, permissions.HANDLE_EXCEPTIONS, "approve escalated")
            _require_approver(document.pk, user, escalated=True)
            updated = (
                Document.objects.filter(pk=document.pk, status=current)
                .exclude(escalated_by=user)
                .update(**decided)
            )
            if updated != 1:
                raise _four_eyes_or_why_not(document.pk, user, "approve")
        else:
            require_permission(user, permissions.REVIEW, "approve")
            if current == Document.Status.CLAIMED and holder == user.pk:
                _require_approver(document.pk, user, escalated=False)
            updated = Document.objects.filter(
                pk=document.pk, status=Document.Status.CLAIMED, claimed_by=user
            ).update(**decided)
            if updated != 1:
                raise _why_not(document.pk, user, "approve")
        document.refresh_from_db()
        # Every value on an approved document is a person's: the vendor
        # directory learns the vendor, its texts and its layout from it.
        directory_learn_from_approval(document=document)
        document_publish_approved(document)
        broadcast.document_changed(document)
        record_event(
            EventType.DOCUMENT_APPROVED,
            actor=user,
            document=document,
            details={"was": current},
        )
    return document


def _require_approver(
    document_id: int, user: AbstractBaseUser, *, escalated: bool
) -> None:
    refusal = approval_refusal(document_id, user, escalated=escalated)
    if refusal:
        raise ReviewRefused(refusal)


def _four_eyes_or_why_not(
    document_id: int, user: AbstractBaseUser, action: str
) -> ReviewRefused:
    escalated_by = Document.objects.values_list("escalated_by", flat=True).get(
        pk=document_id
    )
    if escalated_by == user.pk:
        return ReviewRefused(
            f"You escalated this document yourself: another supervisor must "
            f"{action} it."
        )
    return _why_not(document_id, user, action)


def document_escalate(
    *, document: Document, user: AbstractBaseUser, reason: str, note: str
) -> Document:
    """The claimant hands the document to the supervisors' exception queue
    with a reason code (Document.EscalationReason) and a note ("other" needs
    one). Raises ReviewRefused without a claim or a valid reason."""
    note = note.strip()
    if reason not in Document.EscalationReason.values:
        raise ReviewRefused("Choose why you escalate this document.")
    if reason == Document.EscalationReason.OTHER and not note:
        raise ReviewRefused("Say in the note why you escalate this document.")
    now = timezone.now()
    with transaction.atomic():
        updated = Document.objects.filter(
            pk=document.pk, status=Document.Status.CLAIMED, claimed_by=user
        ).update(
            status=Document.Status.ESCALATED,
            claimed_by=None,
            claim_expires_at=None,
            escalation_reason=reason,
            escalation_note=note,
            escalated_by=user,
            escalated_at=now,
            status_changed_at=now,
        )
        if updated != 1:
            raise _why_not(document.pk, user, "escalate")
        review_action_record(
            document,
            user,
            EventType.DOCUMENT_ESCALATED,
            {"reason": reason, "note": note},
        )
    return document


def document_reject(
    *, document: Document, user: AbstractBaseUser, note: str
) -> Document:
    """A supervisor rejects an escalated document someone else escalated, and
    says why. Raises ReviewRefused otherwise."""
    require_permission(user, permissions.HANDLE_EXCEPTIONS, "reject")
    note = note.strip()
    if not note:
        raise ReviewRefused("Say why you reject this document.")
    now = timezone.now()
    with transaction.atomic():
        updated = (
            Document.objects.filter(pk=document.pk, status=Document.Status.ESCALATED)
            .exclude(escalated_by=user)
            .update(
                status=Document.Status.REJECTED,
                decided_by=user,
                decided_at=now,
                decision_note=note,
                status_changed_at=now,
            )
        )
        if updated != 1:
            raise _four_eyes_or_why_not(document.pk, user, "reject")
        review_action_record(
            document, user, EventType.DOCUMENT_REJECTED, {"note": note}
        )
    return document


def documents_release_expired_claims() -> list[Document]:
    """Return documents whose claim expired to the queue, and say so live, so
    they reappear in everyone's queue. Safe to run repeatedly and alongside
    reviewers: a claim renewed or taken over meanwhile is left alone."""
    released = []
    expired = Document.objects.filter(
        status=Document.Status.CLAIMED, claim_expires_at__lte=timezone.now()
    )
    for document in expired:
        with transaction.atomic():
            updated = Document.objects.filter(
                pk=document.pk,
                status=Document.Status.CLAIMED,
                claimed_by=document.claimed_by_id,
                claim_expires_at=document.claim_expires_at,
            ).update(
                status=Document.Status.READY,
                claimed_by=None,
                claim_expires_at=None,
                status_changed_at=timezone.now(),
            )
            if updated != 1:
                continue
            document.refresh_from_db()
            broadcast.document_changed(document)
        released.append(document)
    return released


def _hold_for_editing(document: Document, user: AbstractBaseUser) -> None:
    """Make sure `user` may edit fields now: a supervisor deciding an exception,
    or the claimant. Editing a takeable document claims it (and renews one's
    own claim), so two people never correct the same document."""
    status = Document.objects.values_list("status", flat=True).get(pk=document.pk)
    if status == Document.Status.ESCALATED and user.has_perm(
        permissions.HANDLE_EXCEPTIONS
    ):
        return
    require_permission(user, permissions.REVIEW, "correct")
    if _claim_update(document.pk, user) != 1:
        raise _why_not(document.pk, user, "correct")


def document_hold_for_editing(*, document: Document, user: AbstractBaseUser) -> None:
    """`_hold_for_editing` for other edit services (line items). Raises
    ReviewRefused when `user` may not edit the document now."""
    _hold_for_editing(document, user)


def bank_change_attest(
    *,
    document: Document,
    user: AbstractBaseUser,
    method: str,
    vendor_contact: str,
    verified_at: datetime,
    note: str = "",
) -> BankChangeAttestation:
    """Record that `user` verified the document's new bank details with the
    vendor (how, with whom, when), in the audit trail too. A supervisor other
    than `user` may then approve. Raises ReviewRefused when the document has
    no bank-detail change, is decided, or `user` may not review."""
    require_permission(user, permissions.REVIEW, "attest bank details on")
    if verified_at > timezone.now() + timedelta(minutes=5):
        raise ReviewRefused("The verification cannot be in the future.")
    with transaction.atomic():
        status = Document.objects.values_list("status", flat=True).get(pk=document.pk)
        if status in (Document.Status.APPROVED, Document.Status.REJECTED):
            raise ReviewRefused("This document is decided already.")
        if not ValidationIssue.objects.filter(
            document=document, needs_supervisor=True
        ).exists():
            raise ReviewRefused("This document's bank details did not change.")
        attestation = BankChangeAttestation.objects.create(
            document=document,
            attested_by=user,
            method=method,
            vendor_contact=vendor_contact,
            verified_at=verified_at,
            note=note,
        )
        record_event(
            EventType.BANK_DETAILS_ATTESTED,
            actor=user,
            document=document,
            details={
                "how": attestation.get_method_display(),
                "vendor_contact": vendor_contact,
                "verified_at": verified_at.isoformat(),
                "note": note,
            },
        )
        broadcast.document_changed(document)
    return attestation
