"""A clerk uploads a scanner batch of three invoices (five pages, one a terms
page Vouch is unsure of), checks the proposed split on its page at desktop,
laptop and phone widths, moves a boundary with the keyboard and back, and
confirms: three documents are read."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from reviewapp.demo.documents import demo_batch
from reviewapp.models.documents import Document
from tests.browser.conftest import WIDTHS, LoginAs, assert_fits

pytestmark = [pytest.mark.browser, pytest.mark.integration]

# PaddleOCR reads five pages; the margin is for a busy machine.
READ_TIMEOUT = 300.0
SCREENSHOTS = Path("/tmp")


def wait_until_held(name: str) -> Document:
    deadline = time.monotonic() + READ_TIMEOUT
    while time.monotonic() < deadline:
        document = Document.objects.filter(original_name=name).first()
        if document is not None and document.status not in ("queued", "processing"):
            return document
        time.sleep(1)
    raise AssertionError(f"{name} was not read in {READ_TIMEOUT:.0f} s")


def assert_thumbnails_loaded(page: Page) -> None:
    broken = page.evaluate(
        """() => Array.from(document.querySelectorAll('.split-thumb img'))
              .filter((img) => !img.complete || img.naturalWidth === 0).length"""
    )
    assert broken == 0


def test_a_batch_is_checked_corrected_by_keyboard_and_confirmed(
    login_as: LoginAs, clerk: User
) -> None:
    batch = demo_batch()
    page = login_as(clerk)
    page.goto("/documents/upload/")
    page.locator("#file-input").set_input_files(
        {"name": batch.name, "mimeType": "image/tiff", "buffer": batch.content}
    )
    held = wait_until_held(batch.name)
    assert held.status == Document.Status.SPLIT_TO_CONFIRM, held.failure_reason

    page.goto(f"/documents/{held.public_id}/")
    page.get_by_role("link", name="Check the split").click()
    expect(page.get_by_role("heading", name="Split into documents")).to_be_visible()
    pages = page.locator("#split-pages > li")
    expect(pages).to_have_count(5)
    starts = page.locator("#split-pages > li.is-start")
    expect(starts).to_have_count(3)
    # The terms page says nothing of whose it is: Vouch keeps it with the
    # invoice before it, and says it is unsure.
    terms = page.locator("#split-page-2")
    expect(terms).to_have_class(re.compile(r"\bis-unsure\b"))
    expect(terms.locator("[data-part-label]")).to_have_text("continues document 1")
    confirm = page.locator("#split-confirm")
    expect(confirm).to_have_text("Confirm 3 documents")

    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_load_state("networkidle")
        assert_fits(page)
        assert_thumbnails_loaded(page)
        page.screenshot(
            path=str(SCREENSHOTS / f"vouch-split-{width}.png"), full_page=True
        )
    page.set_viewport_size({"width": 1440, "height": 900})

    # Keyboard: on page 2, S splits there, M merges it back; arrows move.
    page.locator("#split-page-2 input[type=checkbox]").focus()
    page.keyboard.press("s")
    expect(confirm).to_have_text("Confirm 4 documents")
    expect(page.locator("#split-summary")).to_contain_text("Document 2: page 2")
    page.keyboard.press("m")
    expect(confirm).to_have_text("Confirm 3 documents")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#split-page-3 input[type=checkbox]")).to_be_focused()
    page.keyboard.press("Control+Enter")

    expect(page.locator(".message-success")).to_contain_text(
        "is split into 3 documents"
    )
    children = page.locator("#split-children li")
    expect(children).to_have_count(3)
    expect(page.locator("#split-form input[type=checkbox]")).to_have_count(0)
    page.screenshot(path=str(SCREENSHOTS / "vouch-split-confirmed.png"), full_page=True)
    held.refresh_from_db()
    assert held.status == Document.Status.SPLIT
    parts = list(held.split_parts.order_by("id"))
    assert [part.split_pages for part in parts] == [[1, 2], [3, 4], [5]]
