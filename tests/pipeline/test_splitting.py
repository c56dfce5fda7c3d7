"""Where documents begin in a batch: page counters, invoice numbers, vendors,
headers and carry-over cues, on page texts laid out as a scan reads them and
on the text layers of real dev invoices."""

from __future__ import annotations

import io
import json

import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageSequence

from pipeline.decode import DecodeLimits, decode_document
from pipeline.errors import UnreadableDocument
from pipeline.splitting import (
    PageCounter,
    page_signals,
    part_file,
    parts_from_starts,
    propose_split,
)
from pipeline.types import OcrLine, PageText
from tests.conftest import DATASETS

WIDTH, HEIGHT = 1240, 1754


def page(number: int, rows: list[str], *, top: int = 80) -> PageText:
    """A page whose rows are printed one under the other from `top` down;
    a row "@foot: text" is printed at the foot of the page instead."""
    lines = []
    y = top
    for row in rows:
        at = y
        if row.startswith("@foot: "):
            row, at = row.removeprefix("@foot: "), HEIGHT - 120
        else:
            y += 40
        right = 70.0 + 14 * len(row)
        polygon = ((70.0, at), (right, at), (right, at + 28.0), (70.0, at + 28.0))
        lines.append(OcrLine(row, 0.98, polygon, number))
    return PageText(number, WIDTH, HEIGHT, tuple(lines), "ocr")


def invoice_first_page(number: int, vendor: str, invoice: str) -> PageText:
    return page(
        number,
        [
            vendor,
            "Hauptstrasse 12, 10115 Berlin",
            "Tel. +49 30 1234567",
            "INVOICE",
            f"Invoice No: {invoice}",
            "Invoice date: 03.02.2026",
            "Bill to: Vouch Demo AG",
            "Description Qty Amount",
            "Paper A4 10 45.00",
            "@foot: Total due EUR 45.00",
        ],
    )


def continuation_page(number: int, rows: int = 12) -> PageText:
    return page(number, [f"Item {index} 1 x 10.00 10.00" for index in range(rows)])


def test_three_invoices_from_three_vendors_split_into_three() -> None:
    pages = [
        invoice_first_page(1, "NORDLICHT BUEROBEDARF GMBH", "RE-2026-0142"),
        invoice_first_page(2, "ATELIER DUVAL SARL", "FA-2026-311"),
        continuation_page(3),
        invoice_first_page(4, "HARBOR SUPPLY CO. INC.", "88412"),
    ]
    proposal = propose_split(pages)
    assert proposal.parts == ((1,), (2, 3), (4,))
    second = proposal.pages[1]
    assert second.starts_document
    assert any("new invoice number FA2026311" in r for r in second.reasons)
    assert any("new vendor ATELIER DUVAL SARL" in r for r in second.reasons)


def test_a_two_page_invoice_is_not_split() -> None:
    pages = [
        invoice_first_page(1, "NORDLICHT BUEROBEDARF GMBH", "RE-2026-0142"),
        continuation_page(2),
    ]
    proposal = propose_split(pages)
    assert proposal.parts == ((1, 2),)
    assert proposal.pages[1].confidence > 0.75


def test_a_repeated_header_with_the_same_number_continues() -> None:
    pages = [
        invoice_first_page(1, "NORDLICHT BUEROBEDARF GMBH", "RE-2026-0142"),
        invoice_first_page(2, "NORDLICHT BUEROBEDARF GMBH", "RE-2026-0142"),
    ]
    proposal = propose_split(pages)
    assert proposal.parts == ((1, 2),)
    assert any("same invoice number" in r for r in proposal.pages[1].reasons)


def test_the_same_vendor_with_a_new_number_starts_a_document() -> None:
    pages = [
        invoice_first_page(1, "NORDLICHT BUEROBEDARF GMBH", "RE-2026-0142"),
        invoice_first_page(2, "NORDLICHT BUEROBEDARF GMBH", "RE-2026-0143"),
    ]
    assert propose_split(pages).parts == ((1,), (2,))


@pytest.mark.parametrize(
    ("text", "counter"),
    [
        ("Page 1 of 3", PageCounter(1, 3)),
        ("Seite 2 von 2", PageCounter(2, 2)),
        ("Page 2/4", PageCounter(2, 4)),
        ("- 1 / 3 -", PageCounter(1, 3)),
        ("Página 1 de 2", PageCounter(1, 2)),
        ("Page 3", PageCounter(3, None)),
        ("Invoice date 1/3/2026", None),
        ("Page 4 of 3", None),
    ],
)
def test_it_reads_page_counters(text: str, counter: PageCounter | None) -> None:
    assert page_signals(page(1, ["Some text", text])).counter == counter


def test_page_counters_alone_say_where_documents_begin() -> None:
    pages = [
        page(1, ["Statement", "Page 1 of 2"]),
        page(2, ["More lines", "Page 2 of 2"]),
        page(3, ["Other", "Page 1 of 1"]),
    ]
    proposal = propose_split(pages)
    assert proposal.parts == ((1, 2), (3,))
    assert "page 2 of 2 continues page 1 of 2" in proposal.pages[1].reasons
    assert proposal.pages[2].confidence > 0.97


