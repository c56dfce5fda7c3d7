"""Standalone e-invoice XML files: UBL 2.1 (Peppol BIS 3, XRechnung UBL) and
UN/CEFACT CII (the XML the ZUGFeRD corpus embeds, read here as a file of its
own), read without OCR and laid out as a page; XML that is hostile or not an
invoice is refused with a reason."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.decode import DecodeLimits, decode_document
from pipeline.einvoice import FILE_EXPLANATION, embedded_xml, read_einvoice_xml
from pipeline.einvoice_file import parse_einvoice_file
from pipeline.errors import UnreadableDocument
from pipeline.extract.heuristic import HeuristicExtractor
from pipeline.filetypes import XML, sniff
from pipeline.run import PipelineResult, run_pipeline
from tests.conftest import REPO
from tests.hostile_corpus import XXE, billion_laughs
from tests.pipeline.test_einvoice import PHYSIO, ZUGFERD, CountingOcr

PEPPOL = REPO / "fixtures" / "einvoices" / "peppol-bis3-invoice.xml"
CREDIT_NOTE = REPO / "fixtures" / "einvoices" / "xrechnung-ubl-credit-note.xml"


def read(data: bytes) -> tuple[PipelineResult, CountingOcr]:
    ocr = CountingOcr()
    result = run_pipeline(
        data, ocr=ocr, extractor=HeuristicExtractor(), limits=DecodeLimits()
    )
    return result, ocr


def values(result: PipelineResult) -> dict[str, str]:
    return {field.name: field.value for field in result.extraction.fields}


def test_a_peppol_ubl_invoice_is_read_in_full_without_ocr() -> None:
    data = PEPPOL.read_bytes()
    assert sniff(data[:1024]) is XML

    result, ocr = read(data)

    assert ocr.pages == []
    assert result.read_einvoice_xml
    assert result.classification is not None
    assert result.classification.document_type == "invoice"
    assert values(result) == {
        "invoice_number": "INV-2024-0815",
        "invoice_date": "2024-03-14",
        "due_date": "2024-04-13",
        # The legal name (BT-27), as CII's SellerTradeParty/Name.
        "vendor_name": "Nordlicht Bürobedarf GmbH",
        "vendor_address": "Hafenstraße 12, Haus B, 20457 Hamburg",
        # The VAT registration, not the tax office's number listed before it.
        "vendor_vat_id": "DE136695976",
        "customer_name": "Grachtenhuis Trading B.V.",
        "po_number": "PO-77120",
        "currency": "EUR",
        "subtotal_amount": "1325.00",
        "tax_amount": "251.75",
        "total_amount": "1576.75",
        "payment_terms": "Net 30 days",
        "iban": "DE89370400440532013000",
        "bic": "COBADEFFXXX",
    }
    for field in result.extraction.fields:
        assert field.confidence == 1.0, field.name
        assert field.explanation.startswith(FILE_EXPLANATION), field.name
        # Each value is pointed at on the rendered page.
        assert field.page_number == 1 and field.box is not None, field.name


def test_ubl_lines_are_read_with_codes_rates_and_unit_prices() -> None:
    result, _ = read(PEPPOL.read_bytes())

    lines = [
        (line.description, line.item_code, line.quantity, line.unit_price)
        for line in result.line_items
    ]
    assert lines == [
        ("Copy paper A4, 80 g, box of 2,500 sheets", "PAP-A4-80", 50, Decimal("4.50")),
        ("Ergonomic office chair", "CHR-ERG-2", 4, Decimal("275.00")),
    ]
    assert [line.amount for line in result.line_items] == [
        Decimal("225.00"),
        Decimal("1100.00"),
    ]
    assert {line.tax_rate for line in result.line_items} == {Decimal(19)}
    assert all(line.source == "xml" and line.box for line in result.line_items)


def test_a_ubl_credit_note_is_a_credit_note_in_the_invoice_currency() -> None:
    result, _ = read(CREDIT_NOTE.read_bytes())

    assert result.classification is not None
    assert result.classification.document_type == "credit_note"
    fields = values(result)
    # The tax total in EUR, not the one in the USD tax currency.
    assert fields["tax_amount"] == "7.00"
    # A credit note's due date sits under PaymentMeans.
    assert fields["due_date"] == "2024-05-16"
    assert fields["vendor_name"] == "Rheinwerk Druck KG"
    assert "iban" not in fields
    [line] = result.line_items
    # 10.00 per 100 pieces.
    assert (line.quantity, line.unit_price, line.tax_rate) == (1000, Decimal("0.10"), 7)


def test_a_national_account_number_is_not_taken_for_an_iban() -> None:
    data = PEPPOL.read_bytes().replace(b"DE89370400440532013000", b"12345678")

    assert read_einvoice_xml(data).get("iban") is None


def _corpus_xml() -> list[Path]:
    return sorted(path for path in ZUGFERD.glob("*.pdf"))


@pytest.mark.parametrize("pdf", _corpus_xml(), ids=lambda path: path.name[:60])
def test_the_cii_xml_of_every_zugferd_sample_reads_as_a_file_of_its_own(
    pdf: Path,
) -> None:
    xml = embedded_xml(pdf.read_bytes())
    if xml is None:
        pytest.skip("this sample carries no readable XML")
    embedded = {f.name: f.value for f in read_einvoice_xml(xml).fields}
    if not {"invoice_number", "total_amount"} & embedded.keys():
        with pytest.raises(UnreadableDocument, match="neither an invoice number"):
            decode_document(xml, DecodeLimits())
        return

    result, ocr = read(xml)

    assert ocr.pages == []
    assert values(result) == embedded
    assert len(result.pages) >= 1


def test_a_factur_x_xml_file_gives_the_fields_of_its_pdf() -> None:
    xml = embedded_xml(PHYSIO.read_bytes())
    assert xml is not None

    result, _ = read(xml)

    fields = values(result)
    assert fields["invoice_number"] == "R18-31"
    assert fields["total_amount"] == "380.00"
    assert fields["vendor_vat_id"] == "DE136695976"
    assert result.line_items


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (XXE, "DOCTYPE or entities"),
        (billion_laughs(), "DOCTYPE or entities"),
        (
            b'<?xml version="1.0"?><catalog><book id="1">Dune</book></catalog>',
            "not an e-invoice: its root element is <catalog>",
        ),
        (
            b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"/>',
            "not an e-invoice: its root element is <feed> in namespace",
        ),
        (b"<?xml version='1.0'?><Invoice><ID>1</ID>", "not well formed"),
        (
            b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:'
            b'Invoice-2"><IssueDate>2024-01-01</IssueDate></Invoice>',
            "neither an invoice number nor a total",
        ),
    ],
    ids=["xxe", "billion-laughs", "random", "atom", "malformed", "empty-invoice"],
)
def test_xml_that_is_hostile_or_not_an_invoice_is_refused_with_a_reason(
    data: bytes, reason: str
) -> None:
    assert sniff(data[:1024]) is XML

    with pytest.raises(UnreadableDocument, match=reason.replace("(", r"\(")):
        decode_document(data, DecodeLimits())


@pytest.mark.parametrize(
    "markup",
    [
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script/></svg>',
        b"<html><body><script>alert(1)</script></body></html>",
    ],
    ids=["svg", "html"],
)
def test_markup_that_runs_scripts_is_not_taken_for_xml(markup: bytes) -> None:
    # Refused at the door like any unknown file, never stored.
    assert sniff(markup[:1024]) is None


def test_an_entity_is_never_expanded_even_when_parsed_directly() -> None:
    # The pre-check refuses it; read_einvoice_xml (used for embedded XML)
    # parses without resolving entities, so /etc/passwd never appears.
    with pytest.raises(UnreadableDocument):
        parse_einvoice_file(XXE)
    assert "root:" not in str(read_einvoice_xml(XXE).fields)


def test_an_element_flood_is_refused_before_it_is_parsed() -> None:
    flood = PEPPOL.read_bytes().replace(
        b"</Invoice>", b"<a/>" * 300_000 + b"</Invoice>"
    )

    with pytest.raises(UnreadableDocument, match=r"about 300,\d+ elements; the limit"):
        parse_einvoice_file(flood)


def test_an_invoice_too_long_for_the_page_limit_is_refused() -> None:
    data = PEPPOL.read_bytes()
    line_start = data.index(b"<cac:InvoiceLine>")
    line_end = data.index(b"</cac:InvoiceLine>") + len(b"</cac:InvoiceLine>")
    many = data[:line_start] + data[line_start:line_end] * 400 + data[line_end:]

    with pytest.raises(UnreadableDocument, match="401 lines, more than 5 pages"):
        decode_document(many, DecodeLimits(max_pages=5))
