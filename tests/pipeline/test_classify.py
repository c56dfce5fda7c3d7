"""Document classification on real receipts and invoices, and on the layouts of
the types the dev data has no examples of."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pipeline.classify import (
    CREDIT_NOTE,
    INVOICE,
    MODEL_PATH,
    OTHER,
    PURCHASE_ORDER,
    RECEIPT,
    REMITTANCE_ADVICE,
    classify,
    titles,
)
from pipeline.classify_training import (
    load_samples,
    model_from_artefact,
    read_pdf_text,
    train,
)
from pipeline.ocr.recorded import page_text_from_boxes
from pipeline.types import OcrLine, PageText
from tests.conftest import DATASETS, SROIE

ZUGFERD = DATASETS / "zugferd-corpus"
# What `classify_training.train` hashes into the artefact's version.
MODEL_BODY_KEYS = (
    "features", "means", "scales", "coefficients", "intercept", "title_reliability",
)  # fmt: skip
CREDIT_NOTE_PDF = (
    ZUGFERD
    / "pdfs"
    / "ZUGFeRDv2__correct__FNFE-factur-x-examples__Avoir_FR_type381_BASIC.pdf"
)


def page(*rows: tuple[str, int, int, int]) -> tuple[PageText, ...]:
    """A page from (text, x, y, height) rows; width follows the text length."""
    lines = tuple(
        OcrLine(
            text,
            0.99,
            ((x, y), (x + len(text) * h * 0.55, y),
             (x + len(text) * h * 0.55, y + h), (x, y + h)),
        )
        for text, x, y, h in rows
    )  # fmt: skip
    return (PageText(1, 1240, 1754, lines, "ocr"),)


def test_sroie_receipts_headed_tax_invoice_are_still_receipts() -> None:
    for doc_id in ("X51005361898", "X51005433538", "X51005442379"):
        boxes = (SROIE / "ocr_boxes" / f"{doc_id}.txt").read_text()
        pages = (page_text_from_boxes(boxes),)
        assert "TAX INVOICE" in " ".join(line.text.upper() for line in pages[0].lines)

        result = classify(pages)

        assert result.document_type == RECEIPT, doc_id
        assert result.confidence > 0.9


def test_a_zugferd_pdf_is_an_invoice() -> None:
    pdf = (
        ZUGFERD / "pdfs" / "ZUGFeRDv1__correct__Intarsys__ZUGFeRD_1p0_BASIC_Einfach.pdf"
    )
    pages = read_pdf_text(pdf)
    assert pages is not None

    result = classify(pages)

    assert result.document_type == INVOICE
    assert result.confidence > 0.9
    assert any("RECHNUNG" in reason.upper() for reason in result.evidence)


def test_a_french_avoir_is_a_credit_note() -> None:
    pages = read_pdf_text(CREDIT_NOTE_PDF)
    assert pages is not None

    result = classify(pages)

    assert result.document_type == CREDIT_NOTE
    assert result.confidence > 0.8


def test_a_purchase_order_is_recognised_by_its_heading() -> None:
    pages = page(
        ("Northwind Traders Ltd", 80, 80, 40),
        ("PURCHASE ORDER", 760, 80, 48),
        ("Ship to: Vouch Demo Ltd, 1 Main Street", 80, 260, 26),
        ("Vendor: ACME Supplies", 80, 300, 26),
        ("Order date: 2026-11-02", 80, 340, 26),
        ("Item  Qty  Unit price  Amount", 80, 420, 26),
        ("Copy paper A4  10  5.00  50.00", 80, 460, 26),
        ("Toner black  3  50.00  150.00", 80, 500, 26),
        ("Total USD 200.00", 80, 580, 26),
        ("Payment terms: net 30", 80, 640, 26),
    )

    result = classify(pages)

    assert result.document_type == PURCHASE_ORDER
    assert 'heading "PURCHASE ORDER"' in result.evidence


def test_a_remittance_advice_naming_invoices_is_not_an_invoice() -> None:
    pages = page(
        ("Contoso GmbH", 80, 80, 40),
        ("REMITTANCE ADVICE", 700, 80, 48),
        ("Payment date: 2026-11-20", 80, 260, 26),
        ("Invoice", 80, 340, 26),
        ("Invoice No  Date  Amount paid", 80, 380, 26),
        ("RE-4711  2026-10-02  238.00", 80, 420, 26),
        ("RE-4733  2026-10-09  1,190.00", 80, 460, 26),
        ("Total paid EUR 1,428.00", 80, 540, 26),
        ("IBAN DE89 3704 0044 0532 0130 00", 80, 600, 26),
    )

    assert classify(pages).document_type == REMITTANCE_ADVICE


def test_an_invoice_that_mentions_its_order_stays_an_invoice() -> None:
    pages = page(
        ("ACME Bürobedarf GmbH", 80, 80, 40),
        ("Rechnung", 800, 80, 48),
        ("Bestellung vom 01.11.2026", 80, 200, 26),
        ("Rechnungsnummer: RE-2026-4711", 80, 240, 26),
        ("Summe netto 200,00", 80, 500, 26),
        ("USt 19% 38,00", 80, 540, 26),
        ("Gesamtbetrag EUR 238,00", 80, 580, 26),
        ("IBAN DE89 3704 0044 0532 0130 00", 80, 640, 26),
    )

    assert titles(pages)[INVOICE] == "Rechnung"
    assert classify(pages).document_type == INVOICE


def test_a_label_in_ordinary_print_is_not_a_heading() -> None:
    pages = page(
        ("Some Company", 80, 80, 26),
        ("Bestellung: 4711", 80, 120, 26),
        ("Lieferadresse", 80, 160, 26),
    )
    assert PURCHASE_ORDER not in titles(pages)


def test_a_letter_is_other_and_not_confidently_so() -> None:
    pages = page(
        ("Dear Ms Jones,", 80, 200, 26),
        ("thank you for meeting us last week.", 80, 240, 26),
        ("We look forward to working together.", 80, 280, 26),
        ("Kind regards, Sam", 80, 360, 26),
    )

    result = classify(pages)

    assert result.document_type == OTHER
    assert result.confidence <= 0.5


def test_an_empty_page_is_other_with_no_confidence() -> None:
    result = classify((PageText(1, 100, 100, (), "ocr"),))
    assert (result.document_type, result.confidence) == (OTHER, 0.0)


def test_the_checked_in_model_is_the_one_its_version_names() -> None:
    artefact = json.loads(MODEL_PATH.read_text())
    assert artefact["name"] == "vouch-document-classifier"
    body = {key: artefact[key] for key in MODEL_BODY_KEYS}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    assert artefact["version"] == digest[:12]  # no hand edit since training
    assert set(artefact["training"]["documents"]) >= {
        "sroie2019-receipts:receipt",
        "deepform-vrdu-adbuy:invoice",
    }
    assert "5_fold_expected_calibration_error" in artefact["scores"]


def test_a_model_trained_on_some_sources_classifies_unseen_sources(
    tmp_path: Path,
) -> None:
    """Train on SROIE's text-only receipts and DeepForm's invoices; classify the
    SROIE 2019 receipts and ZUGFeRD invoices, which it never saw."""
    artefact = train(
        [
            DATASETS / "sroie-train-ocr-text" / "manifest.jsonl",
            DATASETS / "deepform-vrdu-adbuy" / "manifest.jsonl",
        ],
        folds=3,
    )
    model = model_from_artefact(artefact)
    unseen, _ = load_samples([SROIE / "manifest.jsonl", ZUGFERD / "manifest.jsonl"])

    right = sum(
        classify(sample.pages, model).document_type == sample.doc_type
        for sample in unseen
    )

    assert right / len(unseen) >= 0.95
