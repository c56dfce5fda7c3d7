"""Splitting a scanned batch: which pages start a new document.

A scanner batch (one PDF or TIFF holding several invoices) is read page by
page; this module looks at each page's text and decides, for every page after
the first, whether it starts a new document or continues the one before. Each
decision carries its reasons (what a person checking it wants to see: "page 1
of 2", "new invoice number 4711") and a confidence.

The signals, weighed as log-odds of "this page starts a document":
  * a printed page counter ("Page 1 of 3", "Seite 2 von 2", "1/3"): page 1
    starts, page k > 1 never does; the page after "n of n" starts;
  * the invoice number read on the page (the extractor's own finder),
    compared with the number of the document being assembled;
  * the vendor and the page header (the top of the page), compared with the
    first page of the document being assembled;
  * a document title at the top ("Invoice", "Rechnung", "Facture");
  * carry-over cues ("carried forward", "Übertrag") that tie two pages, and a
    total at the foot of the page before, which tends to end a document;
  * a page with no text (the blank back of a sheet) continues.
Nothing is learned from particular files: the weights are few and round so
that they carry to documents never seen.
"""

from __future__ import annotations

import io
import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pypdfium2 as pdfium
from PIL import Image, ImageSequence
from rapidfuzz import fuzz

from pipeline.errors import UnreadableDocument
from pipeline.extract.invoice_number import read_invoice_number
from pipeline.extract.layout import PageLayout, layout_page
from pipeline.extract.normalize import find_dates
from pipeline.extract.vendor_name import (
    ADDRESS_OR_CONTACT,
    COMPANY_SUFFIX,
    read_vendor_name,
)
from pipeline.filetypes import PDF, SNIFF_BYTES, sniff
from pipeline.types import PageText

# Above this, a proposal may be applied without a person (see SplitProposal.certain).
CERTAIN = 0.97
# Share of the page height that counts as its header and its foot.
HEADER_SHARE = 0.22
FOOT_SHARE = 0.25
EDGE_ROWS = 6

# Log-odds weights. The prior leans towards "continues": most multi-page
# uploads are one document, and a wrong split costs a person more than a
# missed one (a missed split still shows every page on one review page).
PRIOR = -1.5
COUNTER_FIRST = 5.0
COUNTER_AFTER_LAST = 3.0
COUNTER_BEFORE_LAST = -3.0
# Page k > 1 of a counter the page before does not carry (a lost page, or a
# misread): strong, but a new invoice number and letterhead can outweigh it.
COUNTER_LATER = -5.0
NUMBER_CHANGED = 3.5
NUMBER_SAME = -3.5
VENDOR_CHANGED = 1.5
VENDOR_SAME = -0.5
HEADER_CHANGED = 2.0
HEADER_SAME = -0.5
NO_LETTERHEAD = -0.5
TITLE_AT_TOP = 1.2
CARRIED_OVER = -4.0
TOTAL_BEFORE = 0.8
BLANK_PAGE = -4.0

# "Page 1 of 3", "Seite 1 von 2", "Page 1/3", "Página 1 de 2", "Pag. 1 di 2".
_COUNTER_WITH_TOTAL = re.compile(
    r"(?i)\b(?:page|pg|seite|blatt|pagina|página|pag|p)\.?\s*:?\s*(\d{1,3})\s*"
    r"(?:of|von|de|sur|di|van|/|\|)\s*(\d{1,3})\b"
)
# "Page 2", "Seite 2" alone.
_COUNTER_ALONE = re.compile(
    r"(?i)^\W*(?:page|seite|pagina|página|blatt)\s*(\d{1,3})\W*$"
)
# A line that is only "1/3" or "- 1 / 3 -" (not a date, not a fraction in a table).
_COUNTER_BARE = re.compile(r"^\s*-?\s*(\d{1,2})\s*/\s*(\d{1,2})\s*-?\s*$")
_TITLE = re.compile(
    r"(?i)^\W*(?:(?:tax\s*|commercial\s*|proforma\s*|pro-forma\s*)?invoice"
    r"|rechnung|gutschrift|facture|avoir|factuur|fattura|factura|credit\s*note"
    r"|receipt|official\s*receipt|cash\s*(?:sale|bill)|bill)\b"
)
_CARRIED_FORWARD = re.compile(
    r"(?i)carried\s*forward|continued\s*(?:on|overleaf)|to\s*be\s*continued"
    r"|[üu]bertrag|à\s*reporter|a\s*reporter|fortsetzung|suite\s*page"
)
_BROUGHT_FORWARD = re.compile(
    r"(?i)brought\s*forward|continued\s*from|[üu]bertrag|report\b|continued\b"
    r"|fortsetzung"
)
_DOCUMENT_END = re.compile(
    r"(?i)thank\s*you|terima\s*kasih|vielen\s*dank|merci\s*de\s*votre"
    r"|\b(?:total\s*(?:due|amount|payable|to\s*pay|incl)|amount\s*due|balance\s*due"
    r"|grand\s*total|gesamtbetrag|rechnungsbetrag|zu\s*zahlen|endbetrag"
    r"|net\s*[àa]\s*payer|total\s*ttc|montant\s*d[ûu]|totale)\b"
)


