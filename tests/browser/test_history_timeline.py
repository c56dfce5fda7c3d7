"""The review page's history in the browser: visits collapse and open, a clerk
reads sentences with sensitive values masked, and only an auditor finds the
job ids and hashes, behind a toggle. At 1440, 1024 and 390 px it fits."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from reviewapp.audit.trail import record_event
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document
from reviewapp.roles import ADMIN
from tests.browser.conftest import WIDTHS, LoginAs, assert_fits
from tests.conftest import make_document, make_user

pytestmark = [pytest.mark.browser, pytest.mark.integration]

EventType = AuditEvent.EventType
JOB_ID = "job-5d2c41"
IBAN = "DE89370400440532013000"


@pytest.fixture
def reviewed(clerk: User) -> Document:
    """A document read by the machine, then corrected by the clerk (the IBAN
    among others)."""
    document = make_document(uploaded_by=clerk, name="acme.pdf")
    record_event(
        EventType.DOCUMENT_INGESTED, actor=clerk, document=document,
        details={"channel": "upload", "original_name": "acme.pdf",
                 "sha256": document.sha256, "size_bytes": 48_000},
    )  # fmt: skip
    for event_type in (EventType.JOB_STARTED, EventType.JOB_FINISHED):
        record_event(
            event_type, document=document,
            details={"attempt": 1, "job_id": JOB_ID, "pages": 1},
        )  # fmt: skip
    record_event(EventType.DOCUMENT_CLAIMED, actor=clerk, document=document)
    record_event(
        EventType.FIELD_CHANGED, actor=clerk, document=document,
        details={"field": "total_amount", "old_value": "12.50",
                 "new_value": "12.60", "reason": "the till roll says so"},
    )  # fmt: skip
    record_event(
        EventType.FIELD_CHANGED, actor=clerk, document=document,
        details={"field": "iban"}, sensitive={"new_value": IBAN},
    )  # fmt: skip
    return document


def open_history(page: Page, document: Document) -> None:
    page.goto(f"/documents/{document.public_id}/#history")


@pytest.mark.parametrize("width", WIDTHS)
def test_a_clerk_reads_the_history_as_sentences_visit_by_visit(
    login_as: LoginAs, clerk: User, reviewed: Document, width: int
) -> None:
    page = login_as(clerk)
    open_history(page, reviewed)
    history = page.locator("#history")
    visit = history.locator("details.timeline-group")
    # One visit of several events (the clerk's review), open as the latest.
    expect(visit).to_have_count(1)
    expect(visit).to_have_attribute("open", "")
    expect(visit.locator("summary")).to_contain_text(
        "clerk started reviewing it and 2 more"
    )
    correction = history.get_by_text("clerk corrected Total from")
    expect(correction).to_contain_text("from 12.50 to 12.60")
    expect(history.get_by_text("the till roll says so")).to_be_visible()
    expect(history.get_by_text("clerk filled in IBAN")).to_contain_text("DE")
    expect(history.get_by_text("Read by the machine in")).to_be_visible()

    visit.locator("summary").click()
    expect(correction).to_be_hidden()

    html = history.inner_html()
    for technical in (JOB_ID, reviewed.sha256, IBAN, "Technical detail"):
        assert technical not in html
    assert_fits(page)


def test_an_auditor_opens_the_technical_detail_of_an_event(
    login_as: LoginAs, roles: None, reviewed: Document
) -> None:
    page = login_as(make_user("auditor", ADMIN))
    open_history(page, reviewed)
    reading = page.locator(".timeline-single", has_text="Read by the machine")
    detail = reading.locator("details.timeline-technical")
    expect(detail.get_by_text(JOB_ID)).to_be_hidden()
    detail.locator("summary").click()
    expect(detail.get_by_text(JOB_ID)).to_be_visible()
    # Sensitive values stay masked there too; the reveal form is the way.
    assert IBAN not in page.locator("#history").inner_html()
    expect(page.get_by_text("Reveal the new value…")).to_be_visible()
