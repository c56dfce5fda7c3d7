"""Measure extraction against labelled documents: the numbers behind every
change to OCR, extraction or confidence.

Reads dataset manifests (`../shared/datasets/README.md`), runs the production
pipeline on each document exactly as a worker would, compares every labelled
field after the product's own normalisation, and prints per document type and
field: exact and fuzzy accuracy, the share auto-accepted at the product's
thresholds, the error rate among those, and expected calibration error; plus
touchless documents and seconds per page.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rapidfuzz.distance import Levenshtein

from pipeline.errors import UnreadableDocument
from pipeline.extract import FieldExtractor, extractors
from pipeline.extract.calibration_fit import expected_calibration_error
from pipeline.extract.normalize import (
    compact_identifier,
    normalize_amount,
    normalize_date,
)
from pipeline.ocr import OcrEngine, ocr_engines
from pipeline.ocr.cache import CachingOcrEngine
from pipeline.ocr.recorded import page_text_from_boxes
from pipeline.run import run_pipeline
from pipeline.types import Extraction
from reviewapp.extraction_fields import (
    FIELD_KINDS,
    auto_accept_threshold,
)
from reviewapp.services.ingest import decode_limits

FUZZY_THRESHOLD = 0.9
# Manifest label names that differ from ours.
LABEL_ALIASES = {"address": "vendor_address"}
# SROIE's upstream keys, for manifests that carry only `raw_labels`.
RAW_LABEL_ALIASES = {
    "company": "vendor_name",
    "address": "vendor_address",
    "date": "invoice_date",
    "total": "total_amount",
}
_IDENTIFIER_FIELDS = frozenset({"iban", "bic", "vendor_vat_id"})


@dataclass
class FieldResult:
    name: str
    label: str  # normalised
    predicted: str | None  # normalised, None when not extracted
    raw_value: str | None
    confidence: float | None
    exact: bool
    fuzzy: bool
    similarity: float  # normalised Levenshtein similarity of the compared forms
    auto_accepted: bool
    explanation: str = ""


@dataclass
class DocumentResult:
    doc_id: str
    doc_type: str
    file: str
    pages: int = 0
    seconds: float = 0.0
    text_sources: list[str] = field(default_factory=list)
    error: str = ""
    fields: list[FieldResult] = field(default_factory=list)
    unevaluated_labels: list[str] = field(default_factory=list)
    unreadable_labels: list[str] = field(default_factory=list)

    @property
    def touchless(self) -> bool:
        """Every labelled field was accepted without review, and was right."""
        return (
            not self.error
            and bool(self.fields)
            and all(f.auto_accepted and f.exact for f in self.fields)
        )


class Command(BaseCommand):
    help = (
        "Run the production pipeline on dataset manifests and print per document "
        "type and field: exact/fuzzy accuracy, auto-accepted share, error among "
        "auto-accepted, calibration error, touchless documents, seconds per page."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("manifests", nargs="+", type=Path, metavar="MANIFEST")
        parser.add_argument(
            "--ocr-only",
            action="store_true",
            help="ignore PDF text layers and embedded e-invoice XML: OCR every page",
        )
        parser.add_argument(
            "--json", type=Path, default=None, help="write per-document results here"
        )
        parser.add_argument(
            "--limit", type=int, default=None, help="only the first N documents"
        )
        parser.add_argument(
            "--ocr-cache",
            type=Path,
            default=None,
            metavar="DIR",
            help="remember OCR lines per page image in DIR (e.g. var/ocr-cache) "
            "so a second run skips OCR; seconds per page then measure the cache",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        limit: int | None = options["limit"]
        if limit is not None and limit < 1:
            raise CommandError("--limit must be at least 1")
        ocr_only: bool = options["ocr_only"]
        # factur-x narrates every PDF it opens, with or without XML (a warning
        # for every plain PDF); the table is this command's output.
        logging.getLogger("factur-x").setLevel(logging.ERROR)
        extractor = extractors.get(settings.VOUCH_EXTRACTOR)
        evaluator = Evaluator(
            extractor=extractor, ocr_only=ocr_only, ocr_cache=options["ocr_cache"]
        )
        reports = []
        for manifest in options["manifests"]:
            entries = read_manifest(manifest)[:limit]
            documents = []
            for index, entry in enumerate(entries, start=1):
                documents.append(evaluator.evaluate(manifest.parent, entry))
                if options["verbosity"] >= 2:
                    self.stderr.write(
                        f"[{index}/{len(entries)}] {documents[-1].doc_id}: "
                        f"{documents[-1].seconds:.2f} s"
                    )
            report = manifest_report(
                manifest,
                documents,
                mode=evaluator.mode_for(entries),
                ocr_engine=evaluator.ocr_name,
                extractor=f"{extractor.name} {extractor.version}",
                limit=limit,
            )
            reports.append(report)
            self.stdout.write(render_report(report))
        if options["json"] is not None:
            options["json"].write_text(
                json.dumps({"manifests": reports}, indent=2, ensure_ascii=False) + "\n"
            )


def read_manifest(path: Path) -> list[dict[str, Any]]:
    """The manifest's entries in order. Raises CommandError for a missing file
    or a line that is not a JSON object."""
    if not path.is_file():
        raise CommandError(f"{path} is not a manifest file")
    entries = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as error:
            raise CommandError(f"{path}:{number} is not JSON ({error})") from None
        if not isinstance(entry, dict):
            raise CommandError(f"{path}:{number} is not a JSON object")
        entries.append(entry)
    return entries


class Evaluator:
    """Runs one manifest entry through the pipeline and scores its fields."""

    def __init__(
        self,
        *,
        extractor: FieldExtractor,
        ocr_only: bool,
        ocr_cache: Path | None = None,
    ) -> None:
        self.extractor = extractor
        self.ocr_cache = ocr_cache
        self.ocr_only = ocr_only
        self.limits = decode_limits(use_text_layer=not ocr_only)
        self._ocr: OcrEngine | None = None

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
        extraction = Extraction()
        try:
            if entry.get("file"):
                extraction = self._run_pipeline(folder / str(entry["file"]), result)
            elif entry.get("ocr_boxes_file"):
                extraction = self._extract_recorded(
                    folder / str(entry["ocr_boxes_file"]), result
                )
            else:
                result.error = "the entry has neither file nor ocr_boxes_file"
        except UnreadableDocument as unreadable:
            result.error = unreadable.reason
        except OSError as error:
            result.error = f"could not read the file ({error})"
        result.fields = [
            score_field(name, label, extraction) for name, label in labels.items()
        ]
        return result

    def _run_pipeline(self, path: Path, result: DocumentResult) -> Extraction:
        data = path.read_bytes()
        outcome = run_pipeline(
            data, ocr=self.ocr, extractor=self.extractor, limits=self.limits
        )
        result.pages = len(outcome.pages)
        result.seconds = outcome.stage_seconds["total"]
        sources = {page.text.source for page in outcome.pages}
        if outcome.read_einvoice_xml:
            sources.add("xml")
        result.text_sources = sorted(sources)
        return outcome.extraction

    def _extract_recorded(self, path: Path, result: DocumentResult) -> Extraction:
        page = page_text_from_boxes(path.read_text(encoding="utf-8"))
        started = time.perf_counter()
        extraction = self.extractor.extract([page])
        result.pages = 1
        result.seconds = round(time.perf_counter() - started, 4)
        result.text_sources = ["recorded"]
        return extraction


def manifest_labels(
    entry: dict[str, Any],
) -> tuple[dict[str, str], list[str], list[str]]:
    """Normalised labels under our field names; the label names we do not
    extract (reported, not scored); and labels whose value cannot be read as
    its kind ("date: 31/02/2018"), reported so no label silently disappears.
    Falls back to SROIE `raw_labels` when an entry has no `labels`."""
    labels: dict[str, str] = {}
    not_extracted: list[str] = []
    unreadable: list[str] = []
    source = entry.get("labels")
    aliases = LABEL_ALIASES
    if not source:
        source, aliases = entry.get("raw_labels") or {}, RAW_LABEL_ALIASES
    for key, value in source.items():
        name = aliases.get(key, key)
        if name not in FIELD_KINDS:
            not_extracted.append(key)
            continue
        if value in (None, ""):
            continue
        normalised = normalise_label(name, str(value))
        if normalised is None:
            unreadable.append(f"{key}={value}")
            continue
        labels[name] = normalised
    return labels, not_extracted, unreadable


def normalise_label(name: str, value: str) -> str | None:
    """A label in the form extracted values take. Lenient where the product is
    strict with people: a dataset's invalid sample IBAN is still its label."""
    kind = FIELD_KINDS[name]
    if kind == "amount":
        return normalize_amount(value)
    if kind == "date":
        return normalize_date(value)
    if name in _IDENTIFIER_FIELDS:
        return compact_identifier(value)
    return " ".join(value.split())


