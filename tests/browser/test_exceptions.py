"""A supervisor settles exceptions from the review page at every width: a
duplicate beside the earlier document (differences marked, one click to open
it), a PO mismatch as a table whose offending figures are marked."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from reviewapp.roles import SUPERVISOR
from tests.browser.conftest import WIDTHS, LoginAs, assert_fits
from tests.conftest import make_user
from tests.reviewapp.test_exceptions import flag_duplicate, harbor_mismatch, invoice

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.mark.parametrize("width", WIDTHS)
def test_a_duplicate_shows_its_original_beside_it_and_links_to_it(
    login_as: LoginAs, roles: None, width: int
) -> None:
    original = invoice("first.pdf", "1190.00")
    again = invoice("again.jpg", "1190.50")
    flag_duplicate(again, of=original)
    supervisor: User = make_user("supervisor", SUPERVISOR)

    page = login_as(supervisor)
    page.goto(f"/documents/{again.public_id}/")
    section = page.locator("#duplicate")
    expect(section).to_contain_text("1 value differs")
    different = section.locator("tr.is-different")
    expect(different).to_have_count(1)
    expect(different).to_contain_text("1190.50")
    expect(different).to_contain_text("1190.00")
    assert_fits(page)

    section.get_by_role("link", name="first.pdf").click()
    page.wait_for_url(f"**/documents/{original.public_id}/")


@pytest.mark.parametrize("width", WIDTHS)
def test_a_po_mismatch_marks_the_figures_that_break_the_order(
    login_as: LoginAs, roles: None, width: int
) -> None:
    document = harbor_mismatch()
    page = login_as(make_user("supervisor", SUPERVISOR))
    page.goto(f"/documents/{document.public_id}/")
    table = page.locator("#po-match table")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table.locator("td.is-off")).to_have_count(2)
    expect(table.locator("td.is-off").first).to_contain_text("10")
    # A narrow screen scrolls the table, not the page.
    assert_fits(page)
