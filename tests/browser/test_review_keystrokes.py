"""A keyboard review of the demo is short: a clerk confirms the receipt's
flagged fields and approves it without the mouse in at most 8 keystrokes; `y`
says what it did where the clerk can see it. The count for each demo document
a person reviews is printed for the report."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from reviewapp import roles
from reviewapp.models.documents import Document
from tests.browser.conftest import LoginAs

pytestmark = [pytest.mark.browser, pytest.mark.integration]
MAX_KEYSTROKES = 8


def keyboard_review(page: Page, document: Document) -> int:
    """Open the document, confirm every flagged field and approve, from the
    keyboard only; the number of keys pressed."""
    page.goto(f"/documents/{document.public_id}/")
    flagged = page.locator("li.field[data-flagged=true]").count()
    keys = 0

    def press(key: str) -> None:
        nonlocal keys
        page.keyboard.press(key)
        keys += 1

    if flagged:
        press("n")
        for _ in range(flagged):
            # `y` moves on to the next flagged field: note which one it confirms.
            field = page.locator("#" + page.evaluate("document.activeElement.id"))
            press("y")
            expect(field.locator("[data-role=note]")).to_be_visible()
    approve = page.locator('form[data-shortcut="a"] button')
    expect(approve).to_be_visible()
    press("a")
    page.wait_for_url(lambda url: str(document.public_id) not in url)
    return keys


def test_the_demo_receipt_takes_at_most_8_keystrokes(
    demo: list[Document], login_as: LoginAs
) -> None:
    receipt = next(d for d in demo if d.original_name == "kedai-receipt.jpg")
    page = login_as(User.objects.get(username=roles.CLERK))
    page.set_viewport_size({"width": 1440, "height": 900})
    keys = keyboard_review(page, receipt)
    receipt.refresh_from_db()
    assert receipt.status == Document.Status.APPROVED
    print(f"keystrokes: {receipt.original_name}: {keys}")
    assert keys <= MAX_KEYSTROKES


def test_y_says_an_absent_optional_field_is_not_on_the_document(
    demo: list[Document], login_as: LoginAs
) -> None:
    receipt = next(d for d in demo if d.original_name == "kedai-receipt.jpg")
    page = login_as(User.objects.get(username=roles.CLERK))
    for width in (1440, 1024, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"/documents/{receipt.public_id}/")
        # A receipt lists no IBAN, BIC, PO number or due date.
        for name in ("iban", "bic", "po_number", "due_date"):
            expect(page.locator(f"#field-{name}")).to_have_count(0)
    field = page.locator("#field-vendor_vat_id")
    field.focus()
    page.keyboard.press("y")
    note = field.locator("[data-role=note]")
    expect(note).to_be_visible()
    expect(note).to_have_text("Vendor VAT id marked not on this document.")
    expect(field.locator("[data-role=value]")).to_have_text("Not on this document")