def test_a_page_that_continues_a_counter_is_never_a_start() -> None:
    pages = [
        page(1, ["ACME GMBH", "INVOICE", "Invoice No: 1001", "Seite 1 von 2"]),
        page(2, ["ZETA SARL", "INVOICE", "Invoice No: 2002", "Seite 2 von 2"]),
    ]
    proposal = propose_split(pages)
    assert proposal.parts == ((1, 2),)
    assert proposal.pages[1].confidence == 0.99


def test_carried_forward_ties_two_pages() -> None:
    pages = [
        page(
            1, ["ACME GMBH", "INVOICE", "Item 1 10.00", "@foot: Carried forward 10.00"]
        ),
        page(2, ["Brought forward 10.00", "INVOICE", "Item 2 5.00", "Total due 15.00"]),
    ]
    proposal = propose_split(pages)
    assert proposal.parts == ((1, 2),)
    assert "carried over from the page before" in proposal.pages[1].reasons


def test_a_blank_page_continues_the_document() -> None:
    blank = PageText(2, WIDTH, HEIGHT, (), "ocr")
    pages = [invoice_first_page(1, "ACME GMBH", "1001"), blank]
    proposal = propose_split(pages)
    assert proposal.parts == ((1, 2),)
    assert proposal.pages[1].reasons == ("no text on the page",)


def test_one_page_is_one_document() -> None:
    proposal = propose_split([invoice_first_page(1, "ACME GMBH", "1001")])
    assert proposal.parts == ((1,),)
    assert proposal.certain()


def test_parts_from_starts_always_begins_at_the_first_page() -> None:
    assert parts_from_starts([3], [1, 2, 3, 4]) == ((1, 2), (3, 4))
    assert parts_from_starts([], [1, 2]) == ((1, 2),)


# --- real dev invoices, read from their PDF text layer -----------------------


def dev_pdf(folder: str, pages: int) -> bytes:
    """The first dev PDF of `folder` with exactly `pages` pages."""
    manifest = DATASETS / folder / "manifest.jsonl"
    if not manifest.is_file():
        pytest.skip(f"no dev datasets at {DATASETS}")
    for row in map(json.loads, manifest.read_text().splitlines()):
        if row["file"].endswith(".pdf") and row.get("pages") == pages:
            return (DATASETS / folder / row["file"]).read_bytes()
    raise AssertionError(f"no {pages}-page PDF in {folder}")


def text_pages(*pdfs: bytes) -> list[PageText]:
    pages: list[PageText] = []
    for data in pdfs:
        for image in decode_document(data, DecodeLimits(max_pages=50)):
            number = len(pages) + 1
            lines = tuple(
                OcrLine(line.text, line.confidence, line.polygon, number)
                for line in image.text_lines or ()
            )
            pages.append(PageText(number, image.width, image.height, lines, "pdf_text"))
    return pages


def test_real_multi_page_invoices_alone_stay_whole() -> None:
    for folder, count in (("deepform-vrdu-adbuy", 3), ("zugferd-corpus", 2)):
        proposal = propose_split(text_pages(dev_pdf(folder, count)))
        assert len(proposal.parts) == 1, (folder, proposal.pages)


def test_three_real_invoices_in_one_batch_are_found() -> None:
    pdfs = [
        dev_pdf("deepform-vrdu-adbuy", 2),
        dev_pdf("zugferd-corpus", 1),
        dev_pdf("deepform-vrdu-adbuy", 3),
    ]
    proposal = propose_split(text_pages(*pdfs))
    assert proposal.starts == (1, 3, 4)


# --- the parts as files -------------------------------------------------------


def test_a_pdf_part_keeps_its_pages_and_text() -> None:
    batch = dev_pdf("deepform-vrdu-adbuy", 3)
    content, extension = part_file(batch, [2, 3])
    assert extension == ".pdf"
    part = pdfium.PdfDocument(content)
    assert len(part) == 2
    original = pdfium.PdfDocument(batch)
    assert (
        part[0].get_textpage().get_text_range()
        == original[1].get_textpage().get_text_range()
    )


def test_a_tiff_part_holds_the_chosen_frames() -> None:
    frames = [Image.new("L", (200, 300), shade) for shade in (10, 120, 240)]
    written = io.BytesIO()
    frames[0].save(written, format="TIFF", save_all=True, append_images=frames[1:])
    content, extension = part_file(written.getvalue(), [2, 3])
    assert extension == ".tif"
    with Image.open(io.BytesIO(content)) as part:
        shades = [frame.getpixel((5, 5)) for frame in ImageSequence.Iterator(part)]
    assert shades == [120, 240]
    with pytest.raises(UnreadableDocument):
        part_file(written.getvalue(), [4])