@dataclass(frozen=True)
class PageCounter:
    """A printed page counter: page `number` of `total` (total unknown: None)."""

    number: int
    total: int | None

    def __str__(self) -> str:
        return f"page {self.number}" + (f" of {self.total}" if self.total else "")


@dataclass(frozen=True)
class PageSignals:
    """What one page says about where it belongs."""

    page_number: int
    blank: bool
    counter: PageCounter | None
    invoice_number: str | None
    vendor: str | None
    header: str
    title: str | None
    # How many marks of a first page its top carries: a title, a date, a
    # company name, an address or contact line, an invoice number.
    letterhead: int
    carries_forward: bool
    brought_forward: bool
    ends_with_total: bool


@dataclass(frozen=True)
class PageDecision:
    """Whether a page starts a document, how sure that is, and why."""

    page_number: int
    starts_document: bool
    confidence: float  # that `starts_document` is right, 0.5..1
    reasons: tuple[str, ...]

    @property
    def explanation(self) -> str:
        return "; ".join(self.reasons)


@dataclass(frozen=True)
class SplitProposal:
    """A decision for every page, in order; the first page always starts."""

    pages: tuple[PageDecision, ...]

    @property
    def starts(self) -> tuple[int, ...]:
        return tuple(page.page_number for page in self.pages if page.starts_document)

    @property
    def parts(self) -> tuple[tuple[int, ...], ...]:
        return parts_from_starts(self.starts, [page.page_number for page in self.pages])

    @property
    def confidence(self) -> float:
        """The least sure decision: the proposal is as good as its weakest page."""
        return min((page.confidence for page in self.pages), default=1.0)

    def certain(self, threshold: float = CERTAIN) -> bool:
        """Every page's decision is at least `threshold` sure."""
        return self.confidence >= threshold


def parts_from_starts(
    starts: Sequence[int], page_numbers: Sequence[int]
) -> tuple[tuple[int, ...], ...]:
    """The pages grouped into documents, each beginning at one of `starts`.
    The first page always begins one, whatever `starts` says."""
    chosen = set(starts)
    parts: list[list[int]] = []
    for number in page_numbers:
        if not parts or number in chosen:
            parts.append([])
        parts[-1].append(number)
    return tuple(tuple(part) for part in parts)


def propose_split(pages: Sequence[PageText]) -> SplitProposal:
    """Decide for every page whether it starts a document. A single page, or
    pages with no text at all, give one document."""
    ordered = sorted(pages, key=lambda page: page.page_number)
    signals = [page_signals(page) for page in ordered]
    if not signals:
        return SplitProposal(())
    decisions = [PageDecision(signals[0].page_number, True, 1.0, ("first page",))]
    # The document being assembled: its first page, and the first invoice
    # number and vendor read on any of its pages.
    first = signals[0]
    number = first.invoice_number
    vendor = first.vendor
    for before, page in itertools.pairwise(signals):
        decision = _decide(before, page, first=first, number=number, vendor=vendor)
        decisions.append(decision)
        if decision.starts_document:
            first, number, vendor = page, page.invoice_number, page.vendor
        else:
            number = number or page.invoice_number
            vendor = vendor or page.vendor
    return SplitProposal(tuple(decisions))


