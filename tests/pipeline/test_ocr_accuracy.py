"""The character-level OCR benchmark: lines matched by position however the
engine split them, misses and phantoms charged, real truth pages loaded."""

from __future__ import annotations

import pytest

from pipeline.ocr.accuracy import (
    TextScore,
    manifest_files,
    score_page,
    sroie_pages,
    text_layer_pages,
)
from pipeline.types import OcrLine
from tests.conftest import DATASETS


def line(text: str, x0: float, y0: float, x1: float, y1: float) -> OcrLine:
    return OcrLine(text, 1.0, ((x0, y0), (x1, y0), (x1, y1), (x0, y1)))


TRUTH = (
    line("TOTAL", 10, 100, 60, 120),
    line("33.90", 200, 100, 260, 120),
    line("THANK YOU", 10, 140, 120, 160),
)


def test_the_truth_read_back_scores_perfectly() -> None:
    score = score_page(TRUTH, TRUTH)
    assert score == TextScore(characters=19, errors=0, words=4, words_right=4)
    assert score.cer == 0.0 and score.word_accuracy == 1.0


def test_one_engine_line_over_two_truth_boxes_is_compared_as_a_group() -> None:
    read = (
        line("TOTAL 33.90", 12, 101, 258, 119),
        line("THANK Y0U", 10, 141, 118, 159),
    )
    score = score_page(TRUTH, read)
    assert score.errors == 1  # only O read as 0
    assert score.words_right == 3


def test_a_missed_line_and_a_phantom_line_cost_their_length() -> None:
    read = (
        line("TOTAL", 10, 100, 60, 120),
        line("33.90", 200, 100, 260, 120),
        line("###", 300, 300, 330, 320),  # over no truth at all
    )
    score = score_page(TRUTH, read)
    assert score.errors == len("THANK YOU") + len("###")
    assert score.characters == 19
    assert score.words_right == 2


def test_rows_above_and_below_are_not_joined() -> None:
    # A tall engine box reaching slightly into the next row stays its own group.
    read = (line("TOTAL", 10, 98, 60, 127), line("THANK YOU", 10, 138, 120, 162))
    score = score_page(TRUTH[:1] + TRUTH[2:], read)
    assert score.errors == 0


def test_case_counts_unless_the_truth_ignores_it() -> None:
    read = (line("Total", 10, 100, 60, 120),)
    assert score_page(TRUTH[:1], read).errors == 4
    assert score_page(TRUTH[:1], read, case_sensitive=False).errors == 0


@pytest.mark.skipif(not DATASETS.is_dir(), reason="dev datasets not present")
def test_sroie_truth_boxes_are_scaled_to_the_decoded_page() -> None:
    page = next(sroie_pages(DATASETS / "sroie2019-receipts" / "manifest.jsonl"))
    assert page.truth and page.image.text_lines is None
    assert not page.case_sensitive  # the annotators wrote in capitals
    right = max(truth_line.box[2] for truth_line in page.truth)
    bottom = max(truth_line.box[3] for truth_line in page.truth)
    assert right <= page.image.width and bottom <= page.image.height
    # The boxes cover the receipt, not a corner of it.
    assert bottom > page.image.height / 2


@pytest.mark.skipif(not DATASETS.is_dir(), reason="dev datasets not present")
def test_a_pdf_text_layer_is_the_truth_for_its_rendered_page() -> None:
    files = manifest_files(DATASETS / "zugferd-corpus" / "manifest.jsonl")
    pages = list(text_layer_pages(files[:3], limit=2))
    assert len(pages) == 2
    for page in pages:
        assert page.image.text_lines is None
        assert sum(len(truth_line.text) for truth_line in page.truth) > 100
        assert page.image.dpi == 200
