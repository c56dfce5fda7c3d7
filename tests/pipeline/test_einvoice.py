"""The Factur-X / ZUGFeRD path and the PDF text-layer path, on real samples read
from the dataset folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.decode import DecodeLimits
from pipeline.einvoice import (
    DISAGREEMENT_CONFIDENCE,
    embedded_xml,
    read_einvoice,
    read_einvoice_xml,
)
from pipeline.extract.heuristic import HeuristicExtractor
from pipeline.run import run_pipeline
from pipeline.types import OcrLine, PageImage
from tests.conftest import DATASETS

ZUGFERD = DATASETS / "zugferd-corpus" / "pdfs"
PHYSIO = ZUGFERD / (
    "ZUGFeRDv2__correct__symtrax__Beispiele__EN16931__"
    "zugferd_2p1_EN16931_Physiotherapeut.pdf"
)
# Its XML bills 119.00 under number 20131122-42; the page prints 1.589,80 and 42.
KONIK = ZUGFERD / "ZUGFeRDv1__correct__Konik__acme_invoice-42_ZUGFeRD.pdf"
# Specimen data: the seller's IBAN in the XML fails its check digits.
ELEKTRON = next(ZUGFERD.glob("*EN16931_Elektron*.pdf"))
PLAIN_PDF = DATASETS / "invoice2data-tests" / "files" / "AmazonWebServices.pdf"


class CountingOcr:
    """An OCR engine that records which pages it was asked to read."""

    name = "counting"
    version = "1"

    def __init__(self) -> None:
        self.pages: list[int] = []

    def recognize(self, page: PageImage) -> tuple[OcrLine, ...]:
        self.pages.append(page.number)
        return ()


def values(path: Path) -> dict[str, tuple[str, float]]:
    extraction = read_einvoice(path.read_bytes())
    assert extraction is not None
    return {f.name: (f.value, f.confidence) for f in extraction.fields}


def test_it_reads_the_fields_of_a_factur_x_invoice_with_full_confidence() -> None:
    fields = values(PHYSIO)

    assert fields["invoice_number"] == ("R18-31", 1.0)
    assert fields["invoice_date"] == ("2018-10-03", 1.0)
    assert fields["total_amount"] == ("380.00", 1.0)
    assert fields["currency"] == ("EUR", 1.0)
    assert fields["vendor_name"] == ("Physiotherapeutin", 1.0)
    assert fields["customer_name"] == ("Liselotte Müller", 1.0)
    assert fields["vendor_address"] == ("Musterstraße 12, 12345 Beispielstadt", 1.0)
    assert fields["iban"] == ("DE02120300000000202051", 1.0)
    assert fields["vendor_vat_id"] == ("DE136695976", 1.0)


def test_an_xml_iban_with_wrong_check_digits_goes_to_review() -> None:
    value, confidence = values(ELEKTRON)["iban"]

    assert value == "DE5467894567876500"
    assert confidence == DISAGREEMENT_CONFIDENCE


def test_a_zugferd_1_direct_debit_account_is_not_taken_for_the_payee() -> None:
    # ZUGFeRD 1 (CrossIndustryDocument); the only account it names is the
    # buyer's, to be debited.
    fields = values(KONIK)

    assert fields["invoice_number"][0] == "20131122-42"
    assert "iban" not in fields


def test_xml_and_printed_page_disagreeing_is_flagged_for_review() -> None:
    ocr = CountingOcr()

    result = run_pipeline(
        KONIK.read_bytes(),
        ocr=ocr,
        extractor=HeuristicExtractor(),
        limits=DecodeLimits(),
    )

    assert result.read_einvoice_xml
    total = result.extraction.get("total_amount")
    assert total is not None
    assert (total.value, total.confidence) == ("119.00", DISAGREEMENT_CONFIDENCE)
    assert "printed page says 1589.80" in total.explanation
    assert total.box is not None  # points at the printed amount
    currency = result.extraction.get("currency")
    assert currency is not None and currency.confidence == 1.0


def test_a_pdf_with_a_text_layer_is_read_without_ocr() -> None:
    ocr = CountingOcr()

    result = run_pipeline(
        PHYSIO.read_bytes(),
        ocr=ocr,
        extractor=HeuristicExtractor(),
        limits=DecodeLimits(),
    )

    assert ocr.pages == []
    assert [page.text.source for page in result.pages] == ["pdf_text", "pdf_text"]
    printed = " ".join(line.text for line in result.pages[0].text.lines)
    assert "R18-31" in printed
    number = result.extraction.get("invoice_number")
    assert number is not None and number.confidence == 1.0
    # The page confirms the XML, so the value borrows the printed box.
    assert number.page_number == 1 and number.box is not None


@pytest.mark.parametrize(
    ("path", "document_type", "code"),
    [
        (PHYSIO, "invoice", "380"),
        (next(ZUGFERD.glob("*Avoir_FR_type381*.pdf")), "credit_note", "381"),
        (next(ZUGFERD.glob("*BASIC_Rechnungskorrektur*.pdf")), "invoice", "384"),
    ],
    ids=["invoice", "credit-note", "corrected-invoice"],
)
def test_an_e_invoice_is_classified_by_the_type_its_xml_declares(
    path: Path, document_type: str, code: str
) -> None:
    result = run_pipeline(
        path.read_bytes(),
        ocr=CountingOcr(),
        extractor=HeuristicExtractor(),
        limits=DecodeLimits(),
    )

    assert result.classification is not None
    assert result.classification.document_type == document_type
    assert result.classification.confidence == 1.0
    assert code in result.classification.evidence[0]


def test_ocr_only_classifies_an_e_invoice_from_its_page_alone() -> None:
    ocr = CountingOcr()
    result = run_pipeline(
        PHYSIO.read_bytes(),
        ocr=ocr,
        extractor=HeuristicExtractor(),
        limits=DecodeLimits(use_text_layer=False),
    )
    assert result.classification is not None
    assert "XML" not in " ".join(result.classification.evidence)


def test_ocr_only_renders_every_page_and_ignores_the_xml() -> None:
    ocr = CountingOcr()

    result = run_pipeline(
        PHYSIO.read_bytes(),
        ocr=ocr,
        extractor=HeuristicExtractor(),
        limits=DecodeLimits(use_text_layer=False),
    )

    assert ocr.pages == [1, 2]
    assert not result.read_einvoice_xml
    assert result.extraction.get("invoice_number") is None  # blank OCR here


@pytest.mark.parametrize(
    "data",
    [PLAIN_PDF.read_bytes(), b"%PDF-1.4 truncated", b"\x89PNG\r\n\x1a\n"],
    ids=["pdf-without-xml", "damaged-pdf", "not-a-pdf"],
)
def test_documents_without_readable_xml_have_no_einvoice(data: bytes) -> None:
    assert embedded_xml(data) is None
    assert read_einvoice(data) is None


def test_malformed_xml_gives_no_fields() -> None:
    assert read_einvoice_xml(b"<rsm:CrossIndustryInvoice><unclosed>").fields == ()
