"""Filling a field from the page image: click a line, draw a box; the correction
keeps the box and the OCR text as training data."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from reviewapp.models.fields import Field
from reviewapp.models.learning import FieldCorrection
from tests.browser.conftest import WIDTHS

pytestmark = [pytest.mark.browser, pytest.mark.integration]

# The receipt's number ("T4 R000027830" on the till line): whatever the OCR
# makes of the spacing, the line holding it contains this.
NUMBER_PART = "R0000"


def select_invoice_number(page: Page) -> str:
    """Select the invoice number field on the receipt's page; the text of the
    OCR line holding the receipt number."""
    texts = page.locator("polygon.ocr-line").evaluate_all(
        "(lines) => lines.map((line) => line.dataset.text)"
    )
    [text] = [text for text in texts if NUMBER_PART in text]
    page.locator("#field-invoice_number").focus()
    return str(text)


def test_a_clerk_fills_the_invoice_number_by_clicking_its_line(
    reviewing_receipt: Page,
) -> None:
    page = reviewing_receipt
    text = select_invoice_number(page)
    line = page.locator(f'polygon.ocr-line[data-text="{text}"]')
    line.click()

    value_input = page.locator("#field-invoice_number-input")
    expect(value_input).to_be_focused()
    expect(value_input).to_have_value(text)
    page.keyboard.press("Enter")
    expect(page.locator("#field-invoice_number-value")).to_have_text(text)
    expect(page.locator("#field-invoice_number [data-role=set-by]")).to_be_visible()

    correction = FieldCorrection.objects.get(field_name="invoice_number")
    assert correction.source == "clicked_line"
    assert correction.corrected_value == text
    assert correction.corrected_ocr_text == text
    assert correction.page is not None and correction.page.number == 1
    expected_box = [int(edge) for edge in line.get_attribute("data-box").split(",")]  # type: ignore[union-attr]
    assert correction.corrected_box == expected_box


@pytest.mark.parametrize("width", WIDTHS)
def test_a_clicked_name_keeps_the_spaces_the_pipeline_restores(
    reviewing_receipt: Page, width: int
) -> None:
    page = reviewing_receipt
    # A line OCR read with a space missing ("D.I.Y.(JOHOR)"), which the
    # pipeline reads as a name with the space put back.
    lines = page.locator("polygon.ocr-line[data-respaced]").evaluate_all(
        "(lines) => lines.map((line) => [line.dataset.text, line.dataset.respaced])"
    )
    text, spaced = next(
        (text, spaced) for text, spaced in lines if spaced.count(" ") > text.count(" ")
    )
    vendor = page.locator("#field-vendor_name")
    vendor.locator(".field-label").click()
    page.locator(f'polygon.ocr-line[data-text="{text}"]').click()

    expect(page.locator("#field-vendor_name-input")).to_have_value(spaced)
    # Offered, not yet a person's value: that takes saving it.
    expect(vendor.locator("[data-role=set-by]")).to_be_hidden()
    assert Field.objects.get(name="vendor_name").set_by != Field.SetBy.HUMAN
    vendor.get_by_role("button", name="Save").click()
    expect(page.locator("#field-vendor_name-value")).to_have_text(spaced)
    expect(vendor.locator("[data-role=set-by]")).to_be_visible()

    correction = FieldCorrection.objects.get(field_name="vendor_name")
    assert (correction.source, correction.corrected_value) == ("clicked_line", spaced)
    assert Field.objects.get(name="vendor_name").set_by == Field.SetBy.HUMAN


@pytest.mark.parametrize("width", WIDTHS)
def test_a_clerk_draws_a_box_around_the_number_alone(
    reviewing_receipt: Page, width: int
) -> None:
    page = reviewing_receipt
    text = select_invoice_number(page)
    line = page.locator(f'polygon.ocr-line[data-text="{text}"]')
    line.scroll_into_view_if_needed()
    # The number's word box, in screen pixels, from the page's own word boxes.
    word = line.evaluate(
        """(line, part) => {
            const words = JSON.parse(line.dataset.words);
            const [text, x0, y0, x1, y1] = words.find((word) => word[0].includes(part));
            const matrix = line.ownerSVGElement.getScreenCTM();
            const corner = (x, y) => new DOMPoint(x, y).matrixTransform(matrix);
            const start = corner(x0, y0), end = corner(x1, y1);
            return {text, left: start.x, top: start.y, right: end.x, bottom: end.y};
        }""",
        NUMBER_PART,
    )
    page.mouse.move(word["left"] - 3, word["top"] - 3)
    page.mouse.down()
    page.mouse.move(word["right"] + 3, word["bottom"] + 3, steps=8)
    page.mouse.up()

    value_input = page.locator("#field-invoice_number-input")
    expect(value_input).to_have_value(word["text"])
    page.keyboard.press("Enter")
    expect(page.locator("#field-invoice_number-value")).to_have_text(word["text"])

    correction = FieldCorrection.objects.get(field_name="invoice_number")
    assert correction.source == "drawn_box"
    assert correction.corrected_ocr_text == word["text"]
    drawn_x0, _, drawn_x1, _ = correction.corrected_box
    line_x0, _, line_x1, _ = map(int, (line.get_attribute("data-box") or "").split(","))
    # The box drawn, in page pixels, holds the number, not the whole line.
    assert drawn_x1 - drawn_x0 < line_x1 - line_x0


def test_the_keyboard_takes_a_line_near_the_field(reviewing_receipt: Page) -> None:
    page = reviewing_receipt
    page.locator("#field-total_amount").focus()
    page.keyboard.press("l")
    active = page.locator("polygon.ocr-line.is-active")
    expect(active).to_have_count(1)
    chosen = active.get_attribute("data-text") or ""
    expect(page.locator("#fields-status")).to_contain_text(chosen)
    page.keyboard.press("u")
    expect(page.locator("#field-total_amount-input")).to_have_value(chosen)
    expect(page.locator("#field-total_amount-input")).to_be_focused()
