"""A keyboard review of the demo is short: a clerk confirms the receipt's
flagged fields and approves it without the mouse in at most 8 keystrokes, at a
desktop's and a laptop's width; `y` says what it did where the clerk can see
it. The count for each demo document a person reviews is printed for the
report (`-s`). A phone has no keyboard: at 390 px the Confirm and Approve
buttons are tapped (test_review_workflow)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from reviewapp import roles
from reviewapp.models.documents import Document
from reviewapp.selectors.review_page import approval_refusal
from tests.browser.conftest import PHONE_WIDTH, WIDTHS, LoginAs

pytestmark = [pytest.mark.browser, pytest.mark.integration]
MAX_KEYSTROKES = 8
RECEIPT = "kedai-receipt.jpg"
KEYBOARD_WIDTHS = tuple(width for width in WIDTHS if width > PHONE_WIDTH)
# Who reviews a demo document that waits for a person: the clerks' queue holds
# the ready ones, the supervisors' exceptions the escalated ones.
REVIEWER = {
    Document.Status.READY: roles.CLERK,
    Document.Status.ESCALATED: roles.SUPERVISOR,
}


@dataclass(frozen=True)
class KeyboardReview:
    keys: int
    # Why the reviewer could not approve once the flags were confirmed ("" if
    # they approved): the rules reserve it to someone else.
    refused: str = ""


def keyboard_review(page: Page, document: Document, user: User) -> KeyboardReview:
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
            expect(field).to_be_in_viewport()
            press("y")
            expect(field.locator("[data-role=note]")).to_be_visible()
    # Asked of the rules, not of the buttons: the actions are fetched again
    # after each `y`, and until then the page still shows the old refusal.
    refused = approval_refusal(
        document.pk, user, escalated=document.status == Document.Status.ESCALATED
    )
    if refused:
        return KeyboardReview(keys, refused)
    approve = page.locator('form[data-shortcut="a"] button')
    expect(approve).to_be_visible()
    press("a")
    page.wait_for_url(lambda url: str(document.public_id) not in url)
    return KeyboardReview(keys)


@pytest.mark.parametrize("width", KEYBOARD_WIDTHS)
def test_the_demo_receipt_takes_at_most_8_keystrokes(
    demo: list[Document], login_as: LoginAs, width: int
) -> None:
    reviewers = {role: User.objects.get(username=role) for role in REVIEWER.values()}
    pages = {role: login_as(user) for role, user in reviewers.items()}
    counts: dict[str, KeyboardReview] = {}
    for document in demo:
        role = REVIEWER.get(document.status)
        if role is None:
            print(
                f"keystrokes at {width} px: {document.original_name}: none, "
                f"{document.get_status_display().lower()} without a review"
            )
            continue
        review = keyboard_review(pages[role], document, reviewers[role])
        counts[document.original_name] = review
        outcome = f"not approved: {review.refused}" if review.refused else "approved"
        print(
            f"keystrokes at {width} px: {document.original_name}: {review.keys} "
            f"({role}, {outcome})"
        )
    receipt = next(d for d in demo if d.original_name == RECEIPT)
    receipt.refresh_from_db()
    assert receipt.status == Document.Status.APPROVED
    assert counts[RECEIPT].keys <= MAX_KEYSTROKES


def test_y_says_an_absent_optional_field_is_not_on_the_document(
    demo: list[Document], login_as: LoginAs
) -> None:
    receipt = next(d for d in demo if d.original_name == RECEIPT)
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
