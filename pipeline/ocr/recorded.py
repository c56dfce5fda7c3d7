"""An OcrEngine that replays recorded lines: fast tests without PaddleOCR.

Recordings are keyed by page size, which is what a test controls when it makes
its own image; an unknown page reads as blank.
"""

from __future__ import annotations

from typing import ClassVar

from pipeline.types import OcrLine, PageImage


class RecordedOcrEngine:
    name = "recorded"
    version = "1"
    recordings: ClassVar[dict[tuple[int, int], tuple[OcrLine, ...]]] = {}

    @classmethod
    def record(cls, width: int, height: int, lines: tuple[OcrLine, ...]) -> None:
        cls.recordings[(width, height)] = lines

    def recognize(self, page: PageImage) -> tuple[OcrLine, ...]:
        lines = self.recordings.get((page.width, page.height), ())
        return tuple(
            OcrLine(line.text, line.confidence, line.polygon, page.number)
            for line in lines
        )
