"""Lines and boxes from a PDF page's own text layer, when it has a usable one."""

from __future__ import annotations

from dataclasses import dataclass

import pypdfium2 as pdfium

from pipeline.types import OcrLine

# Below this many characters a page is treated as a scan and OCR'd instead.
MIN_TEXT_LAYER_CHARS = 20
# A text layer written with a broken font encoding extracts as symbols; such a
# page is OCR'd too.
MIN_READABLE_SHARE = 0.6


def text_layer_lines(
    page: pdfium.PdfPage, scale: float, page_number: int
) -> tuple[OcrLine, ...] | None:
    """The page's text segments as lines in rendered-pixel coordinates, or None
    when the text layer is missing or unreadable."""
    textpage = page.get_textpage()
    try:
        _, page_height = page.get_size()
        segments = []
        for index in range(textpage.count_rects()):
            left, bottom, right, top = textpage.get_rect(index)
            text = " ".join(textpage.get_text_bounded(left, bottom, right, top).split())
            if not text:
                continue
            x0, x1 = left * scale, right * scale
            y0, y1 = (page_height - top) * scale, (page_height - bottom) * scale
            segments.append(_Segment(text, x0, y0, x1, y1))
    finally:
        textpage.close()
    lines = [
        OcrLine(
            text=segment.text,
            confidence=1.0,
            polygon=(
                (segment.x0, segment.y0),
                (segment.x1, segment.y0),
                (segment.x1, segment.y1),
                (segment.x0, segment.y1),
            ),
            page_number=page_number,
        )
        for segment in _join_segments(segments)
    ]
    characters = "".join(line.text for line in lines)
    if len(characters) < MIN_TEXT_LAYER_CHARS:
        return None
    readable = sum(ch.isalnum() or ch in " .,:;/-€$£%()#&'" for ch in characters)
    if readable / len(characters) < MIN_READABLE_SHARE:
        return None
    lines.sort(key=lambda line: (round(line.box[1] / 4), line.box[0]))
    return tuple(lines)


@dataclass
class _Segment:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def height(self) -> float:
        return self.y1 - self.y0


# Segments closer than this many line heights belong to one phrase; wider gaps
# separate columns ("Invoice #" ... "950658-1"), which stay separate lines.
_JOIN_GAP = 0.8
# A gap wider than this share of the line height is a space between words.
_SPACE_GAP = 0.25


def _space_gap(before: str, after: str) -> float:
    # Digits and their separators are spaced wider by some writers
    # ("1" ".589,80"); reading them apart would split the amount.
    if before[-1:].isdigit() and after[:1] in ".,":
        return 0.6
    if before[-1:] in ".," and after[:1].isdigit():
        return 0.6
    if len(after) > 1 and " " not in before[-2:] and len(before.split()[-1]) > 1:
        # Two pieces of several characters each are words or fields the writer
        # placed separately: only touching pieces belong together.
        return 0.08
    return _SPACE_GAP


def _join_segments(segments: list[_Segment]) -> list[_Segment]:
    """Join the pieces some PDF writers emit for every glyph or word back into
    lines ("A","z","u","r","e" -> "Azure"), with spaces where the gap says so.

    Pieces whose vertical extents overlap form a row (a lowercase glyph sits
    lower than a capital, so the row's whole band is compared); within a row,
    pieces closer than `_JOIN_GAP` line heights form one line.
    """
    rows: list[list[_Segment]] = []
    bands: list[tuple[float, float]] = []
    for segment in sorted(segments, key=lambda s: s.y0):
        for index in range(len(rows) - 1, max(len(rows) - 4, -1), -1):
            top, bottom = bands[index]
            overlap = min(bottom, segment.y1) - max(top, segment.y0)
            if overlap >= 0.5 * min(bottom - top, segment.height):
                rows[index].append(segment)
                bands[index] = (min(top, segment.y0), max(bottom, segment.y1))
                break
        else:
            rows.append([segment])
            bands.append((segment.y0, segment.y1))
    lines: list[_Segment] = []
    for row, (top, bottom) in zip(rows, bands, strict=True):
        height = max(bottom - top, 1.0)
        current: _Segment | None = None
        for segment in sorted(row, key=lambda s: s.x0):
            gap = segment.x0 - current.x1 if current else None
            if current is not None and gap is not None and gap <= _JOIN_GAP * height:
                space = (
                    "" if gap < _space_gap(current.text, segment.text) * height else " "
                )
                current.text = f"{current.text}{space}{segment.text}"
                current.x1 = max(current.x1, segment.x1)
                current.y0 = min(current.y0, segment.y0)
                current.y1 = max(current.y1, segment.y1)
            else:
                current = _Segment(
                    segment.text, segment.x0, segment.y0, segment.x1, segment.y1
                )
                lines.append(current)
    return lines
