"""Field extraction: OCR layout in, fields with confidence and source box out.

Extractors sit behind the `FieldExtractor` Protocol so a learned model can replace
the heuristics without touching callers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from pipeline.registry import Registry
from pipeline.types import Extraction, PageText

if TYPE_CHECKING:
    from pipeline.extract.evidence import FieldEvidence


class FieldExtractor(Protocol):
    """Reads fields from the text of a document's pages. Never raises on odd text:
    a field it cannot find is simply absent from the result."""

    name: str
    version: str

    def extract(self, pages: Sequence[PageText]) -> Extraction: ...


extractors: Registry[FieldExtractor] = Registry("field extractor")


@runtime_checkable
class ConfirmsWithEvidence(Protocol):
    """An extractor whose confidences an evidence model was fitted for: the
    pipeline hands it what the document says about each value once the line
    items are read (`pipeline.extract.calibration.Calibration.confirm`)."""

    def confirm(
        self,
        extraction: Extraction,
        evidence: Mapping[str, FieldEvidence],
        *,
        document_type: str,
    ) -> Extraction: ...
