"""A clerk uploads a receipt and watches it become ready, live, then reviews it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from tests.browser.conftest import LoginAs
from tests.conftest import RECEIPT, REPO

SCREENSHOT = Path("/tmp/vouch-review-page.png")
PEPPOL = REPO / "fixtures" / "einvoices" / "peppol-bis3-invoice.xml"
# PaddleOCR on one receipt takes seconds; the margin is for a busy machine.
PROCESSING_TIMEOUT_MS = 90_000

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def upload(page: Page, files: Path | dict[str, object]) -> None:
    page.goto("/documents/upload/")
    page.locator("#file-input").set_input_files(files)  # type: ignore[arg-type]


def test_upload_goes_live_to_ready_and_opens_for_review(
    login_as: LoginAs, clerk: User
) -> None:
    page = login_as(clerk)
    upload(page, RECEIPT)
    # Set once: if the page reloaded, the marker would be gone. Counting drops
    # catches a websocket that dies while the worker is busy.
    page.evaluate(
        """() => {
            window.__notReloaded = true;
            window.__socketDrops = 0;
            new MutationObserver(() => {
                const state = document.getElementById("live-indicator").dataset.state;
                if (state === "reconnecting") window.__socketDrops += 1;
            }).observe(document.getElementById("live-indicator"), {attributes: true});
        }"""
    )

    item = page.locator("#uploads li.upload").first
    expect(item.locator(".upload-name")).to_have_text(RECEIPT.name)
    expect(item.locator("progress")).to_be_visible()
    expect(item.locator("progress")).to_have_attribute("value", "100")
    expect(page.locator("#live-indicator")).to_have_attribute("data-state", "live")
    expect(item.locator(".status")).to_have_text(
        "Ready for review", timeout=PROCESSING_TIMEOUT_MS
    )
    assert page.evaluate("window.__notReloaded") is True
    assert page.evaluate("window.__socketDrops") == 0
    page.screenshot(path="/tmp/vouch-upload-page.png")

    item.get_by_role("link", name=RECEIPT.name).click()
    expect(page.locator("#field-total_amount-value")).to_have_text("33.90")
    expect(page.locator("#field-invoice_date-value")).to_have_text("2019-01-12")
    lines = page.locator("svg.overlay polygon.ocr-line")
    expect(lines.first).to_be_attached()
    assert lines.count() > 10

    highlight = page.locator("figure.page:not([hidden]) rect.field-box")
    expect(highlight).to_have_attribute("visibility", "hidden")
    page.locator("#field-total_amount").click()
    expect(page.locator("#field-total_amount")).to_have_class(
        re.compile(r"\bis-selected\b"), timeout=2_000
    )
    expect(highlight).to_have_attribute("visibility", "visible")
    assert float(highlight.get_attribute("width") or 0) > 0
    page.wait_for_timeout(400)  # the smooth scroll to the box, for the screenshot
    page.screenshot(path=str(SCREENSHOT), full_page=False)


def test_it_refuses_a_file_that_only_claims_to_be_a_pdf(
    login_as: LoginAs, clerk: User
) -> None:
    page = login_as(clerk)
    upload(
        page,
        {"name": "invoice.pdf", "mimeType": "application/pdf", "buffer": b"hello\n"},
    )

    item = page.locator("#uploads li.upload").first
    expect(item.locator(".status")).to_have_text("Not accepted")
    expect(item.locator(".upload-message")).to_contain_text(
        "invoice.pdf is not a file Vouch can read"
    )


def test_it_reports_the_same_receipt_uploaded_twice(
    login_as: LoginAs, clerk: User
) -> None:
    page = login_as(clerk)
    upload(page, RECEIPT)
    first_link = page.locator("#uploads li.upload").first.locator(".upload-name a")
    expect(first_link).to_be_visible()
    first_url = first_link.get_attribute("href") or ""

    page.locator("#file-input").set_input_files(RECEIPT)
    expect(page.locator("#uploads li.upload")).to_have_count(2)
    again = page.locator("#uploads li.upload").first
    expect(again.locator(".status")).to_have_text("Already uploaded")
    expect(again.locator(".upload-message")).to_contain_text(
        f"was already uploaded as {RECEIPT.name}"
    )
    expect(again.get_by_role("link", name="Open it")).to_have_attribute(
        "href", first_url
    )


def test_statuses_still_arrive_while_the_websocket_is_down(
    login_as: LoginAs, clerk: User
) -> None:
    page = login_as(clerk)
    # Every websocket the page opens is closed at once, as by a broken proxy.
    page.route_web_socket("**/ws/documents/", lambda socket: socket.close())
    upload(page, RECEIPT)

    expect(page.locator("#live-indicator")).to_have_attribute(
        "data-state", "reconnecting"
    )
    item = page.locator("#uploads li.upload").first
    expect(item.locator(".status")).to_have_text(
        "Ready for review", timeout=PROCESSING_TIMEOUT_MS
    )


def test_an_e_invoice_xml_with_a_1004_character_name_is_read_and_shown_as_a_page(
    login_as: LoginAs, clerk: User
) -> None:
    # The name alone once made the server refuse the whole upload ("upload
    # failed (400)"): a multipart part's headers may not exceed 1 KB.
    name = "a" * 1_000 + ".xml"
    page = login_as(clerk)
    upload(
        page,
        {
            "name": name,
            "mimeType": "application/xml",
            "buffer": PEPPOL.read_bytes(),
        },
    )

    item = page.locator("#uploads li.upload").first
    # Read from the XML without OCR; an unknown purchase order routes it to
    # supervisors.
    expect(item).to_have_attribute(
        "data-status", re.compile("ready|escalated"), timeout=PROCESSING_TIMEOUT_MS
    )
    expect(item.locator(".upload-message")).to_contain_text(
        "The name has 1,004 characters"
    )
    for width in (1440, 1024, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=f"/tmp/vouch-upload-long-name-{width}.png")

    # Shown by its start and extension, whole on hover.
    expect(item.locator(".upload-name")).to_have_attribute("title", name)
    expect(item.locator(".upload-name")).to_have_text(re.compile(r"^a{100,}….xml$"))
    page.set_viewport_size({"width": 1400, "height": 900})
    item.locator(".upload-name a").click()
    expect(page.locator("#field-invoice_number-value")).to_have_text("INV-2024-0815")
    expect(page.locator("#field-total_amount-value")).to_have_text("1576.75")
    expect(page.locator("figure.page img").first).to_be_visible()
    page.locator("#field-total_amount").click()
    highlight = page.locator("figure.page:not([hidden]) rect.field-box")
    expect(highlight).to_have_attribute("visibility", "visible")
    for width in (1440, 1024, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(300)
        page.screenshot(path=f"/tmp/vouch-review-xml-{width}.png")
