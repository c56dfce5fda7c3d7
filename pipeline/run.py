"""The pipeline: decode -> text (PDF text layer or OCR) -> classify -> extract,
plus the e-invoice XML when a PDF carries one or the file is one.

Each stage takes and returns frozen dataclasses and is timed; any stage may raise
UnreadableDocument to end the run with a reason for the sender.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace

from pipeline.classify import CREDIT_NOTE, Classification, classify
from pipeline.decode import DecodeLimits, decode_document
from pipeline.einvoice import (
    EMBEDDED_SOURCE,
    FILE_SOURCE,
    XML_EXPLANATION,
    declared_classification,
    embedded_xml,
    merge_with_page,
    place_xml_lines,
    read_einvoice_lines,
    read_einvoice_xml,
)
from pipeline.extract import ConfirmsWithEvidence, FieldExtractor
from pipeline.extract.amount_reconciliation import credited_as_positive
from pipeline.extract.evidence import EvidenceContext, FieldEvidence, gather_evidence
from pipeline.extract.line_items import extract_line_items
from pipeline.extract.vendor_memory import VendorLayoutHint, apply_hints
from pipeline.filetypes import SNIFF_BYTES, XML, sniff
from pipeline.ocr import OcrEngine
from pipeline.preprocess import (
    DEFAULT_STEPS,
    ORIENTATION,
    AppliedStep,
    PreprocessResult,
    preprocess_page,
    turned_over,
)
from pipeline.types import ExtractedLine, Extraction, OcrLine, PageImage, PageText
from pipeline.validate.purchase_orders import invoice_net
from pipeline.validate.types import InvoiceData


@dataclass(frozen=True)
class ProcessedPage:
    image: PageImage
    text: PageText
    text_seconds: float  # OCR time, or ~0 for a PDF text layer
    # What preprocessing did to the image before OCR (`image` is the result).
    preprocessing: tuple[AppliedStep, ...] = ()
    preprocess_seconds: float = 0.0
    preprocess_cpu_seconds: float = 0.0


@dataclass(frozen=True)
class PipelineResult:
    pages: tuple[ProcessedPage, ...]
    extraction: Extraction
    ocr_engine: str
    extractor: str
    stage_seconds: dict[str, float] = field(default_factory=dict)
    # True when fields came from e-invoice XML: embedded Factur-X / ZUGFeRD, or
    # a UBL or CII file of its own.
    read_einvoice_xml: bool = False
    # What kind of document this is (invoice, receipt, credit note ...).
    classification: Classification | None = None
    # The invoice's lines: from the XML when it has them, else from the page.
    line_items: tuple[ExtractedLine, ...] = ()
    # What the document says about each value, and each value's confidence
    # before that evidence was weighed (what the evidence model is fitted on).
    evidence: dict[str, FieldEvidence] = field(default_factory=dict)
    finder_confidences: dict[str, float] = field(default_factory=dict)


# A page the orientation step left upside down reads as garbage OCR is unsure
# of: its lines' mean confidence was 0.69-0.72 on such dev pages, and 0.87 or
# more on every upright one (receipt photos included).
_UNSURE_READING = 0.8
_LINES_TO_JUDGE = 10
# The turned reading must be clearly surer to replace the first.
_SURER_BY = 0.05


def page_text(page: PageImage, ocr: OcrEngine) -> ProcessedPage:
    """A page's text from its PDF text layer when usable, else from OCR. A
    reading OCR is unsure of throughout is tried again on the page turned
    over, and the surer reading is kept, with the page it was read from."""
    started = time.perf_counter()
    turned: tuple[AppliedStep, ...] = ()
    if page.text_lines is not None:
        lines, source = page.text_lines, "pdf_text"
    else:
        lines, source = ocr.recognize(page), "ocr"
        sureness = _mean_confidence(lines)
        if len(lines) >= _LINES_TO_JUDGE and sureness < _UNSURE_READING:
            over = turned_over(page)
            again = ocr.recognize(over)
            if _mean_confidence(again) > sureness + _SURER_BY:
                page, lines = over, again
                turned = (AppliedStep(ORIENTATION, "turned 180° (read upside down)"),)
    text = PageText(
        page_number=page.number,
        width=page.width,
        height=page.height,
        lines=lines,
        source=source,  # type: ignore[arg-type]
    )
    return ProcessedPage(page, text, time.perf_counter() - started, turned)


def _mean_confidence(lines: Sequence[OcrLine]) -> float:
    return sum(line.confidence for line in lines) / len(lines) if lines else 0.0


def run_pipeline(
    data: bytes,
    *,
    ocr: OcrEngine,
    extractor: FieldExtractor,
    limits: DecodeLimits,
    on_stage: Callable[[str], None] | None = None,
    layout_hints: Sequence[VendorLayoutHint] = (),
    preprocessing: Collection[str] = DEFAULT_STEPS,
    evidence_context: EvidenceContext | None = None,
    prepared: Prepared | None = None,
) -> PipelineResult:
    """Run every stage on one document's bytes (`prepared`: its pages already
    decoded and preprocessed by `prepare_document`). `layout_hints` (the vendor's
    memory, when the caller knows the vendor) win over the extractor wherever
    they locate a value of the learned shape. `preprocessing` names the
    image steps (pipeline.preprocess) scanned pages go through before OCR.
    `evidence_context` (arrival date, known vendors) lets more evidence be
    weighed; the worker and `evaluate` both go through here, so both see the
    same confidences.

    Raises UnreadableDocument (bad input, with a reason); anything else is a bug
    or an engine failure and propagates.
    """
    seconds: dict[str, float] = {}

    @contextmanager
    def stage(name: str) -> Iterator[None]:
        if on_stage is not None:
            on_stage(name)
        started = time.perf_counter()
        try:
            yield
        finally:
            seconds[name] = round(time.perf_counter() - started, 4)

    if prepared is None:
        prepared = prepare_document(
            data, limits=limits, preprocessing=preprocessing, stage=stage
        )
    else:
        seconds.update(prepared.seconds)
    with stage("text"):
        pages = tuple(read_page(done, ocr) for done in prepared.pages)
    return finish_pipeline(
        data,
        pages,
        ocr_engine=f"{ocr.name} {ocr.version}",
        extractor=extractor,
        limits=limits,
        layout_hints=layout_hints,
        evidence_context=evidence_context,
        stage=stage,
        seconds=seconds,
    )


@dataclass(frozen=True)
class Prepared:
    """A document's pages decoded and made ready for OCR."""

    pages: tuple[PreprocessResult, ...]
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def pages_to_read(self) -> int:
        """Pages that need OCR (not those with a usable PDF text layer)."""
        return sum(1 for done in self.pages if done.page.text_lines is None)


