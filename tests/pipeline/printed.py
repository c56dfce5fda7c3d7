"""Printed lines as OCR returns them, for extraction tests that lay out a
page by hand."""

from __future__ import annotations

from pipeline.types import OcrLine


def line(text: str, x0: float, y0: float, x1: float, y1: float) -> OcrLine:
    """`text` read at the box (x0, y0)-(x1, y1) on page 1."""
    return OcrLine(text, 0.98, ((x0, y0), (x1, y0), (x1, y1), (x0, y1)), 1)
