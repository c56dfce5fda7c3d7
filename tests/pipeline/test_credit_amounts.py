"""Totals printed below zero: a correction invoice keeps its sign, a credit
note states the credit it grants (positive, as its e-invoice XML does)."""

from __future__ import annotations

from pipeline.decode import DecodeLimits
from pipeline.extract.scorer import ScoredExtractor
from pipeline.run import ProcessedPage, finish_pipeline
from pipeline.types import OcrLine, PageImage, PageText
from tests.pipeline.printed import line


def read(*lines: OcrLine) -> dict[str, str]:
    text = PageText(1, 1654, 2339, lines, "ocr")
    image = PageImage(1, 1654, 2339, 200, b"", "PNG")
    result = finish_pipeline(
        b"",
        (ProcessedPage(image, text, 0.0),),
        ocr_engine="recorded",
        extractor=ScoredExtractor(),
        limits=DecodeLimits(use_text_layer=False),
    )
    return {f.name: f.value for f in result.extraction.fields}


TOTALS = (
    line("Total HT", 1256, 1162, 1400, 1185),
    line("-218,48 €", 1441, 1164, 1600, 1187),
    line("Total taxes", 1222, 1209, 1400, 1232),
    line("-14,99 €", 1450, 1212, 1600, 1235),
    line("Total TTC", 1237, 1255, 1400, 1278),
    line("-233,47 €", 1439, 1257, 1600, 1280),
)


def test_a_correction_invoice_s_negative_total_is_read_with_its_sign() -> None:
    fields = read(
        line("Au bon moulin SARL", 300, 60, 700, 100),
        line("Facture rectificative FA-2017-0011", 100, 400, 800, 430),
        line("Date : 05/11/2017", 100, 450, 500, 475),
        *TOTALS,
    )
    assert fields["total_amount"] == "-233.47"
    assert fields["tax_amount"] == "-14.99"


def test_a_credit_note_states_the_credit_it_grants() -> None:
    fields = read(
        line("Au bon moulin SARL", 300, 60, 700, 100),
        line("AVOIR", 100, 380, 260, 420),
        line("Avoir AV-2017-0005", 100, 430, 500, 455),
        line("Date : 05/11/2017", 100, 470, 500, 495),
        *TOTALS,
    )
    assert fields["total_amount"] == "233.47"
    assert fields["tax_amount"] == "14.99"
    assert fields["subtotal_amount"] == "218.48"
