"""OCR engines behind one Protocol, chosen by dotted path, loaded once per process."""

from __future__ import annotations

from typing import Protocol

from pipeline.registry import Registry
from pipeline.types import OcrLine, PageImage


class OcrEngine(Protocol):
    """Reads the text lines of one page image. Raises UnreadableDocument only for
    an image it cannot decode; a blank page gives an empty tuple."""

    name: str
    version: str

    def recognize(self, page: PageImage) -> tuple[OcrLine, ...]: ...


ocr_engines: Registry[OcrEngine] = Registry("OCR engine")
