"""Reads one labelled document the way production does (or from recorded lines)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from django.conf import settings

from pipeline.errors import UnreadableDocument
from pipeline.extract import FieldExtractor
from pipeline.extract.vendor_learning import (
    Directory,
)
from pipeline.ocr import OcrEngine, ocr_engines
from pipeline.ocr.cache import CachingOcrEngine
from pipeline.ocr.recorded import page_text_from_boxes
from pipeline.preprocess import DEFAULT_STEPS
from pipeline.run import read_text_pages, run_pipeline
from pipeline.types import Extraction, PageText
from reviewapp.extraction_fields import (
    FIELD_KINDS,
    auto_accept_threshold,
)
from reviewapp.measurement.scoring import (
    DocumentResult,
    ExtractedField,
    Reading,
    manifest_labels,
    score_field,
)
from reviewapp.services.ingest import decode_limits


class Evaluator:
    """Runs one manifest entry through the pipeline and scores its fields."""

    def __init__(
        self,
        *,
        extractor: FieldExtractor,
        ocr_only: bool,
        ocr_cache: Path | None = None,
        preprocessing: frozenset[str] = DEFAULT_STEPS,
    ) -> None:
        self.extractor = extractor
        self.preprocessing = preprocessing
        self.ocr_cache = ocr_cache
        self.ocr_only = ocr_only
        self.limits = decode_limits(use_text_layer=not ocr_only)
        self._ocr: OcrEngine | None = None
        # With history: the vendor directory every scored document is read with.
        self.directory: Directory | None = None

    @property
    def ocr(self) -> OcrEngine:
        # Loaded on first use: a text-only manifest needs no OCR engine.
        if self._ocr is None:
            self._ocr = ocr_engines.get(settings.VOUCH_OCR_ENGINE)
            if self.ocr_cache is not None:
                self._ocr = CachingOcrEngine(self._ocr, self.ocr_cache)
        return self._ocr

    @property
    def ocr_name(self) -> str:
        return f"{self._ocr.name} {self._ocr.version}" if self._ocr else "not used"

    def mode_for(self, entries: Sequence[dict[str, Any]]) -> str:
        if entries and all(not e.get("file") for e in entries):
            return (
                "recorded OCR lines fed to the extractor: measures extraction "
                "only (no decode, no OCR)"
            )
        if self.ocr_only:
            return "OCR only: PDF text layers and embedded XML ignored"
        return "production: PDF text layer and e-invoice XML when present, else OCR"

    def evaluate(self, folder: Path, entry: dict[str, Any]) -> DocumentResult:
        result = DocumentResult(
            doc_id=str(entry.get("doc_id", "")),
            doc_type=str(entry.get("doc_type", "unknown")),
            file=str(entry.get("file") or entry.get("ocr_boxes_file") or ""),
        )
        labels, not_extracted, unreadable = manifest_labels(entry)
        result.unevaluated_labels = not_extracted
        result.unreadable_labels = unreadable
        read, pages = self.read_entry(folder, entry, result)
        if self.directory is not None and pages:
            read = replace(
                read,
                extraction=self.directory.read(read.extraction, pages).extraction,
            )
        result.fields = [
            score_field(name, label, read) for name, label in labels.items()
        ]
        result.extracted = [
            ExtractedField(
                name=found.name,
                value=found.value,
                confidence=found.confidence,
                threshold=auto_accept_threshold(found.name),
                explanation=found.explanation,
                finder_confidence=read.finder_confidences.get(found.name),
                evidence=read.evidence.get(found.name, {}),
            )
            for found in read.extraction.fields
        ]
        return result

    def approve(self, folder: Path, entry: dict[str, Any]) -> bool:
        """Read a history document and approve it with its labels (the values
        a person confirmed) into the directory. False when it is unreadable."""
        assert self.directory is not None
        result = DocumentResult(
            doc_id=str(entry.get("doc_id", "")), doc_type="", file=""
        )
        labels, _, _ = manifest_labels(entry)
        reading, pages = self.read_entry(folder, entry, result)
        if result.error or not pages:
            return False
        read = self.directory.read(reading.extraction, pages).extraction
        self.directory.approve(
            read,
            pages,
            labels,
            kinds=FIELD_KINDS,
            document=f"{folder.name}/{result.doc_id}",
            day="history",
        )
        return True

    def read_entry(
        self, folder: Path, entry: dict[str, Any], result: DocumentResult
    ) -> tuple[Reading, list[PageText]]:
        """The entry's reading and the pages it was read from (none for an
        e-invoice read from its XML); a failure is noted in `result.error`."""
        try:
            if entry.get("file"):
                return self._run_pipeline(folder / str(entry["file"]), result)
            if entry.get("ocr_boxes_file"):
                return self._extract_recorded(
                    folder / str(entry["ocr_boxes_file"]), result
                )
            result.error = "the entry has neither file nor ocr_boxes_file"
        except UnreadableDocument as unreadable:
            result.error = unreadable.reason
        except OSError as error:
            result.error = f"could not read the file ({error})"
        return Reading(Extraction(), {}, {}), []

    def _run_pipeline(
        self, path: Path, result: DocumentResult
    ) -> tuple[Reading, list[PageText]]:
        data = path.read_bytes()
        outcome = run_pipeline(
            data,
            ocr=self.ocr,
            extractor=self.extractor,
            limits=self.limits,
            preprocessing=self.preprocessing,
        )
        result.pages = len(outcome.pages)
        result.preprocess_seconds = [page.preprocess_seconds for page in outcome.pages]
        result.preprocess_cpu_seconds = [
            page.preprocess_cpu_seconds for page in outcome.pages
        ]
        result.preprocessing = [
            step.name for page in outcome.pages for step in page.preprocessing
        ]
        result.seconds = outcome.stage_seconds["total"]
        if outcome.classification is not None:
            result.read_as = outcome.classification.document_type
        sources = {page.text.source for page in outcome.pages}
        if outcome.read_einvoice_xml:
            sources.add("xml")
        result.text_sources = sorted(sources)
        reading = Reading(
            outcome.extraction,
            {name: dict(found.signals) for name, found in outcome.evidence.items()},
            outcome.finder_confidences,
        )
        if outcome.read_einvoice_xml:
            # The XML's values are the invoice's own: nothing to add to them.
            return reading, []
        return reading, [page.text for page in outcome.pages]

    def _extract_recorded(
        self, path: Path, result: DocumentResult
    ) -> tuple[Reading, list[PageText]]:
        page = page_text_from_boxes(path.read_text(encoding="utf-8"))
        started = time.perf_counter()
        classification, confirmed = read_text_pages([page], extractor=self.extractor)
        result.pages = 1
        result.seconds = round(time.perf_counter() - started, 4)
        result.read_as = classification.document_type
        result.text_sources = ["recorded"]
        reading = Reading(
            confirmed.extraction,
            {name: dict(found.signals) for name, found in confirmed.evidence.items()},
            confirmed.finder_confidences,
        )
        return reading, [page]
