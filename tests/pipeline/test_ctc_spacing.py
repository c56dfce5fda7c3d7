"""Spaces the recogniser dropped come back; spaces it kept are not doubled."""

from __future__ import annotations

import numpy as np

from pipeline.ocr.ctc_spacing import decode_with_spaces

CHARACTERS = ["blank", *"ABCDEHIMNORSY1. "]


def ctc_row(layout: str) -> tuple[np.ndarray, np.ndarray]:
    """`layout`: one character per CTC column, "_" for blank."""
    indices = np.array(
        [0 if ch == "_" else CHARACTERS.index(ch) for ch in layout], dtype=np.int64
    )
    return indices, np.full(len(layout), 0.9, dtype=np.float32)


def test_a_wide_gap_between_words_becomes_a_space() -> None:
    text, confidence = decode_with_spaces(*ctc_row("M__R_____S__D__N"), CHARACTERS)
    assert text == "MR SDN"
    assert abs(confidence - 0.9) < 1e-6


def test_letters_of_one_word_stay_together() -> None:
    assert decode_with_spaces(*ctc_row("S__D__N__B__H__D"), CHARACTERS)[0] == "SDNBHD"


def test_an_emitted_space_is_kept_once() -> None:
    layout = "S__D__N__ __B__H__D"
    assert decode_with_spaces(*ctc_row(layout), CHARACTERS)[0] == "SDN BHD"


def test_repeated_columns_are_one_character_and_blanks_separate_doubles() -> None:
    assert decode_with_spaces(*ctc_row("AA__A__YY"), CHARACTERS)[0] == "AAY"


def test_narrow_glyphs_need_a_wider_gap() -> None:
    assert decode_with_spaces(*ctc_row("1__1__1_____1"), CHARACTERS)[0] == "1111"
    assert decode_with_spaces(*ctc_row("1__1__1______1"), CHARACTERS)[0] == "111 1"


def test_an_empty_row_reads_as_nothing() -> None:
    assert decode_with_spaces(*ctc_row("____"), CHARACTERS) == ("", 0.0)
