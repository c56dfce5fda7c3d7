"""The review workflow's services: claims, decisions, four eyes, and who may
correct fields when."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone

from reviewapp.models.documents import Document
from reviewapp.models.fields import Field
from reviewapp.permissions import review_rights
from reviewapp.services.fields import field_confirm, field_correct
from reviewapp.services.review import (
    ReviewRefused,
    document_approve,
    document_claim,
    document_escalate,
    document_reject,
    document_release,
    documents_release_expired_claims,
)
from tests.conftest import make_document

pytestmark = pytest.mark.django_db

Status = Document.Status
OTHER = Document.EscalationReason.OTHER
WRONG = Document.EscalationReason.WRONG_DATA


@pytest.fixture
def document(clerk: User) -> Document:
    return make_document(uploaded_by=clerk, fields={"total_amount": ("12.00", 1.0)})


def claimed_by(user: User, document: Document) -> Document:
    return document_claim(document=document, user=user)


def escalated_by(user: User, document: Document) -> Document:
    claimed_by(user, document)
    return document_escalate(
        document=document, user=user, reason=WRONG, note="total differs"
    )


def test_a_claim_holds_the_document_until_it_expires(
    clerk: User, document: Document, settings
) -> None:
    settings.VOUCH_CLAIM_MINUTES = 10
    before = timezone.now()
    claimed_by(clerk, document)
    document.refresh_from_db()
    assert document.status == Status.CLAIMED and document.claimed_by == clerk
    assert document.claim_expires_at is not None
    assert (
        before + timedelta(minutes=10)
        <= document.claim_expires_at
        <= timezone.now() + timedelta(minutes=10)
    )


def test_a_second_reviewer_cannot_claim_a_claimed_document(
    clerk: User, other_clerk: User, document: Document
) -> None:
    stale_copy = Document.objects.get(pk=document.pk)  # loaded before the claim
    claimed_by(clerk, document)
    with pytest.raises(ReviewRefused, match="being reviewed by clerk"):
        document_claim(document=stale_copy, user=other_clerk)
    assert Document.objects.get(pk=document.pk).claimed_by == clerk


def test_an_expired_claim_can_be_taken_by_someone_else(
    clerk: User, other_clerk: User, document: Document
) -> None:
    claimed_by(clerk, document)
    Document.objects.filter(pk=document.pk).update(
        claim_expires_at=timezone.now() - timedelta(seconds=1)
    )
    claimed_by(other_clerk, document)
    document.refresh_from_db()
    assert document.claimed_by == other_clerk
    # ...and the first claimant has lost it.
    with pytest.raises(ReviewRefused):
        document_approve(document=document, user=clerk)


def test_release_returns_the_document_to_the_queue(
    clerk: User, other_clerk: User, document: Document
) -> None:
    claimed_by(clerk, document)
    with pytest.raises(ReviewRefused):
        document_release(document=document, user=other_clerk)
    document_release(document=document, user=clerk)
    document.refresh_from_db()
    assert (document.status, document.claimed_by, document.claim_expires_at) == (
        Status.READY,
        None,
        None,
    )


def test_only_the_claimant_approves(
    clerk: User, other_clerk: User, document: Document
) -> None:
    with pytest.raises(ReviewRefused, match="Claim"):
        document_approve(document=document, user=clerk)
    claimed_by(clerk, document)
    with pytest.raises(ReviewRefused, match="being reviewed by clerk"):
        document_approve(document=document, user=other_clerk)
    document_approve(document=document, user=clerk)
    document.refresh_from_db()
    assert document.status == Status.APPROVED
    assert document.decided_by == clerk and document.decided_at is not None
    assert document.claimed_by is None


def test_an_approved_document_is_not_claimed_again(
    clerk: User, other_clerk: User, document: Document
) -> None:
    claimed_by(clerk, document)
    document_approve(document=document, user=clerk)
    with pytest.raises(ReviewRefused, match="approved"):
        document_claim(document=document, user=other_clerk)


def test_escalation_needs_a_reason_and_for_other_a_note(
    clerk: User, document: Document
) -> None:
    claimed_by(clerk, document)
    with pytest.raises(ReviewRefused, match="Choose why"):
        document_escalate(document=document, user=clerk, reason="", note="")
    with pytest.raises(ReviewRefused, match="note"):
        document_escalate(document=document, user=clerk, reason=OTHER, note="  ")
    document_escalate(
        document=document, user=clerk, reason=OTHER, note="stamp says paid"
    )
    document.refresh_from_db()
    assert document.status == Status.ESCALATED
    assert (document.escalation_reason, document.escalation_note) == (
        OTHER,
        "stamp says paid",
    )
    assert document.escalated_by == clerk and document.claimed_by is None


def test_a_supervisor_decides_an_escalation_a_clerk_cannot(
    clerk: User, other_clerk: User, supervisor: User, document: Document
) -> None:
    escalated_by(clerk, document)
    with pytest.raises(ReviewRefused, match="role"):
        document_approve(document=document, user=other_clerk)
    with pytest.raises(ReviewRefused, match="role"):
        document_reject(document=document, user=other_clerk, note="no")
    document_approve(document=document, user=supervisor)
    document.refresh_from_db()
    assert document.status == Status.APPROVED and document.decided_by == supervisor


def test_a_rejection_needs_a_note(
    clerk: User, supervisor: User, document: Document
) -> None:
    escalated_by(clerk, document)
    with pytest.raises(ReviewRefused, match="Say why"):
        document_reject(document=document, user=supervisor, note=" ")
    document_reject(document=document, user=supervisor, note="not ours")
    document.refresh_from_db()
    assert (document.status, document.decision_note) == (Status.REJECTED, "not ours")


def test_four_eyes_the_escalating_supervisor_does_not_decide(
    supervisor: User, admin_user: User, document: Document
) -> None:
    escalated_by(supervisor, document)
    for decide in (
        lambda: document_approve(document=document, user=supervisor),
        lambda: document_reject(document=document, user=supervisor, note="x"),
    ):
        with pytest.raises(ReviewRefused, match="another supervisor"):
            decide()
    assert review_rights(supervisor, document).can_approve is False
    document_approve(document=document, user=admin_user)
    assert Document.objects.get(pk=document.pk).status == Status.APPROVED


def test_a_correction_claims_an_unclaimed_document(
    clerk: User, document: Document
) -> None:
    field_correct(document=document, name="total_amount", value="13.00", user=clerk)
    document.refresh_from_db()
    assert document.status == Status.CLAIMED and document.claimed_by == clerk


def test_only_the_claimant_corrects_fields(
    clerk: User, other_clerk: User, document: Document
) -> None:
    claimed_by(clerk, document)
    with pytest.raises(ReviewRefused, match="being reviewed by clerk"):
        field_correct(
            document=document, name="total_amount", value="1.00", user=other_clerk
        )
    assert document.fields.get(name="total_amount").value == "12.00"
    assert review_rights(other_clerk, document).can_edit_fields is False
    assert review_rights(clerk, document).can_edit_fields is True


def test_decided_documents_are_not_corrected(clerk: User, document: Document) -> None:
    claimed_by(clerk, document)
    document_approve(document=document, user=clerk)
    with pytest.raises(ReviewRefused, match="approved"):
        field_correct(document=document, name="total_amount", value="1.00", user=clerk)


def test_a_supervisor_corrects_an_escalated_document(
    clerk: User, supervisor: User, document: Document
) -> None:
    escalated_by(clerk, document)
    field_correct(
        document=document, name="total_amount", value="14.00", user=supervisor
    )
    assert document.fields.get(name="total_amount").value == "14.00"
    assert Document.objects.get(pk=document.pk).status == Status.ESCALATED


def test_rights_follow_the_state(
    clerk: User, other_clerk: User, supervisor: User, document: Document
) -> None:
    ready = review_rights(clerk, document)
    assert ready.can_claim and not ready.can_approve and not ready.can_release
    claimed_by(clerk, document)
    mine = review_rights(clerk, document)
    assert mine.can_approve and mine.can_escalate and mine.can_release
    assert not mine.can_claim and not mine.can_reveal
    theirs = review_rights(other_clerk, document)
    assert theirs.claimed_by_someone_else and not theirs.can_claim
    assert review_rights(supervisor, document).can_reveal


def test_roles_carry_the_review_permissions(
    clerk: User, supervisor: User, admin_user: User
) -> None:
    assert clerk.has_perm("reviewapp.review_document")
    assert not clerk.has_perm("reviewapp.handle_exceptions")
    assert not clerk.has_perm("reviewapp.reveal_sensitive")
    for user in (supervisor, admin_user):
        assert user.has_perm("reviewapp.handle_exceptions")
        assert user.has_perm("reviewapp.reveal_sensitive")
    assert admin_user.has_perm("reviewapp.change_sensitivefield")


def test_confirming_a_value_makes_it_a_person_s_and_claims(
    clerk: User, other_clerk: User, document: Document
) -> None:
    field = field_confirm(document=document, name="total_amount", user=clerk)
    assert (field.value, field.set_by, field.confidence) == ("12.00", "human", 1.0)
    assert field.machine_value == "12.00" and field.corrected_by == clerk
    assert Document.objects.get(pk=document.pk).claimed_by == clerk
    with pytest.raises(ReviewRefused, match="being reviewed by clerk"):
        field_confirm(document=document, name="total_amount", user=other_clerk)
    # An optional field that was not read: confirmed "not on this document".
    absent = field_confirm(document=document, name="iban", user=clerk)
    assert (absent.value, absent.set_by) == ("", "human")
    # A required one must be typed instead.
    Field.objects.filter(document=document, name="total_amount").delete()
    with pytest.raises(ReviewRefused, match="Total is needed"):
        field_confirm(document=document, name="total_amount", user=clerk)


def test_expired_claims_are_released_and_live_ones_kept(
    clerk: User, other_clerk: User
) -> None:
    expired = make_document(name="expired.pdf")
    live = make_document(name="live.pdf")
    document_claim(document=expired, user=clerk)
    document_claim(document=live, user=other_clerk)
    Document.objects.filter(pk=expired.pk).update(
        claim_expires_at=timezone.now() - timedelta(seconds=1)
    )
    out = StringIO()
    call_command("release_expired_claims", stdout=out)
    assert f"released {expired.public_id} expired.pdf" in out.getvalue()
    assert "1 expired claim(s) released" in out.getvalue()
    expired.refresh_from_db()
    live.refresh_from_db()
    assert (expired.status, expired.claimed_by) == (Status.READY, None)
    assert (live.status, live.claimed_by) == (Status.CLAIMED, other_clerk)
    assert documents_release_expired_claims() == []
