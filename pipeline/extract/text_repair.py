"""Repairing OCR'd text before it is offered as a value: spaces OCR dropped
("JALANBUKIT" -> "JALAN BUKIT", from word counts learned on labelled text)
and punctuation it spaced or widened.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

_FULL_WIDTH = str.maketrans(
    {"，": ",", "（": "(", "）": ")", "：": ":", "；": ";", "．": "."}
)
_COMMA_BEFORE_TEXT = re.compile(r"\s*,(?!\d)\s*")
_OPEN_BRACKET = re.compile(r"(?<=[^\s(])\(")
_RUNS = re.compile(r"[A-Za-z]+|\d+|[^A-Za-z\d]+")
# Each extra word costs this much log-count: fewer, more common words win.
_WORD_PENALTY = 3.0


def tidy_punctuation(text: str) -> str:
    """Commas and brackets spaced the way receipts' typed strings space them:
    "12,JALAN X" -> "12, JALAN X" (a comma between digits stays); full-width
    punctuation becomes ASCII."""
    text = text.translate(_FULL_WIDTH)
    text = _COMMA_BEFORE_TEXT.sub(", ", text)
    text = _OPEN_BRACKET.sub(" (", text)
    return " ".join(text.split()).rstrip(", ")


class Respacer:
    """Puts back spaces OCR dropped between words ("JALANBESAR", "81200JOHOR"),
    splitting runs of letters into words of a vocabulary learned from labelled
    names and addresses; a run it cannot split entirely is left alone."""

    def __init__(self, vocabulary: Mapping[str, int]) -> None:
        self.vocabulary = {word.upper(): count for word, count in vocabulary.items()}
        self.longest = max((len(w) for w in self.vocabulary), default=0)

    def respace(self, text: str) -> str:
        if not self.vocabulary:
            return text
        out: list[str] = []
        for word in text.split():
            runs = _RUNS.findall(word)
            pieces: list[str] = []
            for index, run in enumerate(runs):
                if run.isalpha():
                    split = self._split(run)
                    glued_to_digit = (index > 0 and runs[index - 1].isdigit()) or (
                        index + 1 < len(runs) and runs[index + 1].isdigit()
                    )
                    if split is not None and (len(split) > 1 or glued_to_digit):
                        if index > 0 and runs[index - 1].isdigit():
                            pieces.append(" ")
                        pieces.append(" ".join(split))
                        if index + 1 < len(runs) and runs[index + 1].isdigit():
                            pieces.append(" ")
                        continue
                pieces.append(run)
            out.append("".join(pieces))
        return " ".join(" ".join(out).split())

    def _split(self, run: str) -> list[str] | None:
        upper = run.upper()
        if len(upper) < 3:
            return None
        if upper in self.vocabulary:
            return [run]
        best: list[tuple[float, int] | None] = [None] * (len(upper) + 1)
        best[0] = (0.0, 0)
        for end in range(2, len(upper) + 1):
            for start in range(max(0, end - self.longest), end - 1):
                previous = best[start]
                count = self.vocabulary.get(upper[start:end])
                if previous is None or count is None:
                    continue
                score = previous[0] + math.log(count) - _WORD_PENALTY
                if best[end] is None or score > best[end][0]:  # type: ignore[index]
                    best[end] = (score, start)
        if best[-1] is None:
            return None
        words: list[str] = []
        end = len(upper)
        while end > 0:
            start = best[end][1]  # type: ignore[index]
            words.append(run[start:end])
            end = start
        return words[::-1]


def text_variants(text: str, respacer: Respacer) -> dict[str, tuple[float, float]]:
    """The span's text as printed and repaired: text -> (respaced, tidied)."""
    joined = " ".join(text.split())
    respaced = respacer.respace(joined)
    variants: dict[str, tuple[float, float]] = {}
    for variant, flags in (
        (joined, (0.0, 0.0)),
        (tidy_punctuation(joined), (0.0, 1.0)),
        (respaced, (1.0, 0.0)),
        (tidy_punctuation(respaced), (1.0, 1.0)),
    ):
        variants.setdefault(variant, flags)
    return variants
