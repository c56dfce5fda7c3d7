"""The quality gate on a real receipt scan, and on copies damaged the way
phones and scanners damage pages (pipeline.degrade)."""

from __future__ import annotations

import pytest
from PIL import Image

from pipeline.decode import DecodeLimits, decode_document
from pipeline.quality import assess_page
from tests.conftest import RECEIPT, SROIE
from tests.pipeline.degraded_pages import damaged, page_of

# A larger scan than RECEIPT (1697 x 2400 after decoding), for the damage
# that needs room to show.
LARGE_RECEIPT = SROIE / "images" / "X51006414718.jpg"


def test_a_clean_scan_is_accepted_without_advice() -> None:
    report = assess_page(decode_document(RECEIPT.read_bytes(), DecodeLimits())[0])
    assert report.acceptable
    assert report.score == 100
    assert report.advice == ()
    assert 12 <= report.measures.text_height <= 20
    assert abs(report.measures.skew_degrees) < 1


def test_a_very_dark_photo_is_refused_with_advice_to_retake_in_better_light() -> None:
    report = assess_page(damaged("dark", 3))
    assert not report.acceptable
    assert report.advice[0] == "too dark: retake in better light"


def test_a_dim_photo_is_read_but_the_sender_is_told() -> None:
    # Evening out the light brings such pages within 5 points of clean ones.
    report = assess_page(damaged("dark", 1))
    assert report.acceptable
    assert report.advice == ("too dark: retake in better light",)


def test_a_cut_off_bottom_edge_is_named() -> None:
    report = assess_page(damaged("cut_off", 2, SROIE / "images" / "X51005676539.jpg"))
    assert report.measures.cut_edges == ("bottom",)
    assert any("bottom edge of the page is cut off" in a for a in report.advice)


def test_tiny_text_gets_advice_to_scan_at_300_dpi() -> None:
    report = assess_page(damaged("low_resolution", 2))
    assert report.measures.text_height < 8
    assert any(a.startswith("text too small: scan at 300 dpi") for a in report.advice)
    assert not report.acceptable


def test_a_blurred_photo_is_refused_as_blurred() -> None:
    report = assess_page(damaged("blurred", 2, LARGE_RECEIPT))
    assert any(issue.code == "blur" for issue in report.issues)
    assert not report.acceptable


def test_glare_over_the_print_is_named() -> None:
    report = assess_page(damaged("glare", 2))
    assert any(issue.code == "glare" for issue in report.issues)


@pytest.mark.parametrize("strength", [1, 2])
def test_the_skew_angle_is_measured(strength: int) -> None:
    report = assess_page(damaged("skewed", strength))
    expected = {1: 3.0, 2: 7.0}[strength]
    assert abs(abs(report.measures.skew_degrees) - expected) < 1.0


def test_a_page_photographed_on_a_desk_is_not_cut_off_nor_glare() -> None:
    report = assess_page(damaged("perspective", 1))
    assert report.measures.cut_edges == ()
    assert report.measures.glare == 0


def test_a_blank_page_says_no_text_was_found() -> None:
    report = assess_page(page_of(Image.new("RGB", (800, 1100), "white")))
    assert not report.acceptable
    assert report.issues[0].code == "no_text"