def prepare_document(
    data: bytes,
    *,
    limits: DecodeLimits,
    preprocessing: Collection[str] = DEFAULT_STEPS,
    stage: Callable[[str], AbstractContextManager[None]] | None = None,
) -> Prepared:
    """Decode and preprocess: the stages before text. Raises
    UnreadableDocument with a reason for the sender."""
    seconds: dict[str, float] = {}
    stage = stage or _timer(seconds)
    with stage("decode"):
        images = decode_document(data, limits)
    with stage("preprocess"):
        pages = tuple(preprocess_page(image, preprocessing) for image in images)
    return Prepared(pages, seconds)


def read_page(prepared: PreprocessResult, ocr: OcrEngine) -> ProcessedPage:
    """One preprocessed page's text, with what preprocessing did to it: the
    unit of work a page job does for a long document."""
    read = page_text(prepared.page, ocr)
    return replace(
        read,
        preprocessing=prepared.applied + read.preprocessing,
        preprocess_seconds=prepared.seconds,
        preprocess_cpu_seconds=prepared.cpu_seconds,
    )


def finish_pipeline(
    data: bytes,
    pages: tuple[ProcessedPage, ...],
    *,
    ocr_engine: str,
    extractor: FieldExtractor,
    limits: DecodeLimits,
    layout_hints: Sequence[VendorLayoutHint] = (),
    evidence_context: EvidenceContext | None = None,
    stage: Callable[[str], AbstractContextManager[None]] | None = None,
    seconds: dict[str, float] | None = None,
) -> PipelineResult:
    """The stages after every page has its text: classify, the embedded
    e-invoice, extract, line items and evidence. `run_pipeline` calls it
    after reading the pages itself; a document whose pages were read by
    separate jobs calls it once the last page is in."""
    seconds = {} if seconds is None else seconds
    stage = stage or _timer(seconds)
    with stage("classify"):
        classification = classify([page.text for page in pages])
    einvoice: Extraction | None = None
    xml: bytes | None = None
    standalone = sniff(data[:SNIFF_BYTES]) is XML
    source = FILE_SOURCE if standalone else EMBEDDED_SOURCE
    explanation = f"from {source}"
    if limits.use_text_layer:
        # Digital sources come first; `use_text_layer=False` (--ocr-only) reads
        # the document as a scan would be read and ignores the XML too.
        with stage("einvoice"):
            xml = data if standalone else embedded_xml(data)
            if xml is not None:
                einvoice = read_einvoice_xml(xml, explanation=explanation)
                einvoice = einvoice if einvoice.fields else None
                declared = declared_classification(xml, source=source)
                classification = declared or classification
    with stage("extract"):
        extraction = extractor.extract([page.text for page in pages])
        if einvoice is not None and standalone:
            # The page is our own layout of this XML: what the extractor reads
            # there adds nothing true, and the XML's values only need placing.
            extraction = merge_with_page(
                einvoice, Extraction(), [page.text for page in pages]
            )
        elif einvoice is not None:
            # The page is still read so a printed value contradicting the XML
            # is caught before anyone pays from it.
            extraction = merge_with_page(
                einvoice, extraction, [page.text for page in pages]
            )
        else:
            # Memory helps read print; XML is the vendor's own data and wins.
            extraction = apply_hints(
                extraction, [page.text for page in pages], layout_hints
            )
            if classification.document_type == CREDIT_NOTE:
                extraction = credited_as_positive(extraction)
    with stage("line_items"):
        line_items = document_line_items(
            [page.text for page in pages], extraction, xml, explanation=explanation
        )
    with stage("evidence"):
        confirmed = confirm_with_evidence(
            extraction,
            [page.text for page in pages],
            extractor=extractor,
            line_items=line_items,
            document_type=classification.document_type,
            context=evidence_context,
        )
    seconds["total"] = round(sum(v for k, v in seconds.items() if k != "total"), 4)
    return PipelineResult(
        pages=pages,
        extraction=confirmed.extraction,
        ocr_engine=ocr_engine,
        extractor=f"{extractor.name} {extractor.version}",
        stage_seconds=seconds,
        read_einvoice_xml=einvoice is not None,
        classification=classification,
        line_items=line_items,
        evidence=confirmed.evidence,
        finder_confidences=confirmed.finder_confidences,
    )


