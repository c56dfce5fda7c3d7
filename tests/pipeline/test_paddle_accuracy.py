"""Real PaddleOCR on a real receipt, scored against its annotators' lines: the
engine reads most characters right and reports where its time went."""

from __future__ import annotations

import pytest

from pipeline.ocr.accuracy import read_and_score, sroie_pages
from pipeline.ocr.paddle import PaddleOcrEngine, missing_model_files
from tests.conftest import DATASETS

pytestmark = [
    pytest.mark.skipif(not DATASETS.is_dir(), reason="dev datasets not present"),
    pytest.mark.skipif(bool(missing_model_files()), reason="OCR models missing"),
]


def test_paddle_reads_a_receipt_within_the_benchmark_s_error_rate() -> None:
    pages = sroie_pages(DATASETS / "sroie2019-receipts" / "manifest.jsonl", limit=1)
    (reading,) = read_and_score(pages, PaddleOcrEngine())
    # Measured: CER 0.043, words 0.74; a broken matcher or scaling gives 0.5+.
    assert reading.score.cer < 0.1
    assert reading.score.word_accuracy > 0.6
    assert set(reading.seconds) == {"det", "cls", "rec", "ocr", "cpu"}
    assert reading.seconds["cls"] == 0.0  # the angle classifier is off by default
    assert reading.seconds["det"] + reading.seconds["rec"] <= reading.seconds["ocr"]