def page_signals(page: PageText) -> PageSignals:
    """Read the splitting signals off one page's text."""
    layout = layout_page(page)
    lines = [placed for placed in layout.lines if placed.line.text.strip()]
    if not lines:
        return PageSignals(
            page.page_number, True, None, None, None, "", None, 0, False, False, False
        )
    height = max(page.height, max(placed.box[3] for placed in lines), 1)
    # By height on a page, by rows on a long receipt, whichever holds more.
    rows = len(layout.rows)
    top = [p for p in lines if p.box[1] <= height * HEADER_SHARE or p.row < EDGE_ROWS]
    foot = [
        p
        for p in lines
        if p.box[3] >= height * (1 - FOOT_SHARE) or p.row >= rows - EDGE_ROWS
    ]
    found_number = read_invoice_number([layout])
    found_vendor = read_vendor_name(layout)
    title = next((p.line.text.strip() for p in top if _TITLE.search(p.line.text)), None)
    top_text = [p.line.text for p in top]
    letterhead = sum(
        (
            title is not None,
            any(find_dates(text) for text in top_text),
            any(COMPANY_SUFFIX.search(text) for text in top_text),
            any(ADDRESS_OR_CONTACT.search(text) for text in top_text),
            found_number is not None
            and found_number.page_number == page.page_number
            and found_number.box is not None
            and found_number.box[1] <= height * HEADER_SHARE,
        )
    )
    return PageSignals(
        page_number=page.page_number,
        blank=False,
        counter=_page_counter(layout),
        invoice_number=(
            _plain(found_number.value)
            if found_number is not None and found_number.confidence >= 0.4
            else None
        ),
        vendor=(
            found_vendor.value
            if found_vendor is not None and found_vendor.confidence >= 0.5
            else None
        ),
        header=" ".join(p.line.text for p in top),
        title=title,
        letterhead=letterhead,
        carries_forward=any(_CARRIED_FORWARD.search(p.line.text) for p in foot),
        brought_forward=any(_BROUGHT_FORWARD.search(p.line.text) for p in top),
        ends_with_total=any(_DOCUMENT_END.search(p.line.text) for p in foot),
    )


def _page_counter(layout: PageLayout) -> PageCounter | None:
    """The page's printed counter; a complete one ("1 of 3") wins over a bare
    "Page 2", and an impossible one ("4 of 3") is ignored."""
    alone: PageCounter | None = None
    for placed in layout.lines:
        text = placed.line.text
        for match in _COUNTER_WITH_TOTAL.finditer(text):
            number, total = int(match.group(1)), int(match.group(2))
            if 1 <= number <= total:
                return PageCounter(number, total)
        bare = _COUNTER_BARE.match(text)
        if bare is not None:
            number, total = int(bare.group(1)), int(bare.group(2))
            if 1 <= number <= total <= 50:
                return PageCounter(number, total)
        single = _COUNTER_ALONE.match(text)
        if single is not None and alone is None and int(single.group(1)) >= 1:
            alone = PageCounter(int(single.group(1)), None)
    return alone


def _decide(
    before: PageSignals,
    page: PageSignals,
    *,
    first: PageSignals,
    number: str | None,
    vendor: str | None,
) -> PageDecision:
    """Weigh the evidence that `page` starts a document, given the page
    `before` it and the document being assembled (its `first` page, `number`
    and `vendor`)."""
    if page.blank:
        return _decision(page, BLANK_PAGE + PRIOR, [("no text on the page", True)])
    # (reason, whether it argues for continuing) pairs, with the score.
    evidence: list[tuple[str, bool]] = []
    score = PRIOR
    counter = page.counter
    previous = before.counter
    if counter is not None and counter.number > 1:
        if (
            previous is not None
            and previous.number == counter.number - 1
            and previous.total == counter.total
        ):
            # A page that continues the counter of the page before (2 of n
            # after 1 of n) is never a first page.
            reason = f"{counter} continues {previous}"
            return PageDecision(page.page_number, False, 0.99, (reason,))
        score += COUNTER_LATER
        evidence.append((str(counter), True))
    if counter is not None and counter.number == 1:
        score += COUNTER_FIRST
        evidence.append((str(counter), False))
    if previous is not None and previous.total is not None:
        if previous.number == previous.total:
            score += COUNTER_AFTER_LAST
            last = f"page {before.page_number} was the last ({previous})"
            evidence.append((last, False))
        else:
            score += COUNTER_BEFORE_LAST
            evidence.append((f"page {before.page_number} is {previous}", True))
    if page.invoice_number and number:
        if _same_number(page.invoice_number, number):
            score += NUMBER_SAME
            evidence.append((f"same invoice number {page.invoice_number}", True))
        else:
            score += NUMBER_CHANGED
            evidence.append((f"new invoice number {page.invoice_number}", False))
    if page.vendor and vendor:
        if fuzz.token_set_ratio(page.vendor.lower(), vendor.lower()) < 60:
            score += VENDOR_CHANGED
            evidence.append((f"new vendor {page.vendor}", False))
        else:
            score += VENDOR_SAME
            evidence.append((f"same vendor {vendor}", True))
    if page.letterhead < 2:
        score += NO_LETTERHEAD
    elif page.header and first.header:
        similarity = fuzz.token_set_ratio(page.header.lower(), first.header.lower())
        if similarity < 50:
            score += HEADER_CHANGED
            evidence.append(("new header", False))
        elif similarity >= 80:
            score += HEADER_SAME
            evidence.append(("same header", True))
    if page.title:
        score += TITLE_AT_TOP
        evidence.append((f"title \u201c{_short(page.title)}\u201d at the top", False))
    if before.carries_forward or page.brought_forward:
        score += CARRIED_OVER
        evidence.append(("carried over from the page before", True))
    elif before.ends_with_total and not before.carries_forward:
        score += TOTAL_BEFORE
        evidence.append((f"page {before.page_number} ends with a total", False))
    return _decision(page, score, evidence)


