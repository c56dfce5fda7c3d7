"""The line-item grid in a real browser: a clerk fixes a misread line amount
from the keyboard and the row's quantity x price check clears."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from reviewapp.models.documents import Document
from reviewapp.models.fields import LineItem
from reviewapp.services.validation import document_validate
from tests.browser.conftest import LoginAs
from tests.conftest import make_document, make_line_item

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def invoice_with_a_misread_line(clerk: User) -> Document:
    document = make_document(
        uploaded_by=clerk,
        fields={"subtotal_amount": ("1509.00", 0.99), "currency": ("EUR", 0.99)},
    )
    make_line_item(
        document,
        1,
        "Whiteboard Pen",
        quantity="15",
        unit_price="100",
        amount="1500",
        confidence=0.95,
    )
    make_line_item(
        document,
        2,
        "Screw",
        quantity="45",
        unit_price="0.20",
        amount="90.00",  # the reader dropped the decimal point
        confidence=0.4,
        machine_confidence=0.4,
    )
    document_validate(document=document)
    return document


def test_a_clerk_fixes_a_line_amount_from_the_keyboard(
    login_as: LoginAs, clerk: User
) -> None:
    document = invoice_with_a_misread_line(clerk)
    page = login_as(clerk)
    page.goto(f"/documents/{document.public_id}/")
    grid = page.locator("#line-items")
    screw = grid.locator("tr.line-row").nth(1)
    expect(screw).to_have_class(re.compile(r"\bhas-warning\b"))
    expect(screw.locator("[data-role=check]")).to_contain_text("= 9.00, not 90.00")
    expect(page.locator("#validation-issues")).to_contain_text("Line 2 (Screw)")

    # From the description, Tab across item code, quantity and price to the amount.
    grid.get_by_label("Line 2 description").focus()
    for _ in range(4):
        page.keyboard.press("Tab")
    amount = grid.get_by_label("Line 2 amount")
    expect(amount).to_be_focused()
    page.keyboard.press("Control+a")
    page.keyboard.type("9.00")
    # The check follows the typing before anything is saved...
    expect(screw.locator("[data-role=check]")).to_have_text("✓")
    page.keyboard.press("Enter")

    # ...and the saved grid and the checks come back without the warning.
    screw = page.locator("#line-items tr.line-row").nth(1)
    expect(screw).not_to_have_class(re.compile(r"\bhas-warning\b"))
    expect(screw).to_have_class(re.compile(r"\bis-human\b"))
    expect(page.locator("#validation-issues")).not_to_contain_text("Line 2 (Screw)")
    expect(page.locator("#line-items").get_by_label("Line 2 amount")).to_be_focused()
    expect(page.locator("#line-items [data-role=sum]")).to_contain_text("matches")

    page.reload()
    expect(page.locator("#line-items").get_by_label("Line 2 amount")).to_have_value(
        "9.00"
    )
    assert LineItem.objects.get(document=document, position=2).amount == Decimal(9)
