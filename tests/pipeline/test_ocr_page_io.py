"""The engines' shared way in (BGR pixels, a clear reason for bytes that do
not decode) and out (OcrLines, blank and unsure lines dropped)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from pipeline.errors import UnreadableDocument
from pipeline.ocr.page_io import bgr_pixels, lines_from_boxes
from pipeline.types import PageImage


def test_pixels_come_in_opencv_s_blue_green_red_order() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (3, 2), (255, 0, 0)).save(buffer, format="PNG")
    pixels = bgr_pixels(PageImage(1, 3, 2, 150, buffer.getvalue(), "PNG"))
    assert pixels.shape == (2, 3, 3)
    assert pixels[0, 0].tolist() == [0, 0, 255]


def test_bytes_that_are_no_image_name_the_page() -> None:
    with pytest.raises(UnreadableDocument, match="page 2 could not be decoded"):
        bgr_pixels(PageImage(2, 3, 2, 150, b"not an image", "PNG"))


def test_blank_and_unsure_lines_are_dropped() -> None:
    box = np.array([[1, 2], [30, 2], [30, 9], [1, 9]], dtype=np.float32)
    lines = lines_from_boxes(
        [box, box, box],
        [(" TOTAL 9.00 ", 0.9), ("  ", 0.9), ("noise", 0.2)],
        3,
        min_confidence=0.5,
    )
    assert [(line.text, line.page_number) for line in lines] == [("TOTAL 9.00", 3)]
    assert lines[0].polygon == ((1.0, 2.0), (30.0, 2.0), (30.0, 9.0), (1.0, 9.0))


def test_full_width_punctuation_is_read_as_ascii() -> None:
    box = [[0, 0], [100, 0], [100, 20], [0, 20]]
    (line,) = lines_from_boxes(
        [box], [("DATE\uff1a25\uff0c04\u300217 \uff21\uff11", 0.9)], 1
    )
    assert line.text == "DATE:25,04.17 A1"
