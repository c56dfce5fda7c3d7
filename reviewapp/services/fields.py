"""A person's work on single fields: correct, confirm, reveal a sensitive value."""

from __future__ import annotations

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from reviewapp import (
    broadcast,
    permissions,
)
from reviewapp.audit.trail import SENSITIVE_FIELD_NAMES, record_event
from reviewapp.extraction_fields import label_for_type, required_fields_for_type
from reviewapp.learning.training_data import (
    TYPED,
    CorrectionEvidence,
    correction_record,
)
from reviewapp.learning.vendor_memory import memory_learn_from_correction
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document
from reviewapp.models.fields import Field
from reviewapp.models.review import SensitiveReveal
from reviewapp.services.review import (
    ReviewRefused,
    document_hold_for_editing,
    require_permission,
    review_action_record,
)
from reviewapp.services.validation import (
    document_refresh_review_columns,
    document_validate,
)

logger = logging.getLogger(__name__)
EventType = AuditEvent.EventType


def field_correct(
    *,
    document: Document,
    name: str,
    value: str,
    user: AbstractBaseUser,
    reason: str = "",
    evidence: CorrectionEvidence = TYPED,
) -> Field:
    """A person sets a field's value (already normalised, see
    `extraction_fields.normalise_human_value`). It is never overwritten by a later
    machine run; the machine's own value stays in machine_value. The change is
    audited with the old and new value (encrypted for sensitive fields), the
    machine's confidence, the person, their role and `reason`; `evidence` (the
    box the person took the value from) is kept as training data. When the
    vendor is known, where the value is printed (under the evidence box, if the
    person pointed at it) is remembered for the vendor's next documents
    (vendor_memory).

    Only the claimant (or a supervisor on an escalated document) may: editing
    an unclaimed document claims it. Raises ReviewRefused otherwise."""
    with transaction.atomic():
        document_hold_for_editing(document=document, user=user)
        field, _ = Field.objects.select_for_update().get_or_create(
            document=document, name=name
        )
        old_value, old_set_by = field.value, field.set_by
        field.value = value
        field.raw_value = value
        field.set_by = Field.SetBy.HUMAN
        field.corrected_by = user  # type: ignore[assignment]
        field.corrected_at = timezone.now()
        field.confidence = 1.0
        field.save()
        correction_record(field=field, evidence=evidence, user=user)
        document_validate(document=document)
        document_refresh_review_columns(document=document)
        document.refresh_from_db()
        broadcast.document_changed(document)
        values = {"old_value": old_value, "new_value": value}
        sensitive = name in SENSITIVE_FIELD_NAMES
        record_event(
            EventType.FIELD_CHANGED,
            actor=user,
            document=document,
            details={
                "field": name,
                "machine_confidence": field.machine_confidence,
                "previously_set_by": old_set_by,
                "reason": reason,
                **({} if sensitive else values),
            },
            sensitive=values if sensitive else None,
        )
        memory_learn_from_correction(field=field, user=user, box=evidence.box)
    return field


def field_confirm(*, document: Document, name: str, user: AbstractBaseUser) -> Field:
    """A person confirms a field's value as read (it need not be shown to them:
    masked values too). It counts as a person's value from then on. An
    optional field that was not read is confirmed "not on this document".
    Raises ReviewRefused when a required field has no value, or `user` may
    not edit."""
    with transaction.atomic():
        document_hold_for_editing(document=document, user=user)
        field = (
            Field.objects.select_for_update()
            .filter(document=document, name=name)
            .first()
        )
        absent = field is None or not field.value
        if absent and name in required_fields_for_type(document.document_type):
            label = label_for_type(name, document.document_type)
            raise ReviewRefused(
                f"{label} is needed on every document of this kind: type it "
                "from the document (Enter), or escalate if it is not there."
            )
        if field is None:
            field = Field(document=document, name=name, value="", raw_value="")
        field.set_by = Field.SetBy.HUMAN
        field.corrected_by = user  # type: ignore[assignment]
        field.corrected_at = timezone.now()
        field.confidence = 1.0
        field.save()
        document_refresh_review_columns(document=document)
        review_action_record(
            document,
            user,
            EventType.FIELD_CHANGED,
            {
                "field": name,
                "confirmed_as_read": not absent,
                "confirmed_absent": absent,
                "machine_confidence": field.machine_confidence,
            },
        )
    return field


# What a reveal of the whole file is recorded as, in place of a field's name.
ORIGINAL_FILE = "original file"


def sensitive_value_reveal(
    *, document: Document, name: str, user: AbstractBaseUser, reason: str
) -> str:
    """Record that `user` sees field `name` of `document` in clear, and why;
    return the clear value (for this one answer only, never stored elsewhere).
    Raises ReviewRefused without the permission or a reason."""
    require_permission(user, permissions.REVEAL_SENSITIVE, "reveal values on")
    reason = reason.strip()
    if not reason:
        raise ReviewRefused("Say why you need to see this value.")
    field = Field.objects.filter(document=document, name=name).first()
    if field is None or not field.value:
        raise ReviewRefused("There is no value to reveal.")
    with transaction.atomic():
        _reveal_record(document=document, user=user, what=name, reason=reason)
    return field.value


def _reveal_record(
    *, document: Document, user: AbstractBaseUser, what: str, reason: str
) -> None:
    """One reveal: its row and its audit event."""
    SensitiveReveal.objects.create(
        document=document, field_name=what, user=user, reason=reason
    )
    record_event(
        EventType.SENSITIVE_REVEALED,
        actor=user,
        document=document,
        details={"field": what, "reason": reason},
    )


def document_original_reveal(
    *, document: Document, user: AbstractBaseUser, reason: str
) -> None:
    """Record that `user` downloads the original file of `document` (which may
    show sensitive values in clear), and why: an audited reveal. Raises
    ReviewRefused without the permission or a reason."""
    require_permission(user, permissions.REVEAL_SENSITIVE, "download the original of")
    reason = reason.strip()
    if not reason:
        raise ReviewRefused("Say why you need the original file.")
    with transaction.atomic():
        _reveal_record(document=document, user=user, what=ORIGINAL_FILE, reason=reason)
        record_event(
            EventType.DOCUMENT_DOWNLOADED,
            actor=user,
            document=document,
            details={"original_name": document.original_name, "original": True},
        )
