"""Scanner batches built from dev documents, and how well the splitter cuts them.

Each batch is 2-5 real documents (invoices and receipts, multi-page ones
included) laid end to end in an order a seed fixes; the truth is where each
document began. The pages' text comes from the PDF text layer where there is
one and from the annotators' OCR lines for the SROIE receipts; with
`ocr=True` every page is rendered and read by the OCR engine instead, as a
scanned batch would be.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline.decode import DecodeLimits, decode_document
from pipeline.ocr import OcrEngine
from pipeline.ocr.recorded import page_text_from_boxes
from pipeline.splitting import SplitProposal, propose_split
from pipeline.types import PageText

# Folders of the dev datasets whose documents batches are made of.
PDF_SOURCES = (
    "zugferd-corpus",
    "misc-invoices",
    "invoice2data-tests",
    "deepform-vrdu-adbuy",
)
RECEIPTS = "sroie2019-receipts"


@dataclass(frozen=True)
class DevDocument:
    name: str  # folder/doc_id, for the report
    pages: tuple[PageText, ...]


@dataclass(frozen=True)
class Batch:
    documents: tuple[DevDocument, ...]

    @property
    def pages(self) -> tuple[PageText, ...]:
        """Every page renumbered in batch order, as the scanner would deliver."""
        numbered: list[PageText] = []
        for page in (page for document in self.documents for page in document.pages):
            number = len(numbered) + 1
            numbered.append(
                replace(
                    page,
                    page_number=number,
                    lines=tuple(
                        replace(line, page_number=number) for line in page.lines
                    ),
                )
            )
        return tuple(numbered)

    @property
    def true_starts(self) -> frozenset[int]:
        starts, page = [], 1
        for document in self.documents:
            starts.append(page)
            page += len(document.pages)
        return frozenset(starts)


@dataclass(frozen=True)
class BatchOutcome:
    batch: Batch
    proposal: SplitProposal
    seconds: float

    @property
    def exact(self) -> bool:
        return frozenset(self.proposal.starts) == self.batch.true_starts


@dataclass(frozen=True)
class SplitScore:
    batches: int
    exact: int
    true_boundaries: int  # page starts after page 1 that were found
    proposed_boundaries: int
    real_boundaries: int
    pages: int
    seconds: float  # the splitter's time, all batches

    @property
    def exact_share(self) -> float:
        return self.exact / self.batches if self.batches else 0.0

    @property
    def precision(self) -> float:
        if not self.proposed_boundaries:
            return 1.0
        return self.true_boundaries / self.proposed_boundaries

    @property
    def recall(self) -> float:
        if not self.real_boundaries:
            return 1.0
        return self.true_boundaries / self.real_boundaries


def dev_documents(
    datasets: Path,
    *,
    limits: DecodeLimits,
    ocr: OcrEngine | None,
    receipts: int,
    max_pages: int,
    sample: int = 0,
    seed: int = 0,
    progress: Callable[[str], None] = lambda _: None,
) -> list[DevDocument]:
    """The dev invoices (PDFs of at most `max_pages` pages) and `receipts`
    SROIE receipts, with their pages' text; `sample` > 0 keeps that many of
    them, drawn with `seed`, before any is read. With `ocr`, pages are
    rendered and read by it and text layers are ignored."""
    chosen: list[tuple[str, dict]] = [  # type: ignore[type-arg]
        (folder, row)
        for folder in PDF_SOURCES
        for row in _manifest(datasets / folder)
        if row["file"].lower().endswith(".pdf") and (row.get("pages") or 1) <= max_pages
    ]
    chosen += [(RECEIPTS, row) for row in _manifest(datasets / RECEIPTS)[:receipts]]
    if 0 < sample < len(chosen):
        # A fixed seed, for the same documents every run, not for secrecy.
        chosen = random.Random(seed).sample(chosen, sample)  # noqa: S311
    documents = []
    for folder, row in chosen:
        pages = (
            _receipt_pages(datasets, row, limits=limits, ocr=ocr)
            if folder == RECEIPTS
            else _pdf_pages(datasets / folder / row["file"], limits=limits, ocr=ocr)
        )
        documents.append(DevDocument(f"{folder}/{row['doc_id']}", pages))
        progress(f"{folder}/{row['doc_id']}: {len(pages)} pages")
    return documents


def _pdf_pages(
    path: Path, *, limits: DecodeLimits, ocr: OcrEngine | None
) -> tuple[PageText, ...]:
    return tuple(
        PageText(
            page_number=image.number,
            width=image.width,
            height=image.height,
            lines=ocr.recognize(image) if ocr is not None else image.text_lines or (),
            source="ocr" if ocr is not None else "pdf_text",
        )
        for image in decode_document(path.read_bytes(), limits)
    )


def _receipt_pages(
    datasets: Path,
    row: dict,  # type: ignore[type-arg]
    *,
    limits: DecodeLimits,
    ocr: OcrEngine | None,
) -> tuple[PageText, ...]:
    if ocr is not None:
        data = (datasets / RECEIPTS / row["file"]).read_bytes()
        image = decode_document(data, limits)[0]
        return (PageText(1, image.width, image.height, ocr.recognize(image), "ocr"),)
    boxes = datasets / RECEIPTS / "ocr_boxes" / f"{row['doc_id']}.txt"
    return (page_text_from_boxes(boxes.read_text(errors="replace")),)


def build_batches(
    documents: Sequence[DevDocument], *, count: int, seed: int
) -> list[Batch]:
    """`count` batches of 2-5 documents each, drawn with `seed`. A document
    never follows itself within a batch."""
    # A fixed seed for the same batches every run, not for secrecy.
    chooser = random.Random(seed)  # noqa: S311
    batches = []
    for _ in range(count):
        size = chooser.randint(2, 5)
        batches.append(Batch(tuple(chooser.sample(list(documents), size))))
    return batches


def single_documents(documents: Sequence[DevDocument]) -> list[Batch]:
    """Each multi-page document alone: a batch that must not be split."""
    return [Batch((document,)) for document in documents if len(document.pages) > 1]


def split_batches(batches: Sequence[Batch]) -> list[BatchOutcome]:
    outcomes = []
    for batch in batches:
        pages = batch.pages
        started = time.perf_counter()
        proposal = propose_split(pages)
        outcomes.append(BatchOutcome(batch, proposal, time.perf_counter() - started))
    return outcomes


def score(outcomes: Sequence[BatchOutcome]) -> SplitScore:
    true_found = proposed = real = pages = 0
    for outcome in outcomes:
        found = set(outcome.proposal.starts) - {1}
        truth = set(outcome.batch.true_starts) - {1}
        true_found += len(found & truth)
        proposed += len(found)
        real += len(truth)
        pages += len(outcome.proposal.pages)
    return SplitScore(
        batches=len(outcomes),
        exact=sum(outcome.exact for outcome in outcomes),
        true_boundaries=true_found,
        proposed_boundaries=proposed,
        real_boundaries=real,
        pages=pages,
        seconds=sum(outcome.seconds for outcome in outcomes),
    )


def _manifest(folder: Path) -> list[dict]:  # type: ignore[type-arg]
    with (folder / "manifest.jsonl").open() as rows:
        return [json.loads(row) for row in rows if row.strip()]
