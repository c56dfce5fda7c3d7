"""Reviewing a read document: keyboard corrections persist; outsiders see nothing."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import FloatRect, Locator, Page, expect

from reviewapp.extraction_fields import FIELD_NAMES
from reviewapp.roles import SUPERVISOR
from tests.browser.conftest import (
    HEIGHT,
    PHONE_WIDTH,
    WIDTHS,
    LoginAs,
    assert_fits,
)
from tests.browser.test_upload_flow import PROCESSING_TIMEOUT_MS, RECEIPT, upload
from tests.conftest import make_document, make_user

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def ready_document(page: Page) -> str:
    """Upload the receipt, wait until it is read, and return its review URL."""
    upload(page, RECEIPT)
    item = page.locator("#uploads li.upload").first
    expect(item.locator(".status")).to_have_text(
        "Ready for review", timeout=PROCESSING_TIMEOUT_MS
    )
    return item.locator(".upload-name a").get_attribute("href") or ""


def test_the_page_reloads_itself_when_the_document_is_read(
    login_as: LoginAs, clerk: User
) -> None:
    page = login_as(clerk)
    upload(page, RECEIPT)
    link = page.locator("#uploads li.upload").first.locator(".upload-name a")
    # Straight to the review page, usually while the worker is still reading.
    page.goto(link.get_attribute("href") or "")
    expect(page.locator("#field-total_amount-value")).to_have_text(
        "33.90", timeout=PROCESSING_TIMEOUT_MS
    )
    expect(page.locator("#document-status")).to_have_text("Ready for review")
    expect(page.locator("#pending-notice")).to_have_count(0)


def test_a_keyboard_correction_persists(reviewing_receipt: Page) -> None:
    page = reviewing_receipt
    total = page.locator("#field-total_amount")
    expect(total.locator("[data-role=set-by]")).to_be_hidden()

    page.locator("#field-vendor_name").focus()
    # Down through the fields in the order the page lists them, to the total.
    steps = FIELD_NAMES.index("total_amount") - FIELD_NAMES.index("vendor_name")
    for _ in range(steps):
        page.keyboard.press("ArrowDown")
    expect(total).to_be_focused()

    # Esc abandons an edit...
    page.keyboard.press("Enter")
    expect(page.locator("#field-total_amount-input")).to_be_focused()
    page.keyboard.type("999.99")
    page.keyboard.press("Escape")
    expect(total).to_be_focused()
    expect(page.locator("#field-total_amount-value")).to_have_text("33.90")

    # ...Enter saves one.
    page.keyboard.press("Enter")
    page.keyboard.type("34.00")
    page.keyboard.press("Enter")
    expect(total.locator("[data-role=set-by]")).to_be_visible()
    expect(page.locator("#field-total_amount-value")).to_have_text("34.00")
    expect(total).to_be_focused()

    page.reload()
    expect(page.locator("#field-total_amount-value")).to_have_text("34.00")
    expect(total.locator("[data-role=set-by]")).to_have_text("Set by person")
    expect(total.locator("[data-role=set-by]")).to_be_visible()


def test_it_hides_the_document_from_a_user_without_a_role(
    login_as: LoginAs, clerk: User
) -> None:
    url = ready_document(login_as(clerk))

    outsider = login_as(make_user("outsider", None))
    response = outsider.goto(url)
    assert response is not None
    assert response.status == 404
    image = outsider.request.get(url + "pages/1/image/")
    assert image.status == 404


def test_the_checks_follow_a_correction_without_reloading(
    reviewing_receipt: Page,
) -> None:
    page = reviewing_receipt
    checks = page.locator("#validation-issues")
    # The receipt is from 2019; a receipt's shop need not be on the vendor
    # master, so that is its only failing check.
    expect(checks.locator("[data-code=invoice_date_too_old]")).to_have_count(1)
    expect(checks.locator("[data-code=vendor_unknown]")).to_have_count(0)
    date_issues = page.locator("#field-invoice_date [data-role=issues]")
    expect(date_issues).to_contain_text("check for a misread year")

    page.locator("#field-invoice_date").focus()
    page.keyboard.press("Enter")
    recent = (date.today() - timedelta(days=3)).isoformat()
    page.locator("#field-invoice_date-input").fill(recent)
    page.keyboard.press("Enter")
    expect(page.locator("#field-invoice_date-value")).to_have_text(recent)
    expect(checks.locator("[data-code=invoice_date_too_old]")).to_have_count(0)
    expect(checks).to_contain_text("All checks passed.")
    expect(date_issues).to_be_hidden()
    expect(page.locator("#field-invoice_date")).not_to_have_class(
        re.compile(r"has-issues")
    )


def box_of(locator: Locator) -> FloatRect:
    box = locator.bounding_box()
    assert box is not None, f"{locator} is not shown"
    return box


@pytest.mark.parametrize("width", WIDTHS)
def test_the_page_image_stays_in_view_beside_the_fields(
    reviewing_receipt: Page, width: int
) -> None:
    page = reviewing_receipt
    expect(page.locator("figure.page img").first).to_be_visible()
    assert_fits(page)
    viewer, fields = page.locator(".viewer"), page.locator(".fields-panel")
    viewer_before, fields_before = box_of(viewer), box_of(fields)

    # Down the field list, as a clerk reading the fields does.
    scrolled = 600
    page.evaluate(f"window.scrollTo(0, {scrolled})")
    page.wait_for_function(f"window.scrollY === {scrolled}")
    viewer_after, fields_after = box_of(viewer), box_of(fields)
    assert fields_after["y"] == pytest.approx(fields_before["y"] - scrolled, abs=1)
    if width <= PHONE_WIDTH:
        # Stacked: the page image first, the fields under it, each as wide
        # as the window allows; both scroll with the page.
        assert fields_before["y"] >= viewer_before["y"] + viewer_before["height"]
        for part in (viewer_before, fields_before):
            assert part["width"] >= width - 60
        assert box_of(page.locator("#viewport"))["height"] >= 320
        assert viewer_after["y"] == pytest.approx(viewer_before["y"] - scrolled, abs=1)
        return
    # Side by side, tops aligned...
    assert viewer_before["x"] + viewer_before["width"] <= fields_before["x"]
    assert viewer_before["y"] == pytest.approx(fields_before["y"], abs=1)
    # ...and while the fields scroll, the image stays, filling the window
    # from under the bar to its bottom edge.
    bar = box_of(page.locator(".topbar"))
    bar_bottom = bar["y"] + bar["height"]
    assert bar_bottom <= viewer_after["y"] <= bar_bottom + 24
    assert HEIGHT - 24 <= viewer_after["y"] + viewer_after["height"] <= HEIGHT


# Whether the viewer shows a field's box whole, computed from the page image
# on screen (the highlight itself is hidden until the field is selected).
_BOX_IN_VIEWER = """(field) => {
    const figure = document.querySelector("figure.page:not([hidden])");
    const canvas = figure.querySelector(".page-canvas").getBoundingClientRect();
    const scale = canvas.width / Number(figure.dataset.width);
    const [x0, y0, x1, y1] = field.dataset.box.split(",").map(Number);
    const box = {left: canvas.left + x0 * scale, top: canvas.top + y0 * scale,
                 right: canvas.left + x1 * scale, bottom: canvas.top + y1 * scale};
    const shown = document.getElementById("viewport").getBoundingClientRect();
    return box.top >= shown.top && box.bottom <= shown.bottom
        && box.left >= shown.left && box.right <= shown.right;
}"""


@pytest.mark.parametrize("width", WIDTHS)
def test_selecting_a_field_scrolls_its_box_into_the_viewer(
    reviewing_receipt: Page, width: int
) -> None:
    page = reviewing_receipt
    # The page image taller than the viewer (and its boxes narrower), its
    # top in view.
    page.locator("[data-action=zoom-in]").click()
    page.locator("#viewport").evaluate("(viewport) => viewport.scrollTo(0, 0)")
    # The field read lowest on the page: out of view until selected.
    lowest = page.locator("li.field[data-box]").evaluate_all(
        """(fields) => fields.sort((a, b) =>
            Number(b.dataset.box.split(",")[3]) - Number(a.dataset.box.split(",")[3])
        )[0].id"""
    )
    field = page.locator(f"#{lowest}")
    assert not field.evaluate(_BOX_IN_VIEWER)

    field.click()
    expect(page.locator("figure.page:not([hidden]) rect.field-box")).to_have_attribute(
        "visibility", "visible"
    )
    page.wait_for_function(_BOX_IN_VIEWER, arg=field.element_handle())


@pytest.mark.parametrize("width", WIDTHS)
def test_a_supervisor_s_reason_for_the_original_opens_within_the_window(
    login_as: LoginAs, roles: None, width: int
) -> None:
    document = make_document(name="invoice-with-iban.pdf")
    page = login_as(make_user("supervisor", SUPERVISOR))
    page.goto(f"/documents/{document.public_id}/")
    page.locator("#download-original summary").click()
    reason = page.get_by_label("Why do you need the original")
    expect(reason).to_be_visible()
    assert_fits(page)
    reason.fill("The vendor disputes the amount")
    expect(page.get_by_role("button", name="Download original")).to_be_visible()
