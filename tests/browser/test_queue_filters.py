"""A queue filtered by document type stays filtered while it updates live."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from reviewapp.models.documents import Document
from tests.browser.conftest import WIDTHS, LoginAs, assert_fits
from tests.conftest import make_document

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def typed_document(name: str, kind: str) -> Document:
    document = make_document(name=name)
    Document.objects.filter(pk=document.pk).update(document_type=kind)
    return document


def test_a_type_filtered_queue_gains_only_its_type_live(
    login_as: LoginAs, clerk: User, other_clerk: User
) -> None:
    receipt = typed_document("till-receipt.pdf", "receipt")
    invoice = typed_document("supplier-invoice.pdf", "invoice")
    receipt_row, invoice_row = (f"#doc-{doc.public_id}" for doc in (receipt, invoice))

    watcher = login_as(other_clerk)
    watcher.goto("/queue/mine/")
    watcher.locator("#type-counts").get_by_role("link", name="Receipt").click()
    watcher.wait_for_url("**/queue/mine/?document_type=receipt")
    expect(watcher.locator(receipt_row)).to_be_visible()
    expect(watcher.locator(invoice_row)).to_have_count(0)
    receipts = watcher.locator('#type-counts [data-document-type="receipt"]')
    expect(receipts).to_have_text("1")
    expect(watcher.locator('#type-counts [data-document-type="invoice"]')).to_have_text(
        "1"
    )
    expect(watcher.locator("#filter-type")).to_have_value("receipt")
    expect(watcher.locator("#live-indicator")).to_have_attribute("data-state", "live")
    watcher.evaluate("window.__notReloaded = true")

    # Both documents are claimed and released again by the other clerk.
    reviewer = login_as(clerk)
    for document in (receipt, invoice):
        reviewer.goto(f"/documents/{document.public_id}/")
        reviewer.get_by_role("button", name="Claim").click()
        expect(reviewer.locator("#claim-holder")).to_contain_text("claimed by you")
    expect(watcher.locator(receipt_row)).to_have_count(0)
    expect(receipts).to_have_text("0")
    for document in (invoice, receipt):
        reviewer.goto(f"/documents/{document.public_id}/")
        reviewer.keyboard.press("x")
        reviewer.wait_for_url("**/queue/mine/")

    # The receipt comes back; the invoice, released first, was never added.
    expect(watcher.locator(receipt_row)).to_be_visible()
    expect(receipts).to_have_text("1")
    expect(watcher.locator(invoice_row)).to_have_count(0)
    assert watcher.evaluate("window.__notReloaded") is True


@pytest.mark.parametrize("width", WIDTHS)
def test_the_filters_are_a_compact_bar_above_the_queue(
    login_as: LoginAs, clerk: User, width: int
) -> None:
    typed_document("till-receipt.pdf", "receipt")
    page = login_as(clerk)
    page.goto("/queue/mine/")
    # The sidebar it replaces pushed the table 650 px down the page.
    box = page.locator("#queue").bounding_box()
    assert box is not None
    print(f"queue table top at {width} px: {box['y']:.0f}")
    assert box["y"] < (360 if width > 600 else 600)
    assert_fits(page)
    expect(page.locator("#reason-counts li")).to_have_count(1)
