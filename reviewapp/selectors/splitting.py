"""Reads about batches: the split page, a part's pages as the batch read
them, and the values a batch page shows that must be masked."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.extract.heuristic import HeuristicExtractor
from pipeline.run import ProcessedPage
from pipeline.splitting import parts_from_starts
from pipeline.types import OcrLine, PageImage, PageText
from reviewapp.models.documents import BatchSplit, Document, Page

BATCH_STATUSES = (Document.Status.SPLIT_TO_CONFIRM, Document.Status.SPLIT)


@dataclass(frozen=True)
class SplitPage:
    number: int
    starts_document: bool  # as the split stands now (confirmed, else proposed)
    proposed_start: bool
    confidence: float
    reasons: tuple[str, ...]
    part: int  # 1-based part this page falls in


@dataclass(frozen=True)
class SplitReview:
    batch: Document
    pages: tuple[SplitPage, ...]
    parts: tuple[tuple[int, ...], ...]
    confirmed: bool
    split: BatchSplit
    # The documents the confirmed parts became, in part order.
    part_documents: tuple[Document, ...]

    @property
    def least_confidence(self) -> float | None:
        """How sure the least sure decision was (page 1 always starts)."""
        return min((page.confidence for page in self.pages[1:]), default=None)


def split_review(batch: Document) -> SplitReview | None:
    """The split of a batch as its page shows it, or None when the document
    is not a batch."""
    split = BatchSplit.objects.filter(batch=batch).select_related("confirmed_by")
    found = split.first()
    if found is None:
        return None
    numbers = [int(page["page"]) for page in found.proposal]
    starts = tuple(found.starts or found.proposed_starts)
    parts = parts_from_starts(starts, numbers)
    part_of = {number: index for index, part in enumerate(parts, 1) for number in part}
    pages = tuple(
        SplitPage(
            number=int(page["page"]),
            starts_document=int(page["page"]) in starts,
            proposed_start=bool(page["starts_document"]),
            confidence=float(page["confidence"]),
            reasons=tuple(page["reasons"]),
            part=part_of[int(page["page"])],
        )
        for page in found.proposal
    )
    by_pages = {
        tuple(document.split_pages): document
        for document in batch.split_parts.order_by("id")
    }
    return SplitReview(
        batch=batch,
        pages=pages,
        parts=parts,
        confirmed=found.confirmed_at is not None,
        split=found,
        part_documents=tuple(by_pages[part] for part in parts if part in by_pages),
    )


def split_settled(document: Document) -> bool:
    """A part of a batch, or a batch a person confirmed as one document:
    never proposed for splitting again."""
    return (
        document.split_from_id is not None
        or BatchSplit.objects.filter(
            batch=document, confirmed_at__isnull=False
        ).exists()
    )


def stored_pages_for_reading(document: Document) -> tuple[ProcessedPage, ...] | None:
    """The pages of a part of a batch as the batch read them (image and text,
    renumbered from 1), so extraction reads no page twice; also a batch a
    person confirmed as one document. None when there is nothing stored to
    reuse (not from a batch, or the batch's pages are gone)."""
    if document.split_from_id is not None:
        source, numbers = document.split_from, list(document.split_pages)
    elif BatchSplit.objects.filter(batch=document, confirmed_at__isnull=False).exists():
        source = document
        numbers = list(document.pages.values_list("number", flat=True))
    else:
        return None
    if source is None or source.purged_at is not None or not numbers:
        return None
    stored = {
        page.number: page
        for page in Page.objects.filter(
            document=source, number__in=numbers
        ).prefetch_related("lines")
    }
    if set(stored) != set(numbers) or not all(page.image for page in stored.values()):
        return None
    pages = []
    for new_number, old_number in enumerate(numbers, start=1):
        page = stored[old_number]
        with page.image.open("rb") as image_file:
            image_bytes = image_file.read()
        lines = tuple(
            OcrLine(
                text=line.text,
                confidence=line.confidence,
                polygon=tuple(tuple(point) for point in line.polygon),  # type: ignore[arg-type]
                page_number=new_number,
            )
            for line in page.lines.all()
        )
        image = PageImage(
            number=new_number,
            width=page.width,
            height=page.height,
            dpi=page.dpi,
            image_bytes=image_bytes,
            image_format="JPEG",
            text_lines=lines if page.text_source == Page.TextSource.PDF_TEXT else None,
        )
        text = PageText(
            page_number=new_number,
            width=page.width,
            height=page.height,
            lines=lines,
            source=page.text_source,  # type: ignore[arg-type]
        )
        pages.append(ProcessedPage(image=image, text=text, text_seconds=0.0))
    return tuple(pages)


def batch_page_values(page: Page) -> list[tuple[str, str]]:
    """(field name, value) for what a batch page shows: a batch has no fields
    of its own, so the values to mask on its pages are read off the page
    itself (an IBAN, a VAT id ...), as the extractor would read them."""
    if page.document.status not in BATCH_STATUSES:
        return []
    lines = tuple(
        OcrLine(
            line.text,
            line.confidence,
            tuple(tuple(point) for point in line.polygon),  # type: ignore[arg-type]
            page.number,
        )
        for line in page.lines.all()
    )
    text = PageText(page.number, page.width, page.height, lines, "ocr")
    extraction = HeuristicExtractor().extract([text])
    return [
        (value.name, candidate)
        for value in extraction.fields
        for candidate in (value.value, value.raw_value)
    ]
