"""Field extraction: OCR layout in, fields with confidence and source box out.

Extractors sit behind the `FieldExtractor` Protocol so a learned model can replace
the heuristics without touching callers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pipeline.registry import Registry
from pipeline.types import Extraction, PageText


class FieldExtractor(Protocol):
    """Reads fields from the text of a document's pages. Never raises on odd text:
    a field it cannot find is simply absent from the result."""

    name: str
    version: str

    def extract(self, pages: Sequence[PageText]) -> Extraction: ...


extractors: Registry[FieldExtractor] = Registry("field extractor")
