"""Each preprocessing step on a real receipt damaged where that step matters,
and left alone where it does not."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from pipeline.decode import DecodeLimits, decode_document
from pipeline.preprocess import (
    ALL_STEPS,
    DENOISE,
    DESKEW,
    ILLUMINATION,
    ORIENTATION,
    PERSPECTIVE,
    UPSCALE,
    parse_steps,
    preprocess_page,
)
from pipeline.quality import gray_pixels, measure, noise_level
from pipeline.types import PageImage
from tests.conftest import RECEIPT, SROIE
from tests.pipeline.degraded_pages import damaged

# Mixed-case print (tops at two heights), which is what tells up from down.
UPRIGHT_RECEIPT = SROIE / "images" / "X51005676539.jpg"


def similarity(page: PageImage, source: object) -> float:
    """Correlation of two pages' grey levels at the same small size."""
    with Image.open(source) as image:  # type: ignore[call-overload]
        reference = np.asarray(image.convert("L").resize((200, 400)), np.float32)
    ours = cv2.resize(gray_pixels(page), (200, 400)).astype(np.float32)
    return float(np.corrcoef(reference.ravel(), ours.ravel())[0, 1])


def test_a_clean_scan_passes_through_every_step_untouched() -> None:
    page = decode_document(RECEIPT.read_bytes(), DecodeLimits())[0]
    result = preprocess_page(page, ALL_STEPS)
    assert result.applied == ()
    assert result.page.image_bytes == page.image_bytes


def test_orientation_turns_an_upside_down_page_upright() -> None:
    page = damaged("rotated", 2, UPRIGHT_RECEIPT)
    assert similarity(page, UPRIGHT_RECEIPT) < 0.3
    result = preprocess_page(page, {ORIENTATION})
    assert [step.name for step in result.applied] == [ORIENTATION]
    assert similarity(result.page, UPRIGHT_RECEIPT) > 0.8


def test_orientation_turns_a_sideways_page_upright() -> None:
    page = damaged("rotated", 1, UPRIGHT_RECEIPT)
    result = preprocess_page(page, {ORIENTATION})
    assert (result.page.width, result.page.height) == (page.height, page.width)
    assert similarity(result.page, UPRIGHT_RECEIPT) > 0.8


@pytest.mark.parametrize("strength", [1, 2])
def test_deskew_levels_the_lines(strength: int) -> None:
    page = damaged("skewed", strength)
    assert abs(measure(gray_pixels(page)).skew_degrees) > 2
    result = preprocess_page(page, {DESKEW})
    assert [step.name for step in result.applied] == [DESKEW]
    assert abs(measure(gray_pixels(result.page)).skew_degrees) <= 0.5


def test_perspective_finds_the_page_on_the_desk_and_flattens_it() -> None:
    page = damaged("perspective", 2)
    result = preprocess_page(page, {PERSPECTIVE})
    assert [step.name for step in result.applied] == [PERSPECTIVE]
    # The desk is gone: the flattened page is about the receipt's shape.
    with Image.open(RECEIPT) as original:
        expected = original.height / original.width
    assert result.page.height / result.page.width == pytest.approx(expected, rel=0.15)
    assert measure(gray_pixels(result.page)).paper_brightness > 240


def test_illumination_brightens_a_dark_page_and_restores_contrast() -> None:
    page = damaged("dark", 2)
    before = measure(gray_pixels(page))
    result = preprocess_page(page, {ILLUMINATION})
    after = measure(gray_pixels(result.page))
    assert before.paper_brightness < 90
    assert after.paper_brightness > 200
    assert after.contrast > 2 * before.contrast


def test_denoise_removes_most_of_the_noise() -> None:
    page = damaged("noisy", 2)
    before = noise_level(gray_pixels(page))
    result = preprocess_page(page, {DENOISE})
    assert [step.name for step in result.applied] == [DENOISE]
    assert noise_level(gray_pixels(result.page)) < before / 3


def test_upscale_enlarges_tiny_text() -> None:
    page = damaged("low_resolution", 2)
    assert measure(gray_pixels(page)).text_height < 10
    result = preprocess_page(page, {UPSCALE})
    assert result.page.width > 2 * page.width
    assert measure(gray_pixels(result.page)).text_height >= 16


def test_a_page_with_a_text_layer_is_never_touched() -> None:
    page = damaged("rotated", 2)
    with_layer = PageImage(
        number=1,
        width=page.width,
        height=page.height,
        dpi=page.dpi,
        image_bytes=page.image_bytes,
        image_format="JPEG",
        text_lines=(),
    )
    assert preprocess_page(with_layer, ALL_STEPS).page is with_layer


def test_steps_are_named_on_the_command_line() -> None:
    assert parse_steps("all") == frozenset(ALL_STEPS)
    assert parse_steps("none") == frozenset()
    assert parse_steps("deskew, upscale") == {DESKEW, UPSCALE}
    with pytest.raises(ValueError, match="sharpen"):
        parse_steps("deskew,sharpen")