def _decision(
    page: PageSignals, score: float, evidence: list[tuple[str, bool]]
) -> PageDecision:
    probability = 1 / (1 + math.exp(-score))
    starts = probability >= 0.5
    # Reasons that argue for the decision come first; the rest still show.
    reasons = [reason for reason, continues in evidence if continues != starts]
    if not reasons:
        reasons = ["nothing marks a new document" if not starts else "new document"]
    reasons += [
        f"but {reason}" for reason, continues in evidence if continues == starts
    ]
    return PageDecision(
        page_number=page.page_number,
        starts_document=starts,
        confidence=round(probability if starts else 1 - probability, 4),
        reasons=tuple(reasons),
    )


def _plain(value: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", value.upper())


def _same_number(a: str, b: str) -> bool:
    """The same invoice number, or one the prefix of the other (a contract
    number and its invoice number "950658" / "950658-1")."""
    return a == b or (min(len(a), len(b)) >= 4 and (a.startswith(b) or b.startswith(a)))


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def part_file(data: bytes, page_numbers: Sequence[int]) -> tuple[bytes, str]:
    """Pages `page_numbers` (1-based, in that order) of a PDF or multi-page
    image as a file of their own, and its extension: PDF pages are copied
    whole (their text layer kept), image frames become a TIFF. Raises
    UnreadableDocument when the file no longer reads."""
    if not page_numbers:
        raise UnreadableDocument("a part needs at least one page")
    if sniff(data[:SNIFF_BYTES]) is PDF:
        return _pdf_part(data, page_numbers), ".pdf"
    return _image_part(data, page_numbers), ".tif"


def _pdf_part(data: bytes, page_numbers: Sequence[int]) -> bytes:
    try:
        source = pdfium.PdfDocument(data)
    except pdfium.PdfiumError:
        raise UnreadableDocument("the batch PDF no longer reads") from None
    part = pdfium.PdfDocument.new()
    try:
        part.import_pages(source, pages=[number - 1 for number in page_numbers])
        written = io.BytesIO()
        part.save(written)
        return written.getvalue()
    finally:
        part.close()
        source.close()


def _image_part(data: bytes, page_numbers: Sequence[int]) -> bytes:
    try:
        with Image.open(io.BytesIO(data)) as image:
            frames = [frame.copy() for frame in ImageSequence.Iterator(image)]
            dpi = image.info.get("dpi")
    except (OSError, SyntaxError, ValueError) as error:
        raise UnreadableDocument(f"the batch image no longer reads ({error})") from None
    try:
        chosen = [frames[number - 1] for number in page_numbers]
    except IndexError:
        raise UnreadableDocument("a part names a page the batch lacks") from None
    written = io.BytesIO()
    options: dict[str, object] = {"compression": "tiff_deflate"}
    if dpi:
        options["dpi"] = dpi
    chosen[0].save(
        written, format="TIFF", save_all=True, append_images=chosen[1:], **options
    )
    return written.getvalue()
