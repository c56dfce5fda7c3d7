"""On a phone, a clerk photographs a two-page document: the dark page is
flagged at once with its advice, retaken, and both pages go as one document."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from reviewapp.models.documents import Document
from tests.browser.conftest import LoginAs
from tests.conftest import RECEIPT, text_image
from tests.reviewapp.test_capture_quality import TOO_DARK, dark_receipt

pytestmark = [pytest.mark.browser, pytest.mark.integration]

PHONE = {"width": 390, "height": 844}


def jpeg(name: str, content: bytes) -> dict[str, object]:
    return {"name": name, "mimeType": "image/jpeg", "buffer": content}


def test_a_dark_page_is_flagged_retaken_and_sent_with_the_rest(
    login_as: LoginAs, clerk: User
) -> None:
    page = login_as(clerk)
    page.set_viewport_size(PHONE)
    page.goto("/capture/")
    take = page.locator("#capture-input")
    assert take.get_attribute("capture") == "environment"
    assert take.get_attribute("accept") == "image/*"
    pages = page.locator("#capture-pages > li")

    take.set_input_files(jpeg("IMG_0001.jpg", RECEIPT.read_bytes()))  # type: ignore[arg-type]
    expect(pages.nth(0).locator(".capture-verdict")).to_have_text(
        "Should read · quality 100"
    )
    take.set_input_files(jpeg("IMG_0002.jpg", dark_receipt()))  # type: ignore[arg-type]
    second = pages.nth(1)
    expect(second.locator(".capture-verdict")).to_contain_text("May not read")
    expect(second.locator(".capture-advice")).to_contain_text(TOO_DARK)
    expect(page.locator("#capture-summary")).to_contain_text("1 page may not read")
    expect(page.locator("#capture-take-label")).to_have_text("Take a photo of page 3")
    page.screenshot(path="/tmp/vouch-capture-phone.png", full_page=True)

    # Retaken in better light: the page keeps its place.
    retake = text_image(["Page two", "Total 12,50"], size=(600, 800), fmt="JPEG")
    with page.expect_file_chooser() as chooser:
        second.get_by_role("button", name="Retake").click()
    chooser.value.set_files(jpeg("IMG_0003.jpg", retake))  # type: ignore[arg-type]
    expect(second.locator(".capture-verdict")).to_contain_text("Should read")
    expect(pages).to_have_count(2)
    expect(page.locator("#capture-summary")).to_have_text("Every page should read.")

    page.get_by_role("button", name="Send 2 pages").click()
    result = page.locator("#capture-result")
    expect(result).to_contain_text("Sent: IMG_0001 (2 pages).tif is being read.")
    expect(pages).to_have_count(0)
    document = Document.objects.get(original_name="IMG_0001 (2 pages).tif")
    assert document.uploaded_by == clerk
    assert document.status != Document.Status.NEEDS_NEW_COPY
    result.get_by_role("link", name="Open it").click()
    page.wait_for_url(f"**/documents/{document.public_id}/")
