"""Routing after reading: straight-through approval, the clerks' queue, the
supervisors' exceptions; and the approvals only a supervisor (another one, for
changed bank details) may give."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper

from pipeline.ocr.recorded import RecordedOcrEngine
from reviewapp import review_reasons, routing
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document
from reviewapp.models.fields import Field
from reviewapp.models.master_data import Vendor
from reviewapp.models.validation import ValidationIssue
from reviewapp.models.webhooks import WebhookDelivery, WebhookEndpoint
from reviewapp.services.fields import field_confirm, field_correct
from reviewapp.services.review import (
    ReviewRefused,
    bank_change_attest,
    document_approve,
    document_claim,
    document_escalate,
    document_release,
)
from tests.conftest import make_document, processed_upload, recorded_line, text_image

pytestmark = pytest.mark.django_db

Status = Document.Status
SURE_FIELDS = [
    ("vendor_name", "ACME GmbH", 0.98),
    ("invoice_date", "2026-11-20", 0.97),
    ("total_amount", "120.50", 0.95),
]


@dataclass(frozen=True)
class FakeIssue:
    rule: str
    severity: str = "error"
    code: str = "code"
    message: str = "message"
    needs_supervisor: bool = False


def route(fields=SURE_FIELDS, issues=(), *, document_type="invoice", limit=1000):  # type: ignore[no-untyped-def]
    return routing.route_for(
        document_type=document_type,
        fields=fields,
        issues=issues,
        flag_below=0.9,
        straight_through_types={"invoice"},
        straight_through_max_amount=Decimal(limit),
    )


def test_a_sure_clean_invoice_within_the_limit_goes_straight_through() -> None:
    assert route().destination == routing.APPROVE
    assert route(issues=[FakeIssue("vendor_known", "warning")]).destination == (
        routing.APPROVE
    )


@pytest.mark.parametrize(
    ("fields", "issues", "document_type", "limit"),
    [
        # an unsure field
        ([*SURE_FIELDS[:2], ("total_amount", "120.50", 0.6)], (), "invoice", 1000),
        # a key field missing
        (SURE_FIELDS[:2], (), "invoice", 1000),
        # a field check failed (a clerk corrects a misread)
        (SURE_FIELDS, [FakeIssue("totals_add_up")], "invoice", 1000),
        # over the straight-through limit
        (SURE_FIELDS, (), "invoice", 100),
        # a type not configured for straight-through
        (SURE_FIELDS, (), "receipt", 1000),
    ],
)
def test_everything_else_goes_to_the_clerks(
    fields, issues, document_type, limit
) -> None:  # type: ignore[no-untyped-def]
    decision = route(fields, issues, document_type=document_type, limit=limit)
    assert decision.destination == routing.CLERKS


def test_rule_exceptions_go_to_supervisors_with_the_rule_as_reason() -> None:
    mismatch = FakeIssue("two_way_match", message="Line 1 costs 12.00, PO says 10.00")
    decision = route(issues=[FakeIssue("totals_add_up"), mismatch])
    assert decision.destination == routing.SUPERVISORS
    assert decision.escalation_reason == "po_mismatch"
    # Each exception rule has a reason of its own, said in plain words.
    for rule in routing.EXCEPTION_RULES:
        reason = route(issues=[FakeIssue(rule)]).escalation_reason
        assert reason in Document.EscalationReason.values
        assert reason != routing.RULE_EXCEPTION_REASON, rule
    assert decision.explanation == "Line 1 costs 12.00, PO says 10.00"
    bank = FakeIssue("bank_details_unchanged", needs_supervisor=True)
    assert route(issues=[bank]).escalation_reason == "bank_details"
    assert route(issues=[FakeIssue("duplicate_invoice")]).escalation_reason == (
        "duplicate"
    )
    # A warning of an exception rule (currency differs from the vendor's usual
    # one, without a PO) does not need a supervisor.
    warning = FakeIssue("currency_expected", "warning")
    assert route(issues=[warning]).destination == routing.APPROVE


# --- through the job -----------------------------------------------------------


@pytest.fixture
def acme(db: None) -> Vendor:
    vendor = Vendor(number="V-1", name="ACME GmbH", country="DE", currency="EUR")
    vendor.full_clean()
    vendor.save()
    return vendor


def fresh_invoice(recorded_ocr: type[RecordedOcrEngine], total: str) -> bytes:
    """An invoice dated today (so no date check fails) with `total` EUR."""
    today = timezone.localdate().strftime("%d.%m.%Y")
    lines = [
        "ACME GMBH",
        "Invoice No: INV-2001",
        f"Date: {today}",
        "Remit to: ACME GmbH",
        f"Total EUR {total}",
    ]
    # The heading, printed large, and the remittance line make it an invoice
    # to the classifier too (76 % sure on so short a page): routing follows
    # the classified type.
    heading = recorded_line("INVOICE", (500, 30, 700, 90))
    recorded_ocr.record(
        800,
        600,
        (
            heading,
            *(
                recorded_line(text, (40, 100 + 50 * index, 420, 136 + 50 * index))
                for index, text in enumerate(lines)
            ),
        ),
    )
    return text_image(["INVOICE", *lines])


@pytest.fixture(autouse=True)
def _trust_the_heuristic_extractor(settings: SettingsWrapper) -> None:
    # On a six-line synthetic page the raw heuristic extractor is 46-89 % sure
    # of each field (the calibrated one, rightly, much less) and the classifier
    # 76 % sure it is an invoice; the thresholds are lowered so that "every
    # field sure" can hold and routing is what is tested.
    settings.VOUCH_EXTRACTOR = "pipeline.extract.heuristic.HeuristicExtractor"
    settings.VOUCH_FLAG_BELOW_CONFIDENCE = 0.45
    settings.VOUCH_CLASSIFY_MIN_CONFIDENCE = 0.7


def process(content: bytes, clerk: User) -> Document:
    document = processed_upload(content, name="acme.png", uploaded_by=clerk)
    return document


def test_a_clean_invoice_is_approved_straight_through_and_announced(
    clerk: User,
    media_root: Path,
    recorded_ocr: type[RecordedOcrEngine],
    acme: Vendor,
) -> None:
    endpoint = WebhookEndpoint.objects.create(
        name="ERP", url="http://127.0.0.1:9/", events=["document.approved"]
    )
    document = process(fresh_invoice(recorded_ocr, "120,50"), clerk)
    assert document.status == Status.APPROVED, document.decision_note
    assert document.straight_through and document.decided_by is None
    assert document.decision_note.startswith("Approved straight through")
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.event == "document.approved"
    assert delivery.payload["id"] == str(document.public_id)
    assert delivery.payload["approved_by"] == "straight-through"
    assert delivery.payload["fields"]["total_amount"] == "120.50"
    assert delivery.payload["matched_vendor"] == {"id": "V-1", "name": "ACME GmbH"}
    approval = AuditEvent.objects.get(
        document_public_id=document.public_id, event_type="document_approved"
    )
    assert approval.actor_username == "" and approval.details["straight_through"]


def test_over_the_straight_through_limit_it_waits_for_a_clerk(
    clerk: User,
    media_root: Path,
    recorded_ocr: type[RecordedOcrEngine],
    acme: Vendor,
    settings: SettingsWrapper,
) -> None:
    settings.VOUCH_STRAIGHT_THROUGH_MAX_AMOUNT = 100
    document = process(fresh_invoice(recorded_ocr, "120,50"), clerk)
    assert document.status == Status.READY
    assert not WebhookDelivery.objects.exists()


def test_a_document_type_switched_off_waits_for_a_clerk(
    clerk: User,
    media_root: Path,
    recorded_ocr: type[RecordedOcrEngine],
    acme: Vendor,
    settings: SettingsWrapper,
) -> None:
    settings.VOUCH_STRAIGHT_THROUGH_DOCUMENT_TYPES = ["credit_note"]
    document = process(fresh_invoice(recorded_ocr, "120,50"), clerk)
    assert document.status == Status.READY


def test_a_rule_exception_lands_in_the_supervisors_queue_with_the_rule(
    clerk: User,
    media_root: Path,
    recorded_ocr: type[RecordedOcrEngine],
    acme: Vendor,
) -> None:
    content = fresh_invoice(recorded_ocr, "120,50")
    first = process(content, clerk)
    # The same invoice scanned again: other bytes, same vendor and number.
    again = process(content.replace(b"IEND", b"IEND", 1) + b"\0", clerk)
    assert first.pk != again.pk
    assert again.status == Status.ESCALATED
    assert again.escalation_reason == Document.EscalationReason.DUPLICATE
    assert again.escalated_by is None
    # A plain sentence, no internal rule code.
    assert "[" not in again.escalation_note and again.escalation_note
    escalation = AuditEvent.objects.get(
        document_public_id=again.public_id, event_type="document_escalated"
    )
    assert escalation.details["reason"] == "duplicate"
    assert escalation.details["by_routing"] is True


# --- approvals reserved for supervisors ----------------------------------------


def test_a_clerk_cannot_approve_a_total_over_the_supervisor_limit(
    clerk: User, supervisor: User, settings: SettingsWrapper
) -> None:
    settings.VOUCH_SUPERVISOR_AMOUNT_LIMIT = 10000
    document = make_document(fields={"total_amount": ("12000.00", 0.99)})
    document_claim(document=document, user=clerk)
    with pytest.raises(ReviewRefused, match="over 10000, the most a clerk"):
        document_approve(document=document, user=clerk)
    document_escalate(document=document, user=clerk, reason="over_limit", note="")
    document_approve(document=document, user=supervisor)
    document.refresh_from_db()
    assert document.status == Status.APPROVED and document.decided_by == supervisor


def bank_change(document: Document) -> None:
    ValidationIssue.objects.create(
        document=document,
        rule="bank_details_unchanged",
        code="bank_details_changed",
        severity="error",
        fields=["iban"],
        message="The IBAN is new for ACME GmbH.",
        needs_supervisor=True,
    )


NEW_IBAN = "DE02120300000000202051"


def bank_document() -> Document:
    document = make_document(
        fields={"total_amount": ("120.50", 1.0), "iban": (NEW_IBAN, 0.99)}
    )
    bank_change(document)
    return document


def attest(document: Document, user: User) -> None:
    bank_change_attest(
        document=document,
        user=user,
        method="phone",
        vendor_contact="Anna Weber, accounts",
        verified_at=timezone.now(),
    )


def test_changed_bank_details_need_an_attestation_and_a_second_person(
    clerk: User, supervisor: User, admin_user: User
) -> None:
    document = bank_document()
    document_claim(document=document, user=clerk)
    with pytest.raises(ReviewRefused, match="bank details differ"):
        document_approve(document=document, user=clerk)
    document_escalate(document=document, user=clerk, reason="bank_details", note="")
    # The clerk who escalated it cannot approve it.
    with pytest.raises(ReviewRefused, match="does not allow"):
        document_approve(document=document, user=clerk)
    # Nobody attested how the new details were verified: refused.
    with pytest.raises(ReviewRefused, match="attest how they verified"):
        document_approve(document=document, user=supervisor)
    attest(document, supervisor)
    event = AuditEvent.objects.get(
        event_type=AuditEvent.EventType.BANK_DETAILS_ATTESTED
    )
    assert event.actor_username == "supervisor"
    assert event.details["how"] == "Phone call to the number on file"
    assert event.details["vendor_contact"] == "Anna Weber, accounts"
    # The attester is not the second person ...
    with pytest.raises(ReviewRefused, match="You attested"):
        document_approve(document=document, user=supervisor)
    # ... another supervisor is, once the flagged IBAN is confirmed.
    with pytest.raises(ReviewRefused, match=r"flagged fields first.*IBAN"):
        document_approve(document=document, user=admin_user)
    field_confirm(document=document, name="iban", user=supervisor)
    document_approve(document=document, user=admin_user)
    document.refresh_from_db()
    assert document.status == Status.APPROVED and document.decided_by == admin_user


def test_the_supervisor_who_escalated_bank_details_cannot_approve_them(
    supervisor: User, admin_user: User
) -> None:
    document = bank_document()
    document_claim(document=document, user=supervisor)
    # Not even a supervisor approves it alone from a claim.
    with pytest.raises(ReviewRefused, match="bank details differ"):
        document_approve(document=document, user=supervisor)
    field_confirm(document=document, name="iban", user=supervisor)
    document_escalate(
        document=document, user=supervisor, reason="bank_details", note=""
    )
    attest(document, supervisor)
    with pytest.raises(ReviewRefused, match="another supervisor"):
        document_approve(document=document, user=supervisor)
    document_approve(document=document, user=admin_user)
    assert Document.objects.get(pk=document.pk).decided_by == admin_user


def test_a_supervisor_who_changed_the_iban_cannot_approve_it(
    clerk: User, supervisor: User, admin_user: User
) -> None:
    document = make_document(fields={"total_amount": ("120.50", 1.0)})
    document_claim(document=document, user=clerk)
    document_escalate(document=document, user=clerk, reason="bank_details", note="")
    field_correct(document=document, name="iban", value=NEW_IBAN, user=supervisor)
    # Validation ran again on the correction; make the bank change explicit.
    bank_change(document)
    assert Field.objects.get(document=document, name="iban").corrected_by == supervisor
    attest(document, clerk)
    with pytest.raises(ReviewRefused, match="you escalated it or changed"):
        document_approve(document=document, user=supervisor)


def test_a_clerk_escalates_a_rule_exception_instead_of_approving_it(
    clerk: User, supervisor: User
) -> None:
    document = make_document(fields={"total_amount": ("120.50", 0.99)})
    ValidationIssue.objects.create(
        document=document,
        rule="two_way_match",
        code="po_amount_exceeded",
        severity="error",
        fields=["total_amount"],
        message="The invoice bills 120.50, more than PO-4711's 100.00.",
    )
    document_claim(document=document, user=clerk)
    with pytest.raises(
        ReviewRefused,
        match=r"only a supervisor settles failed: The invoice bills 120.50",
    ):
        document_approve(document=document, user=clerk)
    # A supervisor who claims it may decide it.
    document_release(document=document, user=clerk)
    document_claim(document=document, user=supervisor)
    # The check names the total: it is confirmed before anyone approves.
    with pytest.raises(ReviewRefused, match=r"flagged fields first.*: Total\."):
        document_approve(document=document, user=supervisor)
    field_confirm(document=document, name="total_amount", user=supervisor)
    document_approve(document=document, user=supervisor)
    assert Document.objects.get(pk=document.pk).status == Status.APPROVED


def test_an_unsure_document_type_goes_to_the_clerks_with_that_reason() -> None:
    sure_fields = [
        ("vendor_name", "ACME GmbH", 0.99),
        ("invoice_date", "2026-11-02", 0.99),
        ("total_amount", "120.50", 0.99),
    ]
    common = {
        "document_type": "invoice",
        "fields": sure_fields,
        "issues": [],
        "flag_below": 0.9,
        "straight_through_types": {"invoice"},
        "straight_through_max_amount": Decimal("1000"),
    }

    assert routing.route_for(**common).destination == routing.APPROVE
    unsure = routing.route_for(**common, document_type_sure=False)
    assert unsure.destination == routing.CLERKS
    assert unsure.explanation == "the kind of document is unsure"
    assert (
        review_reasons.reason_for(sure_fields, flag_below=0.9, type_unsure=True)
        == review_reasons.UNSURE_TYPE
    )
