"""Where on a page a value was read: word boxes inside OCR lines, the text
inside a box, and the lines under one.

OCR stores lines only (TextLine). Word boxes are approximated by cutting the
line's box proportionally to character positions: printed text is close
enough to evenly spaced that a click or a drawn box lands on the right word,
and one rule here serves the review page (which words a click picks) and the
training data (which text lay under the box a reviewer chose), so the two
never disagree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from pipeline.extract.scorer import ScorerError, default_scorer
from pipeline.extract.text_repair import Respacer, tidy_punctuation

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in page-image pixels
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Word:
    text: str
    box: Box
    line_order: int  # the line's position in the page's reading order
    index: int  # the word's position in its line


class LineText(Protocol):
    """What these functions need of a line (a TextLine fits)."""

    @property
    def order(self) -> int: ...

    @property
    def text(self) -> str: ...

    @property
    def box(self) -> Sequence[int]: ...


def line_words(text: str, box: Sequence[int], *, line_order: int = 0) -> list[Word]:
    """The words of one line, each with the slice of the line's box its
    characters take up."""
    x0, y0, x1, y1 = (int(edge) for edge in box[:4])
    if not text:
        return []
    per_character = (x1 - x0) / len(text)
    return [
        Word(
            text=match[0],
            box=(
                x0 + round(match.start() * per_character),
                y0,
                x0 + round(match.end() * per_character),
                y1,
            ),
            line_order=line_order,
            index=index,
        )
        for index, match in enumerate(_WORD.finditer(text))
    ]


def page_words(lines: Iterable[LineText]) -> list[Word]:
    return [
        word
        for line in lines
        for word in line_words(line.text, line.box, line_order=line.order)
    ]


def _centre(box: Box) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def contains(outer: Sequence[int], box: Box) -> bool:
    """A word counts as inside a box when its centre is: a box drawn a little
    short of a word's edge still takes it, a neighbour it grazes does not."""
    x, y = _centre(box)
    return outer[0] <= x <= outer[2] and outer[1] <= y <= outer[3]


def in_reading_order(words: Iterable[Word]) -> list[Word]:
    """Top to bottom by rows, left to right within a row: a row is the words
    whose centres lie within the first one's height (separate OCR lines on one
    printed row, like "1  X  19.00", read across)."""
    remaining = sorted(words, key=lambda word: (_centre(word.box)[1], word.box[0]))
    ordered: list[Word] = []
    while remaining:
        top, bottom = remaining[0].box[1], remaining[0].box[3]
        in_row = [top <= _centre(word.box)[1] <= bottom for word in remaining]
        row = [word for word, inside in zip(remaining, in_row, strict=True) if inside]
        ordered += sorted(row, key=lambda word: (word.box[0], word.index))
        remaining = [
            word for word, inside in zip(remaining, in_row, strict=True) if not inside
        ]
    return ordered


def text_in_box(lines: Iterable[LineText], box: Sequence[int]) -> str:
    """The words whose boxes fall inside `box`, in reading order; rows joined
    by a space, as a value read across lines would be typed."""
    inside = [word for word in page_words(lines) if contains(box, word.box)]
    return " ".join(word.text for word in in_reading_order(inside))


def overlaps(a: Sequence[int], b: Sequence[int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def lines_under(lines: Iterable[LineText], box: Sequence[int]) -> list[LineText]:
    """The lines a box touches, in reading order (the machine's evidence:
    a value's box usually covers part of one line)."""
    return sorted(
        (line for line in lines if overlaps(line.box, box)),
        key=lambda line: line.order,
    )


# The fields whose text the pipeline reads with its spacing restored (the
# scorer offers names and addresses respaced: "JALANBESAR" -> "JALAN BESAR").
RESPACED_FIELDS = frozenset({"vendor_name", "vendor_address", "customer_name"})


@lru_cache(maxsize=1)
def _respacer() -> Respacer:
    try:
        return Respacer(default_scorer().vocabulary)
    except ScorerError:
        return Respacer({})


def respaced(text: str) -> str:
    """`text` as the pipeline restores a name or an address: spaces OCR
    dropped put back, punctuation tidied. Click-to-fill offers this for
    RESPACED_FIELDS, so a clicked line reads as the machine would read it."""
    return tidy_punctuation(_respacer().respace(" ".join(text.split())))
