"""The audit trail in the real stack: a correction shows in the document's
history, and an administrator downloads the log through daphne."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from reviewapp.roles import ADMIN
from tests.browser.conftest import LoginAs
from tests.browser.test_review_page import ready_document
from tests.conftest import make_user

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_a_correction_appears_in_the_history_and_in_the_export(
    login_as: LoginAs, clerk: User
) -> None:
    page = login_as(clerk)
    page.goto(ready_document(page))
    history = page.locator("#history")
    expect(history).to_contain_text("clerk uploaded")
    expect(history).to_contain_text("Read by the machine in")

    page.locator("#field-total_amount").focus()
    page.keyboard.press("Enter")
    # Typed only once the editor has the focus (and its text selected).
    expect(page.locator("#field-total_amount-input")).to_be_focused()
    page.keyboard.type("34.00")
    page.keyboard.press("Enter")
    expect(page.locator("#field-total_amount-value")).to_have_text("34.00")
    page.reload()
    change = history.locator(".is-edit", has_text="clerk corrected Total")
    expect(change).to_contain_text("33.90")
    expect(change).to_contain_text("34.00")

    admin = login_as(make_user("admin", ADMIN))
    admin.get_by_role("link", name="Audit log").click()
    admin.get_by_label("Format").select_option("jsonl")
    admin.get_by_label("Event type").select_option("field_changed")
    with admin.expect_download() as download_info:
        admin.get_by_role("button", name="Download").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".jsonl")
    path = download.path()
    [row] = [json.loads(line) for line in path.read_text().splitlines()]
    assert row["actor_username"] == "clerk"
    assert row["details"]["old_value"] == "33.90"
    assert row["details"]["new_value"] == "34.00"
