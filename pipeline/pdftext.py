"""Lines and boxes from a PDF page's own text layer, when it has a usable one."""

from __future__ import annotations

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
        lines = []
        for index in range(textpage.count_rects()):
            left, bottom, right, top = textpage.get_rect(index)
            text = " ".join(textpage.get_text_bounded(left, bottom, right, top).split())
            if not text:
                continue
            x0, x1 = left * scale, right * scale
            y0, y1 = (page_height - top) * scale, (page_height - bottom) * scale
            lines.append(
                OcrLine(
                    text=text,
                    confidence=1.0,
                    polygon=((x0, y0), (x1, y0), (x1, y1), (x0, y1)),
                    page_number=page_number,
                )
            )
    finally:
        textpage.close()
    characters = "".join(line.text for line in lines)
    if len(characters) < MIN_TEXT_LAYER_CHARS:
        return None
    readable = sum(ch.isalnum() or ch in " .,:;/-€$£%()#&'" for ch in characters)
    if readable / len(characters) < MIN_READABLE_SHARE:
        return None
    lines.sort(key=lambda line: (round(line.box[1] / 4), line.box[0]))
    return tuple(lines)
