"""PDF text layers become lines with boxes, however the writer cut them up."""

from __future__ import annotations

from pathlib import Path

from pipeline.decode import DecodeLimits, decode_document
from tests.conftest import DATASETS

INVOICES = DATASETS / "invoice2data-tests" / "files"
# Written glyph by glyph: every letter is its own text rectangle.
GLYPH_BY_GLYPH = INVOICES / "AzureInterior.pdf"
KONIK = (
    DATASETS
    / "zugferd-corpus"
    / "pdfs"
    / ("ZUGFeRDv1__correct__Konik__acme_invoice-42_ZUGFeRD.pdf")
)


def page_lines(path: Path) -> list[str]:
    page = decode_document(path.read_bytes(), DecodeLimits())[0]
    assert page.text_lines is not None
    return [line.text for line in page.text_lines]


def test_glyphs_are_joined_into_words_and_lines() -> None:
    lines = page_lines(GLYPH_BY_GLYPH)

    assert "Azure Interior" in lines
    assert "4557 De Silva St" in lines
    assert "Tax 15% on $ 112.90" in lines
    assert "Payment terms: 15 Days" in lines


def test_columns_stay_separate_lines() -> None:
    lines = page_lines(GLYPH_BY_GLYPH)

    assert {"Invoice Date:", "Due Date:", "Reference:"} <= set(lines)
    assert {"03/20/2023", "04/04/2023", "CUSTREF123"} <= set(lines)


def test_amounts_cut_at_their_separators_are_read_whole() -> None:
    lines = page_lines(KONIK)

    assert "1.589,80" in lines
    assert "Rechnungsdatum: 31.01.2014" in lines