def comparable(name: str, value: str) -> str:
    """The form two values of field `name` are compared in."""
    kind = FIELD_KINDS[name]
    if kind == "amount":
        try:
            return str(Decimal(value).normalize())
        except InvalidOperation:
            return value
    if kind == "code":
        return "".join(value.split()).casefold()
    return " ".join(value.split()).casefold()


def score_field(name: str, label: str, extraction: Extraction) -> FieldResult:
    found = extraction.get(name)
    if found is None:
        return FieldResult(name, label, None, None, None, False, False, 0.0, False)
    expected, got = comparable(name, label), comparable(name, found.value)
    exact = expected == got
    similarity = Levenshtein.normalized_similarity(expected, got)
    fuzzy = exact or (FIELD_KINDS[name] == "text" and similarity >= FUZZY_THRESHOLD)
    return FieldResult(
        name=name,
        label=label,
        predicted=found.value,
        raw_value=found.raw_value,
        confidence=found.confidence,
        exact=exact,
        fuzzy=fuzzy,
        similarity=round(similarity, 3),
        auto_accepted=found.confidence >= auto_accept_threshold(name),
        explanation=found.explanation,
    )


def field_metrics(results: Sequence[FieldResult]) -> dict[str, Any]:
    """Rates for one field over the documents that label it (percentages)."""
    labelled = len(results)
    found = [r for r in results if r.predicted is not None]
    accepted = [r for r in found if r.auto_accepted]

    def share(count: int, of: int) -> float | None:
        return round(100 * count / of, 1) if of else None

    ece = expected_calibration_error((r.confidence or 0.0, r.exact) for r in found)
    return {
        "labelled": labelled,
        "found": len(found),
        "exact": share(sum(r.exact for r in results), labelled),
        "fuzzy": share(sum(r.fuzzy for r in results), labelled),
        "auto_accepted": share(len(accepted), labelled),
        "error_when_auto_accepted": share(
            sum(not r.exact for r in accepted), len(accepted)
        ),
        "ece": None if ece is None else round(ece, 3),
    }


