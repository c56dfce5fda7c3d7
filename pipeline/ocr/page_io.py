"""What every PP-OCR engine does on the way in and out: the page as OpenCV's
BGR pixels, and the detected quadrilaterals with their text as OcrLines."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from pipeline.errors import UnreadableDocument
from pipeline.types import OcrLine, PageImage


def bgr_pixels(page: PageImage) -> npt.NDArray[np.uint8]:
    """The page image in OpenCV's BGR channel order, which PP-OCR models were
    trained on. Raises UnreadableDocument when the bytes do not decode."""
    try:
        with Image.open(io.BytesIO(page.image_bytes)) as image:
            return np.asarray(image.convert("RGB"))[:, :, ::-1].copy()
    except OSError as error:
        raise UnreadableDocument(
            f"page {page.number} could not be decoded ({error})"
        ) from None


# Both models' dictionaries hold Chinese punctuation and full-width forms, and
# read a Latin receipt's "DATE:" with a full-width colon (U+FF1A) now and then; the
# extractor's patterns and people expect the ASCII ones.
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {
    0x3000: " ",
    0x3001: ",",
    0x3002: ".",
}


def ascii_punctuation(text: str) -> str:
    """Full-width letters, digits and punctuation as their ASCII forms."""
    return text.translate(_FULL_WIDTH)


def lines_from_boxes(
    boxes: Iterable[Any],
    texts: Iterable[tuple[str, float]],
    page_number: int,
    *,
    min_confidence: float = 0.0,
) -> tuple[OcrLine, ...]:
    """OcrLines from 4-point boxes (arrays) and (text, confidence) pairs read
    from them, in the same order; blank text and lines under
    `min_confidence` are dropped."""
    lines = []
    for polygon, (text, confidence) in zip(boxes, texts, strict=True):
        text = ascii_punctuation(str(text)).strip()
        if not text or confidence < min_confidence:
            continue
        points = [(float(x), float(y)) for x, y in np.asarray(polygon).tolist()]
        lines.append(
            OcrLine(
                text=text,
                confidence=float(confidence),
                polygon=(points[0], points[1], points[2], points[3]),
                page_number=page_number,
            )
        )
    return tuple(lines)
