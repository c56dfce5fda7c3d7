"""Frozen dataclasses passed between pipeline stages.

Coordinates are pixels of the page image the stage saw, origin top-left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

Box = tuple[int, int, int, int]  # x0, y0, x1, y1
Point = tuple[float, float]
TextSource = Literal["ocr", "pdf_text", "xml"]


@dataclass(frozen=True)
class PageImage:
    """One rendered page: encoded image bytes plus what we know of its geometry."""

    number: int  # 1-based
    width: int
    height: int
    dpi: int
    image_bytes: bytes  # PNG or JPEG, what the review page shows
    image_format: Literal["PNG", "JPEG"]
    # Words from a PDF text layer, when the page has a usable one (no OCR needed).
    text_lines: tuple[OcrLine, ...] | None = None


@dataclass(frozen=True)
class OcrLine:
    """A line of text with its polygon (4 points, clockwise from top-left)."""

    text: str
    confidence: float  # 0..1, as reported by the text source
    polygon: tuple[Point, Point, Point, Point]
    page_number: int = 1

    @property
    def box(self) -> Box:
        xs = [p[0] for p in self.polygon]
        ys = [p[1] for p in self.polygon]
        return (int(min(xs)), int(min(ys)), int(max(xs) + 0.5), int(max(ys) + 0.5))


@dataclass(frozen=True)
class PageText:
    """The text of one page and where it came from."""

    page_number: int
    width: int
    height: int
    lines: tuple[OcrLine, ...]
    source: TextSource


@dataclass(frozen=True)
class FieldValue:
    """One extracted field: what was printed, what it means, how sure we are, where."""

    name: str
    raw_value: str  # the text as printed (or the span of it)
    value: str  # normalised: ISO date, plain decimal "1234.50", ISO 4217 code ...
    confidence: float  # 0..1
    page_number: int | None = None
    box: Box | None = None
    explanation: str = ""  # why this candidate: label, pattern, position


@dataclass(frozen=True)
class ExtractedLine:
    """One invoice line: the numbers as Decimals (None when not printed), how
    sure we are of the row, and where it is printed."""

    position: int  # 1-based, in reading order
    description: str
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    amount: Decimal | None = None
    tax_rate: Decimal | None = None  # percent: Decimal("19") for 19 %
    item_code: str = ""
    confidence: float = 0.0  # 0..1
    page_number: int | None = None
    box: Box | None = None
    source: TextSource = "pdf_text"
    explanation: str = ""


@dataclass(frozen=True)
class Extraction:
    """Everything the extraction stage found on a document."""

    fields: tuple[FieldValue, ...] = field(default_factory=tuple)

    def get(self, name: str) -> FieldValue | None:
        return next((f for f in self.fields if f.name == name), None)
