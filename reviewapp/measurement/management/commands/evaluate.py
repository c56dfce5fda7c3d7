"""Measure extraction against labelled documents: the numbers behind every
change to OCR, extraction or confidence.

Reads dataset manifests (`../shared/datasets/README.md`), runs the production
pipeline on each document exactly as a worker would, compares every labelled
field after the product's own normalisation, and prints per document type and
field: exact and fuzzy accuracy, the share auto-accepted at the product's
thresholds (each shown with the number of held-out values behind it), the
error rate among those, and expected calibration error; plus touchless
documents and seconds per page.

`--cross-validate K` scores honestly on the dev data the shipped calibration
was fitted on: the evidence stage (pipeline.extract.calibration) is refitted
K times, each time without the fold being scored, and each fold is judged
with confidences and thresholds that never saw it.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rapidfuzz.distance import Levenshtein

from pipeline.errors import UnreadableDocument
from pipeline.extract import FieldExtractor, extractors
from pipeline.extract.calibration import takes_evidence
from pipeline.extract.calibration_fit import (
    EvidenceSample,
    cross_validated_confidences,
    expected_calibration_error,
)
from pipeline.extract.normalize import (
    compact_identifier,
    normalize_amount,
    normalize_date,
)
from pipeline.extract.vendor_directory import Directory
from pipeline.ocr import OcrEngine, ocr_engines
from pipeline.ocr.cache import CachingOcrEngine
from pipeline.ocr.recorded import page_text_from_boxes
from pipeline.preprocess import DEFAULT_STEPS, parse_steps
from pipeline.run import read_text_pages, run_pipeline
from pipeline.types import Extraction, PageText
from reviewapp.extraction_fields import (
    FIELD_KINDS,
    auto_accept_support,
    auto_accept_threshold,
)
from reviewapp.review_reasons import ROUTINE, reason_for
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
    # Before the evidence stage, and the evidence (kind -> +1 / -1): what the
    # calibration is fitted on (`calibrate_confidence`).
    finder_confidence: float | None = None
    evidence: dict[str, int] = field(default_factory=dict)
    threshold: float | None = None
    threshold_samples: int | None = None  # held-out values behind the threshold


@dataclass
class ExtractedField:
    """A value read from the document, labelled or not: routing looks at
    every one of them, so touchless does too."""

    name: str
    value: str
    confidence: float
    threshold: float
    explanation: str = ""
    finder_confidence: float | None = None
    evidence: dict[str, int] = field(default_factory=dict)


@dataclass
class DocumentResult:
    doc_id: str
    doc_type: str
    file: str
    read_as: str = ""  # the document type the pipeline classified it as
    pages: int = 0
    seconds: float = 0.0
    text_sources: list[str] = field(default_factory=list)
    # Per page: seconds spent preprocessing, and the steps that changed it.
    preprocess_seconds: list[float] = field(default_factory=list)
    preprocess_cpu_seconds: list[float] = field(default_factory=list)
    preprocessing: list[str] = field(default_factory=list)
    error: str = ""
    fields: list[FieldResult] = field(default_factory=list)
    unevaluated_labels: list[str] = field(default_factory=list)
    unreadable_labels: list[str] = field(default_factory=list)
    extracted: list[ExtractedField] = field(default_factory=list)

    @property
    def touchless(self) -> bool:
        """Nobody would look at it: every value read passes its threshold, as
        the routing judges it (review_reasons, the same function), and every
        labelled one was right."""
        fields = [(e.name, e.value, e.confidence) for e in self.extracted]
        thresholds = {e.name: e.threshold for e in self.extracted}
        return (
            not self.error
            and bool(self.fields)
            and all(f.auto_accepted and f.exact for f in self.fields)
            and reason_for(fields, flag_below=thresholds) == ROUTINE
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
            "--cross-validate",
            type=int,
            default=None,
            metavar="K",
            help="refit the evidence stage K times without the fold being scored "
            "(folds by document across every manifest given) and score each fold "
            "with those confidences and thresholds",
        )
        parser.add_argument(
            "--train-on",
            type=Path,
            nargs="*",
            default=[],
            metavar="REPORT",
            help="with --cross-validate: evaluate --json reports of other "
            "documents added to every fold's training (never the scored ones)",
        )
        parser.add_argument(
            "--history",
            type=Path,
            action="append",
            default=[],
            metavar="MANIFEST",
            help="count this manifest's documents as approved history before "
            "scoring (repeatable): their labels are what people confirmed, so "
            "the vendor directory learns their vendors, texts and layouts; a "
            "manifest that is also scored is refused",
        )
        parser.add_argument(
            "--ocr-cache",
            type=Path,
            default=None,
            metavar="DIR",
            help="remember OCR lines per page image in DIR (e.g. var/ocr-cache) "
            "so a second run skips OCR; seconds per page then measure the cache",
        )
        parser.add_argument(
            "--preprocess",
            default=None,
            metavar="STEPS",
            help="image steps before OCR: comma-separated names, 'all' or 'none' "
            f"(default: the production set, {','.join(sorted(DEFAULT_STEPS))})",
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
        try:
            steps = (
                DEFAULT_STEPS
                if options["preprocess"] is None
                else parse_steps(options["preprocess"])
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        evaluator = Evaluator(
            extractor=extractor,
            ocr_only=ocr_only,
            ocr_cache=options["ocr_cache"],
            preprocessing=steps,
        )
        folds: int | None = options["cross_validate"]
        if folds is not None and folds < 2:
            raise CommandError("--cross-validate needs at least 2 folds")
        history = self._learn_history(evaluator, options)
        scored = []
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
            scored.append((manifest, entries, documents))
        if folds is not None:
            extra = [
                sample
                for report in options["train_on"]
                for sample in evidence_samples(read_report(report))
            ]
            rescore_out_of_fold(
                [(m, d) for m, _, d in scored], folds=folds, extra=extra
            )
        reports = []
        for manifest, entries, documents in scored:
            mode = evaluator.mode_for(entries) + history
            if folds is not None:
                mode += f"; confidences {folds}-fold cross-validated"
            report = manifest_report(
                manifest,
                documents,
                mode=mode,
                ocr_engine=evaluator.ocr_name,
                extractor=f"{extractor.name} {extractor.version}",
                limit=limit,
                preprocessing=steps,
            )
            reports.append(report)
            self.stdout.write(render_report(report))
        if options["json"] is not None:
            options["json"].write_text(
                json.dumps({"manifests": reports}, indent=2, ensure_ascii=False) + "\n"
            )

    def _learn_history(self, evaluator: Evaluator, options: dict[str, Any]) -> str:
        """Read every history document and approve it with its labels into a
        fresh vendor directory; returns the report's note on it ("" when no
        history was given: the cold figures)."""
        manifests: list[Path] = options["history"]
        if not manifests:
            return ""
        scored = {m.resolve() for m in options["manifests"]}
        if any(m.resolve() in scored for m in manifests):
            raise CommandError(
                "a scored manifest cannot be its own history: every document "
                "would be read with what it taught"
            )
        evaluator.directory = Directory()
        approved = 0
        for manifest in manifests:
            for entry in read_manifest(manifest):
                if evaluator.approve(manifest.parent, entry):
                    approved += 1
            if options["verbosity"] >= 2:
                self.stderr.write(f"history: {manifest} read ({approved} so far)")
        vendors = len(evaluator.directory.vendors)
        names = ", ".join(m.parent.name for m in manifests)
        return (
            f"; warm: {approved} approved documents of {names} as history "
            f"({vendors} vendors in the directory)"
        )


def read_report(path: Path) -> dict[str, Any]:
    """An `evaluate --json` report. Raises CommandError for anything else."""
    try:
        report = json.loads(path.read_bytes())
        if not all("documents" in manifest for manifest in report["manifests"]):
            raise KeyError("documents")
    except (OSError, ValueError, KeyError, IndexError, TypeError) as error:
        raise CommandError(
            f"{path} is not an evaluate --json report ({error})"
        ) from None
    return report


def document_key(manifest: str | Path, doc_id: str) -> str:
    """A document's name across reports: its dataset folder and its id, so
    the same document read two ways (text layer, --ocr-only) shares a fold."""
    return f"{Path(manifest).parent.name}#{doc_id}"


def evidence_samples(report: dict[str, Any]) -> list[EvidenceSample]:
    """Every extracted, labelled field of a report whose confidence the
    evidence stage sets, as a calibration sample."""
    samples = []
    for manifest in report["manifests"]:
        for document in manifest["documents"]:
            for result in document["fields"]:
                finder = result.get("finder_confidence")
                if result["predicted"] is None or finder is None:
                    continue
                if not takes_evidence(result["explanation"], finder):
                    continue
                samples.append(
                    EvidenceSample(
                        document=document_key(manifest["manifest"], document["doc_id"]),
                        source=Path(manifest["manifest"]).parent.name,
                        document_type=document.get("read_as") or document["doc_type"],
                        field=result["name"],
                        finder_confidence=float(finder),
                        signals=dict(result.get("evidence", {})),
                        correct=bool(result["exact"]),
                    )
                )
    return samples


def _sample(
    manifest: Path,
    document: DocumentResult,
    name: str,
    finder_confidence: float,
    evidence: dict[str, int],
    correct: bool,
) -> EvidenceSample:
    return EvidenceSample(
        document=document_key(manifest, document.doc_id),
        source=manifest.parent.name,
        document_type=document.read_as or document.doc_type,
        field=name,
        finder_confidence=finder_confidence,
        signals=evidence,
        correct=correct,
    )


def rescore_out_of_fold(
    scored: Sequence[tuple[Path, Sequence[DocumentResult]]],
    *,
    folds: int,
    extra: Sequence[EvidenceSample],
) -> None:
    """Replace each value's confidence, threshold and verdict with those of an
    evidence stage fitted without its fold (plus `extra`, minus any sample of
    a scored document). Labelled values train the other folds; unlabelled
    ones are only judged."""
    labelled: list[tuple[EvidenceSample, FieldResult, ExtractedField | None]] = []
    unlabelled: list[tuple[EvidenceSample, ExtractedField]] = []
    for manifest, documents in scored:
        for document in documents:
            by_name = {e.name: e for e in document.extracted}
            label_names = {r.name for r in document.fields}

            unlabelled_values = [
                e for e in document.extracted if e.name not in label_names
            ]
            for value in [*document.fields, *unlabelled_values]:
                finder = value.finder_confidence
                if finder is None or not takes_evidence(value.explanation, finder):
                    continue
                if isinstance(value, FieldResult):
                    if value.predicted is None:
                        continue
                    sample = _sample(
                        manifest,
                        document,
                        value.name,
                        finder,
                        value.evidence,
                        value.exact,
                    )
                    labelled.append((sample, value, by_name.get(value.name)))
                else:
                    sample = _sample(
                        manifest, document, value.name, finder, value.evidence, False
                    )
                    unlabelled.append((sample, value))
    scored_keys = {s.document for s, _, _ in labelled} | {
        s.document for s, _ in unlabelled
    }
    training = [s for s in extra if s.document not in scored_keys]
    judged, judged_unlabelled = cross_validated_confidences(
        [s for s, _, _ in labelled],
        folds=folds,
        extra=training,
        unlabelled=[s for s, _ in unlabelled],
    )
    for (_, result, extracted), (confidence, threshold, support) in zip(
        labelled, judged, strict=True
    ):
        result.confidence = confidence
        result.threshold = threshold
        result.threshold_samples = support
        result.auto_accepted = confidence >= threshold
        if extracted is not None:
            extracted.confidence, extracted.threshold = confidence, threshold
    for (_, extracted), (confidence, threshold, _) in zip(
        unlabelled, judged_unlabelled, strict=True
    ):
        extracted.confidence, extracted.threshold = confidence, threshold


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


@dataclass(frozen=True)
class Reading:
    """What the pipeline read from one document, with the evidence stage's
    inputs (per field: evidence signals, confidence before the evidence)."""

    extraction: Extraction
    evidence: dict[str, dict[str, int]]
    finder_confidences: dict[str, float]


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


def score_field(name: str, label: str, read: Reading) -> FieldResult:
    found = read.extraction.get(name)
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
        finder_confidence=read.finder_confidences.get(name),
        evidence=read.evidence.get(name, {}),
        threshold=auto_accept_threshold(name),
        threshold_samples=auto_accept_support(name),
    )


def field_metrics(results: Sequence[FieldResult]) -> dict[str, Any]:
    """Rates for one field over the documents that label it (percentages)."""
    labelled = len(results)
    found = [r for r in results if r.predicted is not None]
    accepted = [r for r in found if r.auto_accepted]

    def share(count: int, of: int) -> float | None:
        return round(100 * count / of, 1) if of else None

    ece = expected_calibration_error((r.confidence or 0.0, r.exact) for r in found)
    thresholds = sorted({r.threshold for r in found if r.threshold is not None})
    supports = [r.threshold_samples for r in found if r.threshold_samples is not None]
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
        # Cross-validated, each fold has its own threshold: their range.
        "threshold": [thresholds[0], thresholds[-1]] if thresholds else None,
        "threshold_samples": max(supports) if supports else None,
    }


def manifest_report(
    manifest: Path,
    documents: Sequence[DocumentResult],
    *,
    mode: str,
    ocr_engine: str,
    extractor: str,
    limit: int | None,
    preprocessing: Collection[str] = (),
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
    page_seconds = [s for d in documents for s in d.preprocess_seconds]
    cpu_seconds = [s for d in documents for s in d.preprocess_cpu_seconds]
    return {
        "manifest": str(manifest),
        "mode": mode,
        "preprocessing": {
            "steps": sorted(preprocessing),
            "seconds_per_page_p50": round(statistics.median(page_seconds), 3)
            if page_seconds
            else None,
            "seconds_per_page_p95": round(
                statistics.quantiles(page_seconds, n=20)[-1], 3
            )
            if len(page_seconds) >= 2
            else None,
            "cpu_seconds_per_page_p50": round(statistics.median(cpu_seconds), 3)
            if cpu_seconds
            else None,
            "applied": dict(
                sorted(Counter(n for d in documents for n in d.preprocessing).items())
            ),
        },
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


def _threshold_text(metrics: dict[str, Any]) -> str:
    span = metrics.get("threshold")
    if not span:
        return "-"
    low, high = span
    return f"{low:.3f}" if low == high else f"{low:.2f}-{high:.2f}"


def _metrics_row(name: str, metrics: dict[str, Any], pooled: bool = False) -> str:
    ece = metrics["ece"]
    support = metrics.get("threshold_samples")
    return (
        f"{name:<17}{metrics['labelled']:>5}{metrics['found']:>7}"
        f"{_percent(metrics['exact']):>8}{_percent(metrics['fuzzy']):>8}"
        f"{_percent(metrics['auto_accepted']):>8}"
        f"{_percent(metrics['error_when_auto_accepted']):>11}"
        f"{'-' if ece is None else f'{ece:.3f}':>7}"
        + ("" if pooled else f"{_threshold_text(metrics):>12}{support or '-':>7}")
    )


def render_report(report: dict[str, Any]) -> str:
    out = [
        f"Manifest     {report['manifest']}"
        + (f" (first {report['limit']} documents)" if report["limit"] else ""),
        f"Mode         {report['mode']}",
        f"OCR engine   {report['ocr_engine']}",
        f"Extractor    {report['extractor']}",
    ]
    preprocessing = report["preprocessing"]
    if preprocessing["seconds_per_page_p50"] is not None:
        applied = ", ".join(
            f"{name} {count}" for name, count in preprocessing["applied"].items()
        )
        out.append(
            f"Preprocess   {','.join(preprocessing['steps']) or 'none'}: "
            f"p50 {preprocessing['seconds_per_page_p50']:.2f} s/page, "
            f"p95 {preprocessing['seconds_per_page_p95'] or 0:.2f} "
            f"(processor p50 {preprocessing['cpu_seconds_per_page_p50']:.2f}); "
            f"pages changed by {applied or 'no step'}"
        )
    if report["unevaluated_labels"]:
        out.append(
            "Not scored   "
            + ", ".join(report["unevaluated_labels"])
            + " (labels this product does not extract)"
        )
    header = (
        f"{'field':<17}{'n':>5}{'found':>7}{'exact%':>8}{'fuzzy%':>8}"
        f"{'auto%':>8}{'err|auto%':>11}{'ECE':>7}{'threshold':>12}{'n|thr':>7}"
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
        out += [_metrics_row(name, m) for name, m in summary["fields"].items()]
        out.append(_metrics_row("(all fields)", summary["all_fields"], pooled=True))
    if report["unreadable_labels"]:
        out += ["", "Labels not scored because their value cannot be read"]
        out += [f"  {label}" for label in report["unreadable_labels"]]
    failed = [d for d in report["documents"] if d["error"]]
    if failed:
        out += ["", "Failed"] + [f"  {d['doc_id']}: {d['error']}" for d in failed]
    return "\n".join(out) + "\n"
