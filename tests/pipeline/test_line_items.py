"""Line items read from page layout and from the e-invoice XML, on real PDFs
from the dataset folder and on small recorded layouts."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from pipeline.decode import DecodeLimits, decode_document
from pipeline.einvoice import embedded_xml, place_xml_lines, read_einvoice_lines
from pipeline.extract.heuristic import HeuristicExtractor
from pipeline.extract.line_items import (
    ARITHMETIC_BONUS,
    HEADER_ROW_CONFIDENCE,
    extract_line_items,
    line_amount_matches,
)
from pipeline.run import run_pipeline
from pipeline.types import ExtractedLine, PageText
from tests.conftest import DATASETS, recorded_line
from tests.pipeline.test_einvoice import CountingOcr

ZUGFERD = DATASETS / "zugferd-corpus" / "pdfs"
INVOICE2DATA = DATASETS / "invoice2data-tests" / "files"
MUSTANG_499 = ZUGFERD / (
    "ZUGFeRDv1__correct__Mustangproject__MustangGnuaccountingBeispielRE-20140519_499.pdf"
)
MUSTANG_507 = next(ZUGFERD.glob("*RE-20190610_507.pdf"))
PHYSIO = next(ZUGFERD.glob("*EN16931_Physiotherapeut.pdf"))
ELEKTRON = next(ZUGFERD.glob("*EN16931_Elektron.pdf"))
AKRETION = DATASETS / "misc-invoices" / "files" / "oca_akretion_france-test.pdf"


def printed(path: Path) -> tuple[ExtractedLine, ...]:
    pages = [
        PageText(image.number, image.width, image.height, image.text_lines, "pdf_text")
        for image in decode_document(path.read_bytes(), DecodeLimits())
        if image.text_lines is not None
    ]
    return extract_line_items(pages)


def numbers(lines: tuple[ExtractedLine, ...]) -> list[tuple[str, ...]]:
    return [
        (str(line.quantity), str(line.unit_price), str(line.amount), str(line.tax_rate))
        for line in lines
    ]


def test_it_reads_a_german_table_with_the_quantity_under_a_hash_header() -> None:
    lines = printed(MUSTANG_499)
    # "#" heads the quantity column here; the arithmetic finds it.
    assert numbers(lines) == [
        ("1.00", "160.00", "160.00", "0"),
        ("400.00", "0.79", "316.00", "19"),
        ("200.00", "0.10", "20.00", "19"),
    ]
    assert lines[0].description.startswith("Künstlerische")
    assert "Beispielrechnung" in lines[0].description  # continuation rows joined
    assert all(line.page_number == 1 and line.box is not None for line in lines)


def test_an_english_amount_header_left_of_price_and_total_is_the_quantity() -> None:
    lines = printed(MUSTANG_507)
    assert [(line.quantity, line.unit_price, line.amount) for line in lines] == [
        (Decimal("1.00"), Decimal("160.00"), Decimal("160.00")),
        (Decimal("400.00"), Decimal("0.79"), Decimal("316.00")),
        (Decimal("800.00"), Decimal("0.025"), Decimal("20.00")),
    ]


def test_it_reads_item_codes_and_thousands_separators() -> None:
    lines = printed(AKRETION)
    assert [(line.item_code, line.description) for line in lines] == [
        ("CONS_0001", "Whiteboard Pen"),
        ("CONS_25630", "Screw"),
    ]
    assert numbers(lines) == [
        ("15.00", "100.00", "1500.00", "20"),
        ("45.00", "0.20", "9.00", "20"),
    ]


def test_section_subtotals_do_not_end_the_table() -> None:
    lines = printed(INVOICE2DATA / "AzureInterior.pdf")
    # Two lines under "Non Food", then a section subtotal, then two more; the
    # olive oil is 1.00 x 1.00 less a 10 % discount.
    assert [line.amount for line in lines] == [
        Decimal("42.00"),
        Decimal("70.00"),
        Decimal("0.90"),
        Decimal("150.00"),
    ]
    assert [line.item_code for line in lines] == [
        "17589684",
        "FURN_7777",
        "987123",
        "LUX_TRF",
    ]


def test_a_table_continued_on_the_next_page_keeps_every_line() -> None:
    lines = printed(INVOICE2DATA / "QualityHosting.pdf")
    assert len(lines) == 7
    assert sum(line.amount or 0 for line in lines) == Decimal("34.73")
    assert {line.page_number for line in lines} == {1, 2}


def test_page_lines_match_the_xml_on_the_physiotherapist_invoice() -> None:
    xml = embedded_xml(PHYSIO.read_bytes())
    assert xml is not None
    from_xml = read_einvoice_lines(xml)
    assert (
        numbers(printed(PHYSIO))
        == numbers(from_xml)
        == [
            ("10", "26.00", "260.00", "0"),
            ("10", "12.00", "120.00", "0"),
        ]
    )
    assert [line.description for line in from_xml] == ["Physiotherapie", "Hausbesuch"]
    assert all(line.confidence == 1.0 and line.source == "xml" for line in from_xml)


def test_xml_lines_borrow_the_box_of_the_printed_line() -> None:
    xml = embedded_xml(ELEKTRON.read_bytes())
    assert xml is not None
    placed = place_xml_lines(read_einvoice_lines(xml), printed(ELEKTRON))
    assert [line.description for line in placed] == [
        "TGA Obermonteur/Monteur",
        "Beamer-Deckenhalterung",
    ]
    assert all(line.box is not None and line.page_number == 1 for line in placed)


def test_malformed_xml_has_no_lines() -> None:
    assert read_einvoice_lines(b"<not xml") == ()


def _page(rows: list[list[tuple[str, int]]]) -> PageText:
    lines = [
        recorded_line(text, (x, 100 + 40 * index, x + 12 * len(text), 124 + 40 * index))
        for index, row in enumerate(rows)
        for text, x in row
    ]
    return PageText(1, 1200, 1600, tuple(lines), "ocr")


def test_rows_without_a_header_are_taken_when_their_arithmetic_holds() -> None:
    page = _page(
        [
            [("ACME Supplies", 40)],
            [("Widget blue", 40), ("3", 500), ("4,50", 700), ("13,50", 900)],
            [("Gadget", 40), ("2", 500), ("1.234,00", 700), ("2.468,00", 900)],
            [("Phone 0123 456", 40), ("7", 500), ("8", 700), ("99", 900)],
        ]
    )
    lines = extract_line_items([page], subtotal=Decimal("2481.50"))
    assert [(line.description, line.amount) for line in lines] == [
        ("Widget blue", Decimal("13.50")),
        ("Gadget", Decimal("2468.00")),
    ]
    assert all(line.source == "ocr" for line in lines)


def test_confidence_rises_with_arithmetic_and_subtotal_and_falls_without() -> None:
    rows = [
        [("Description", 40), ("Qty", 500), ("Unit price", 650), ("Amount", 900)],
        [("Widget", 40), ("3", 500), ("4.50", 700), ("13.50", 900)],
        [("Gadget", 40), ("2", 500), ("5.00", 700), ("11.00", 900)],
        [("Subtotal", 650), ("24.50", 900)],
    ]
    agreeing = extract_line_items([_page(rows)], subtotal=Decimal("24.50"))
    assert len(agreeing) == 2
    widget, gadget = agreeing
    assert widget.confidence > gadget.confidence
    assert widget.confidence == round(HEADER_ROW_CONFIDENCE + ARITHMETIC_BONUS + 0.1, 3)
    disagreeing = extract_line_items([_page(rows)], subtotal=Decimal("99.00"))
    assert disagreeing[0].confidence < widget.confidence


def test_line_amount_matches_to_the_cent() -> None:
    assert line_amount_matches(Decimal(3), Decimal("4.50"), Decimal("13.50"))
    assert line_amount_matches(Decimal(800), Decimal("0.025"), Decimal("20.00"))
    assert not line_amount_matches(Decimal(3), Decimal("4.50"), Decimal("13.60"))
    assert not line_amount_matches(None, Decimal("4.50"), Decimal("13.50"))


def test_the_pipeline_prefers_the_xml_lines_and_reads_the_page_otherwise() -> None:
    with_xml = run_pipeline(
        PHYSIO.read_bytes(),
        ocr=CountingOcr(),
        extractor=HeuristicExtractor(),
        limits=DecodeLimits(),
    )
    assert [line.source for line in with_xml.line_items] == ["xml", "xml"]
    assert "line_items" in with_xml.stage_seconds
    page_only = run_pipeline(
        AKRETION.read_bytes(),
        ocr=CountingOcr(),
        extractor=HeuristicExtractor(),
        limits=DecodeLimits(),
    )
    assert [line.amount for line in page_only.line_items] == [
        Decimal("1500.00"),
        Decimal("9.00"),
    ]
    # Their sum is the subtotal the field extractor read: confidence is raised.
    assert page_only.line_items[0].confidence > HEADER_ROW_CONFIDENCE + ARITHMETIC_BONUS


def test_quantity_times_price_printed_together_is_read_as_such() -> None:
    page = _page(
        [
            [("Description", 40), ("Qty x Unit price", 600), ("Amount", 1000)],
            [("Autoclave pouches 3.5x10 in", 40), ("6 x 12.75", 600), ("76.50", 1000)],
            [("Subtotal", 600), ("76.50", 1000)],
        ]
    )
    (line,) = extract_line_items([page], subtotal=Decimal("76.50"))
    # The size in the description multiplies to 35, not to the amount.
    assert (line.quantity, line.unit_price) == (Decimal(6), Decimal("12.75"))
    assert line.description == "Autoclave pouches 3.5x10 in"


def test_rows_found_by_arithmetic_alone_must_add_up_to_the_net_amount() -> None:
    rows = [
        [("MILO 1KG", 40), ("1", 500), ("21.90", 700), ("21.90", 900)],
        [("GARDENIA BREAD", 40), ("2", 500), ("4.30", 700), ("8.60", 900)],
    ]
    # A third item the reader could not see makes the total 47.30.
    assert extract_line_items([_page(rows)], subtotal=Decimal("47.30")) == ()
    assert len(extract_line_items([_page(rows)], subtotal=Decimal("30.50"))) == 2
    assert len(extract_line_items([_page(rows)])) == 2
