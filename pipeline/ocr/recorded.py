"""An OcrEngine that replays recorded lines: fast tests without PaddleOCR.

Recordings are keyed by page size, which is what a test controls when it makes
its own image; an unknown page reads as blank.
"""

from __future__ import annotations

from typing import ClassVar

from pipeline.types import OcrLine, PageImage, PageText


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


def page_text_from_boxes(boxes: str) -> PageText:
    """Recorded OCR in the SROIE box format (`x1,y1,...,x4,y4,TEXT` per line)
    as one page; the page size is taken from the boxes since no image comes
    with them. Rows that are not in that format are skipped."""
    lines = []
    for row in boxes.splitlines():
        parts = row.split(",", 8)
        if len(parts) < 9:
            continue
        try:
            c = [float(value) for value in parts[:8]]
        except ValueError:
            continue
        polygon = ((c[0], c[1]), (c[2], c[3]), (c[4], c[5]), (c[6], c[7]))
        lines.append(OcrLine(text=parts[8], confidence=1.0, polygon=polygon))
    width = max((line.box[2] for line in lines), default=1)
    height = max((line.box[3] for line in lines), default=1)
    return PageText(
        page_number=1, width=width, height=height, lines=tuple(lines), source="ocr"
    )