def manifest_report(
    manifest: Path,
    documents: Sequence[DocumentResult],
    *,
    mode: str,
    ocr_engine: str,
    extractor: str,
    limit: int | None,
) -> dict[str, Any]:
    by_type: dict[str, list[DocumentResult]] = {}
    for document in documents:
        by_type.setdefault(document.doc_type, []).append(document)
    summary: dict[str, Any] = {}
    for doc_type, group in sorted(by_type.items()):
        names = [
            n for n in FIELD_KINDS if any(f.name == n for d in group for f in d.fields)
        ]
        pages = sum(d.pages for d in group)
        summary[doc_type] = {
            "documents": len(group),
            "failed": sum(bool(d.error) for d in group),
            "touchless": sum(d.touchless for d in group),
            "pages": pages,
            "seconds_per_page": round(sum(d.seconds for d in group) / pages, 3)
            if pages
            else None,
            "fields": {
                name: field_metrics(
                    [f for d in group for f in d.fields if f.name == name]
                )
                for name in names
            },
            # Every labelled field pooled: the product-level figures (share a
            # person never has to look at, and how often that is wrong).
            "all_fields": field_metrics([f for d in group for f in d.fields]),
        }
    unevaluated = sorted({label for d in documents for label in d.unevaluated_labels})
    unreadable = [
        f"{d.doc_id}: {label}" for d in documents for label in d.unreadable_labels
    ]
    return {
        "manifest": str(manifest),
        "mode": mode,
        "ocr_engine": ocr_engine,
        "extractor": extractor,
        "limit": limit,
        "unevaluated_labels": unevaluated,
        "unreadable_labels": unreadable,
        "summary": summary,
        "documents": [{**asdict(d), "touchless": d.touchless} for d in documents],
    }


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _metrics_row(name: str, metrics: dict[str, Any]) -> str:
    ece = metrics["ece"]
    return (
        f"{name:<17}{metrics['labelled']:>5}{metrics['found']:>7}"
        f"{_percent(metrics['exact']):>8}{_percent(metrics['fuzzy']):>8}"
        f"{_percent(metrics['auto_accepted']):>8}"
        f"{_percent(metrics['error_when_auto_accepted']):>11}"
        f"{'-' if ece is None else f'{ece:.3f}':>7}"
    )


def render_report(report: dict[str, Any]) -> str:
    out = [
        f"Manifest     {report['manifest']}"
        + (f" (first {report['limit']} documents)" if report["limit"] else ""),
        f"Mode         {report['mode']}",
        f"OCR engine   {report['ocr_engine']}",
        f"Extractor    {report['extractor']}",
    ]
    if report["unevaluated_labels"]:
        out.append(
            "Not scored   "
            + ", ".join(report["unevaluated_labels"])
            + " (labels this product does not extract)"
        )
    header = (
        f"{'field':<17}{'n':>5}{'found':>7}{'exact%':>8}{'fuzzy%':>8}"
        f"{'auto%':>8}{'err|auto%':>11}{'ECE':>7}"
    )
    for doc_type, summary in report["summary"].items():
        documents = summary["documents"]
        touchless = summary["touchless"]
        seconds = summary["seconds_per_page"]
        out += [
            "",
            f"{doc_type}: {documents} documents ({summary['failed']} failed), "
            f"{summary['pages']} pages, "
            f"{'-' if seconds is None else f'{seconds:.2f}'} s/page, "
            f"touchless {touchless}/{documents} "
            f"({100 * touchless / documents if documents else 0:.0f}%)",
            header,
        ]
        rows = [*summary["fields"].items(), ("(all fields)", summary["all_fields"])]
        out += [_metrics_row(name, metrics) for name, metrics in rows]
    if report["unreadable_labels"]:
        out += ["", "Labels not scored because their value cannot be read"]
        out += [f"  {label}" for label in report["unreadable_labels"]]
    failed = [d for d in report["documents"] if d["error"]]
    if failed:
        out += ["", "Failed"] + [f"  {d['doc_id']}: {d['error']}" for d in failed]
    return "\n".join(out) + "\n"
