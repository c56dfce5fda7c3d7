"""A document's history as a timeline people read: plain sentences grouped by
who acted, sensitive values masked, job ids and hashes for auditors only."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from reviewapp.audit.trail import record_event
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document
from reviewapp.selectors.history import (
    DECISION,
    EDIT,
    MACHINE,
    TimelineEntry,
    TimelineGroup,
    document_timeline,
)
from reviewapp.selectors.review_page import unconfirmed_flagged_fields
from reviewapp.services.fields import field_confirm, field_correct
from reviewapp.services.review import document_approve, document_claim
from tests.conftest import logged_in, make_document, processed_upload

pytestmark = pytest.mark.django_db

IBAN = "DE89370400440532013000"
MASK = "DE****************3000"
EventType = AuditEvent.EventType


def entries(groups: list[TimelineGroup]) -> list[TimelineEntry]:
    return [entry for group in groups for entry in group.entries]


def all_text(groups: list[TimelineGroup]) -> str:
    return "\n".join(
        " ".join(
            [entry.text, entry.old_value, entry.new_value, entry.why]
            + [value for pair in entry.technical for value in pair]
        )
        for entry in entries(groups)
    )


@pytest.fixture
def read(clerk: User, media_root: Path, invoice_png: bytes) -> Document:
    """An uploaded invoice the machine has read."""
    return processed_upload(invoice_png, name="acme.png", uploaded_by=clerk)


def test_reading_is_one_sentence_that_says_how_long_it_took(read: Document) -> None:
    upload, reading = document_timeline(document=read)[:2]
    assert upload.actor == "clerk"
    assert upload.entries[0].text.startswith("clerk uploaded acme.png (")
    assert reading.actor == "Vouch"
    first = reading.entries[0]
    assert first.kind == MACHINE
    assert first.text.startswith("Read by the machine in ")
    assert " s, 1 page" in first.text
    # The start of a finished attempt is folded into its end.
    assert not any(e.text.startswith("Reading started") for e in reading.entries)


def test_a_correction_says_who_changed_what_from_what_to_what_and_why(
    clerk: User, read: Document
) -> None:
    before = read.fields.get(name="total_amount").value
    field_correct(
        document=read, name="total_amount", value="99.00", user=clerk,
        reason="credit note applied",
    )  # fmt: skip
    last = document_timeline(document=read)[-1]
    assert last.actor == "clerk" and last.role == "clerk"
    correction = last.entries[-1]
    assert correction.kind == EDIT
    assert correction.text == "clerk corrected Total"
    assert (correction.old_value, correction.new_value) == (before, "99.00")
    assert correction.why == "credit note applied"


def test_a_sensitive_value_is_masked_and_may_be_revealed(
    clerk: User, read: Document
) -> None:
    field_correct(document=read, name="iban", value=IBAN, user=clerk)
    timeline = document_timeline(document=read, technical=True)
    change = entries(timeline)[-1]
    assert change.text == "clerk filled in IBAN"
    assert change.new_value == MASK
    assert change.reveals == (("new_value", "new value"),)
    assert IBAN not in all_text(timeline)


def test_confirmations_and_the_approval_read_as_sentences(
    clerk: User, media_root: Path
) -> None:
    document = make_document(
        fields={
            "vendor_name": ("ACME GmbH", 0.99),
            "invoice_date": ("2024-03-01", 0.4),
            "total_amount": ("120.50", 0.99),
        }
    )
    document_claim(document=document, user=clerk)
    field_confirm(document=document, name="invoice_date", user=clerk)
    field_confirm(document=document, name="due_date", user=clerk)
    for name, _ in unconfirmed_flagged_fields(document.pk):
        field_confirm(document=document, name=name, user=clerk)
    document_approve(document=document, user=clerk)
    [visit] = document_timeline(document=document)
    texts = [entry.text for entry in visit.entries]
    assert texts[:3] == [
        "clerk started reviewing it",
        "clerk confirmed Date as read",
        "clerk confirmed Due date is not on this document",
    ]
    assert texts[-1] == "clerk approved" and visit.entries[-1].kind == DECISION
    # The group's one line says what the visit came to.
    assert visit.headline == "clerk approved" and visit.more == len(texts) - 1
    assert visit.is_open


def test_a_run_of_confirmations_reads_as_one_sentence(
    clerk: User, media_root: Path
) -> None:
    document = make_document(fields={"vendor_name": ("ACME GmbH", 0.5)})
    document_claim(document=document, user=clerk)
    for name in ("vendor_name", "due_date", "po_number", "customer_name"):
        field_confirm(document=document, name=name, user=clerk)
    [visit] = document_timeline(document=document, technical=True)
    assert [entry.text for entry in visit.entries] == [
        "clerk started reviewing it",
        "clerk confirmed Vendor as read",
        "clerk confirmed Due date, PO number and Customer are not on this document",
    ]
    # An auditor still finds each event behind the one sentence.
    events = [value for label, value in visit.entries[-1].technical if label == "Event"]
    assert len(events) == 3


def test_events_group_by_who_acted_and_only_the_latest_group_is_open(
    clerk: User, supervisor: User, read: Document
) -> None:
    field_correct(document=read, name="total_amount", value="99.00", user=clerk)
    record_event(EventType.DOCUMENT_REJECTED, actor=supervisor, document=read,
                 details={"note": "not ours"})  # fmt: skip
    timeline = document_timeline(document=read)
    assert [group.actor for group in timeline] == [
        "clerk", "Vouch", "clerk", "supervisor"
    ]  # fmt: skip
    assert [group.is_open for group in timeline] == [False, False, False, True]


def test_job_ids_and_hashes_are_only_in_the_technical_detail(read: Document) -> None:
    job_id = "job-7f3a"
    record_event(
        EventType.JOB_FINISHED, document=read,
        details={"attempt": 2, "job_id": job_id, "pages": 3,
                 "field_confidence": {"total_amount": 0.91}},
    )  # fmt: skip
    plain = all_text(document_timeline(document=read))
    for technical in (read.sha256, job_id, "field_confidence", "total_amount"):
        assert technical not in plain
    assert "Read by the machine, 3 pages (attempt 2)" in plain

    audited = all_text(document_timeline(document=read, technical=True))
    assert read.sha256 in audited and job_id in audited


@pytest.mark.parametrize(
    ("event_type", "details", "text", "why"),
    [
        (
            EventType.DOCUMENT_ESCALATED,
            {"reason": "duplicate", "note": "Same number as INV-1", "by_routing": True},
            "Sent to the supervisors: Looks like a duplicate",
            "Same number as INV-1",
        ),
        (
            EventType.DOCUMENT_APPROVED,
            {"straight_through": True, "why": "every field sure"},
            "Approved automatically",
            "every field sure",
        ),
        (
            EventType.BANK_DETAILS_ATTESTED,
            {"how": "Phone call to the number on file", "vendor_contact": "Mme Duval",
             "verified_at": "2026-12-01T10:30:00+00:00", "note": ""},
            "Vouch attested the new bank details: verified by phone call to the "
            "number on file with Mme Duval on 2026-12-01 10:30",
            "",
        ),
        (
            EventType.LINE_ITEMS_CHANGED,
            {"action": "add", "position": 3, "old_value": [], "reason": "",
             "new_value": [{"description": "Toner", "quantity": "2",
                            "unit_price": "45.00", "amount": "90.00"}]},
            "Vouch added line 3",
            "",
        ),
    ],
)  # fmt: skip
def test_each_kind_of_event_is_a_plain_sentence(
    event_type: str, details: dict[str, object], text: str, why: str
) -> None:
    document = make_document()
    record_event(event_type, document=document, details=details)
    [entry] = entries(document_timeline(document=document))
    assert (entry.text, entry.why) == (text, why)


def test_an_added_line_shows_what_was_added() -> None:
    document = make_document()
    record_event(
        EventType.LINE_ITEMS_CHANGED, document=document,
        details={"action": "add", "position": 1, "old_value": [], "reason": "",
                 "new_value": [{"description": "Toner", "quantity": "2",
                                "unit_price": "45.00", "amount": "90.00"}]},
    )  # fmt: skip
    [entry] = entries(document_timeline(document=document))
    assert (entry.old_value, entry.new_value) == ("", "Toner 2 × 45.00 = 90.00")


def test_the_page_shows_a_clerk_no_technical_detail(
    clerk: User, admin_user: User, read: Document
) -> None:
    url = reverse("document-detail", args=[read.public_id])
    history = history_html(logged_in(clerk).get(url).content.decode())
    assert '<ol class="timeline">' in history
    assert "Read by the machine in" in history
    assert read.sha256 not in history and "Technical detail" not in history
    assert "Processing started" not in history

    audited = history_html(logged_in(admin_user).get(url).content.decode())
    assert "Technical detail" in audited and read.sha256 in audited


def history_html(html: str) -> str:
    start = html.index('id="history"')
    return html[start : html.index("</section>", start)]
