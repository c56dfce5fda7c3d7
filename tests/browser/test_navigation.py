"""Signing in and finding one's way at a desktop's, a laptop's and a phone's
width: each role lands on its own start page; the links of the top bar and
the queue tabs are spaced apart, all in the window; every page they lead to
fits the window and serves its favicon."""

from __future__ import annotations

import itertools
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Locator, expect

from reviewapp.roles import ADMIN, SUPERVISOR
from tests.browser.conftest import WIDTHS, LoginAs, assert_fits
from tests.conftest import make_document, make_user

pytestmark = [pytest.mark.browser, pytest.mark.integration]

# Less than this between two links' words and they read as one
# ("My queueExceptionsOverview").
MIN_GAP = 12

# Each link's words on screen (not its padded box): [left, right, top, bottom].
_WORD_BOXES = """(links) => links.map((link) => {
    const range = document.createRange();
    range.selectNodeContents(link);
    const box = range.getBoundingClientRect();
    return [box.left, box.right, box.top, box.bottom];
})"""


def assert_spaced_in_window(links: Locator, width: int) -> None:
    boxes = links.evaluate_all(_WORD_BOXES)
    assert len(boxes) > 1
    for left, right, _, _ in boxes:
        assert left >= 0 and right <= width, boxes
    for before, after in itertools.pairwise(boxes):
        same_row = after[2] < before[3]
        if same_row:
            assert after[0] - before[1] >= MIN_GAP, (before, after)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_clerk_lands_on_their_queue_and_a_supervisor_on_the_exceptions(
    login_as: LoginAs, clerk: User, width: int
) -> None:
    for user, path, title in (
        (clerk, "/queue/mine/", "My queue"),
        (make_user("supervisor", SUPERVISOR), "/queue/exceptions/", "Exceptions"),
    ):
        page = login_as(user)
        assert urlsplit(page.url).path == path
        expect(page.get_by_role("heading", level=1)).to_have_text(title)
        assert_fits(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_of_the_top_bar_is_spaced_fits_and_has_its_icon(
    login_as: LoginAs, roles: None, width: int
) -> None:
    """As an administrator, who has the most links."""
    document = make_document(name="invoice.pdf")
    page = login_as(make_user("admin", ADMIN))
    assert_spaced_in_window(page.locator(".queue-tabs a"), width)
    paths = page.locator(".mainnav a").evaluate_all(
        "(links) => links.map((link) => link.getAttribute('href'))"
    )
    for path in [*paths, f"/documents/{document.public_id}/"]:
        page.goto(path)
        assert_spaced_in_window(page.locator(".mainnav a"), width)
        assert_fits(page)
        icon = page.locator('link[rel="icon"]').get_attribute("href")
        assert icon, f"{path} names no favicon"
        served = page.request.get(icon)
        assert served.status == 200, (path, icon, served.status)
        assert served.headers["content-type"].startswith("image/"), path