def _timer(
    seconds: dict[str, float],
) -> Callable[[str], AbstractContextManager[None]]:
    @contextmanager
    def stage(name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            seconds[name] = round(time.perf_counter() - started, 4)

    return stage


@dataclass(frozen=True)
class Confirmed:
    extraction: Extraction
    evidence: dict[str, FieldEvidence]
    finder_confidences: dict[str, float]


def confirm_with_evidence(
    extraction: Extraction,
    pages: Sequence[PageText],
    *,
    extractor: FieldExtractor,
    line_items: Sequence[ExtractedLine],
    document_type: str,
    context: EvidenceContext | None,
) -> Confirmed:
    """The evidence stage: what the document says about each value, weighed
    by the extractor's evidence model when it has one (an extractor without
    one keeps its confidences; the evidence is still recorded)."""
    evidence = gather_evidence(
        extraction, pages, line_items=line_items, context=context
    )
    finder = {value.name: value.confidence for value in extraction.fields}
    if isinstance(extractor, ConfirmsWithEvidence):
        extraction = extractor.confirm(
            extraction, evidence, document_type=document_type
        )
    return Confirmed(extraction, evidence, finder)


def read_text_pages(
    pages: Sequence[PageText],
    *,
    extractor: FieldExtractor,
    evidence_context: EvidenceContext | None = None,
) -> tuple[Classification, Confirmed]:
    """The stages after text for pages whose text is already known (recorded
    OCR lines): classify, extract, line items, evidence, as `run_pipeline`
    runs them, so a text-only measurement sees the product's confidences."""
    classification = classify(pages)
    extraction = extractor.extract(pages)
    line_items = document_line_items(list(pages), extraction, None)
    confirmed = confirm_with_evidence(
        extraction,
        pages,
        extractor=extractor,
        line_items=line_items,
        document_type=classification.document_type,
        context=evidence_context,
    )
    return classification, confirmed


def document_line_items(
    pages: list[PageText],
    extraction: Extraction,
    xml: bytes | None,
    *,
    explanation: str = XML_EXPLANATION,
) -> tuple[ExtractedLine, ...]:
    """The XML's lines (placed on the page where printed) when it carries any,
    else the lines read from the page layout, checked against the net amount."""
    fields = {field.name: field.value for field in extraction.fields}
    net = invoice_net(InvoiceData(document_type="invoice", fields=fields))
    printed = extract_line_items(pages, subtotal=net)
    from_xml = (
        read_einvoice_lines(xml, explanation=explanation) if xml is not None else ()
    )
    return place_xml_lines(from_xml, printed) if from_xml else printed
