"""The synthetic invoice generator: its labels say what it printed, its
figures agree with each other, and the same seed gives the same bytes."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image
from rapidfuzz.distance import Levenshtein

from pipeline.extract.normalize import (
    compact_identifier,
    iban_is_valid,
    normalize_amount,
    normalize_date,
    vat_id_is_valid,
)
from pipeline.extract.scorer_training import load_documents, train
from pipeline.synthetic.content import LOCALES, make_invoice
from pipeline.synthetic.dataset import build_document, write_dataset
from pipeline.synthetic.render import render_invoice
from pipeline.types import PageImage
from tests.conftest import DATASETS

TRAIN_TEXT = DATASETS / "sroie-train-ocr-text" / "manifest.jsonl"

# Seeds covering every locale, every letterhead and a multi-page invoice.
SEEDS = tuple(range(14))
_AMOUNTS = ("subtotal_amount", "tax_amount", "total_amount", "amount_due")
_DATES = ("invoice_date", "due_date")
_IDENTIFIERS = ("iban", "vendor_vat_id")


def _text_layer(pdf: bytes) -> list[str]:
    """Each page's text layer, whitespace collapsed."""
    document = pdfium.PdfDocument(pdf)
    try:
        pages = []
        for index in range(len(document)):
            text = document[index].get_textpage().get_text_range()
            pages.append(" ".join(text.split()))
        return pages
    finally:
        document.close()


def _printed_as_label(name: str, text: str) -> str | None:
    """The printed string normalised the way the dataset labels are."""
    if name in _AMOUNTS:
        return normalize_amount(text)
    if name in _DATES:
        return normalize_date(text)
    if name in _IDENTIFIERS:
        return compact_identifier(text)
    return " ".join(text.split())


@pytest.mark.parametrize("seed", SEEDS)
def test_every_label_is_printed_as_labelled_in_the_text_layer(seed: int) -> None:
    entry, files = build_document(seed, f"t-{seed}")
    labels, printed = entry["labels"], entry["printed"]
    pages = _text_layer(files[entry["digital_file"]])
    for name, label in labels.items():
        if name == "currency":
            continue  # printed as a sign or code beside every amount
        if name == "address":
            lines = [p["text"] for p in printed["vendor_address"]]
            assert ", ".join(lines) == label
            assert all(line in pages[0] for line in lines)
            continue
        if name == "amount_due" and "amount_due" not in printed:
            # No deposit: the amount due is the total, printed as such.
            assert label == labels["total_amount"]
            continue
        assert printed.get(name), f"{name} = {label!r} is not printed"
        for item in printed[name]:
            if name == "vendor_name" and " · " in item["text"]:
                # The sender line above the address window starts with it.
                assert item["text"].startswith(label + " · ")
            else:
                assert _printed_as_label(name, item["text"]) == label, item
            if not item["in_image"]:
                page_text = pages[item["page"] - 1]
                assert " ".join(item["text"].split()) in page_text, item


@pytest.mark.parametrize("seed", SEEDS)
def test_figures_and_identifiers_are_consistent(seed: int) -> None:
    invoice = make_invoice(seed)
    lines_sum = sum((line.amount for line in invoice.lines), Decimal(0))
    assert invoice.subtotal == lines_sum
    assert invoice.total == invoice.subtotal + invoice.tax
    assert invoice.amount_due == invoice.total - invoice.deposit
    for rate, (base, tax) in invoice.tax_by_rate().items():
        assert abs(tax - base * rate / 100) <= Decimal("0.005")
    assert iban_is_valid(invoice.iban)
    assert vat_id_is_valid(invoice.vendor.vat_id)
    assert invoice.due > invoice.issued


def test_the_same_seed_gives_the_same_document() -> None:
    first_entry, first_files = build_document(3, "x")
    second_entry, second_files = build_document(3, "x")
    assert first_entry == second_entry
    assert first_files == second_files
    other_entry, _ = build_document(4, "x")
    assert other_entry["labels"] != first_entry["labels"]


def test_seeds_cover_every_locale_and_letterhead() -> None:
    locales = {make_invoice(seed).locale.code for seed in range(40)}
    assert locales == set(LOCALES)
    letterheads = {
        render_invoice(make_invoice(seed), seed).layout["letterhead"]
        for seed in range(40)
    }
    assert {"logo_name", "logo_icon", "name_left"} <= letterheads


def test_a_long_invoice_runs_over_pages_with_its_totals_on_the_last() -> None:
    seed = next(s for s in range(200) if len(make_invoice(s).lines) > 45)
    entry, files = build_document(seed, "long")
    assert entry["pages"] > 1
    assert {p["page"] for p in entry["printed"]["total_amount"]} == {entry["pages"]}
    assert len(entry["ocr_boxes_files"]) == entry["pages"]
    scan = files[entry["file"]]
    assert scan.startswith(b"%PDF")
    assert len(pdfium.PdfDocument(scan)) == entry["pages"]


def test_a_logo_only_name_is_not_in_the_text_layer_but_in_the_footer() -> None:
    seed = next(
        s
        for s in range(100)
        if render_invoice(make_invoice(s), s).layout["letterhead"] == "logo_icon"
    )
    entry, files = build_document(seed, "icon")
    name = entry["labels"]["vendor_name"]
    pages = _text_layer(files[entry["digital_file"]])
    # Only the footer (and perhaps the sender line) prints it as text.
    assert all(not p["in_image"] for p in entry["printed"]["vendor_name"])
    assert pages[0].count(name) == len(
        [p for p in entry["printed"]["vendor_name"] if p["page"] == 1]
    )


@pytest.mark.integration
def test_paddleocr_reads_the_logo_name_and_the_labels_off_the_scan() -> None:
    """Real OCR on the degraded scan: the name set inside the logo image is
    legible, and so are the number, the total and the IBAN."""
    from pipeline.ocr.paddle import PaddleOcrEngine, missing_model_files

    if missing_model_files():
        pytest.fail("PaddleOCR models are missing")
    seed = next(
        s
        for s in range(100)
        if render_invoice(make_invoice(s), s).layout["letterhead"] == "logo_name"
        and len(make_invoice(s).lines) <= 8
    )
    entry, files = build_document(seed, "logo")
    image = Image.open(io.BytesIO(files[entry["file"]]))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    lines = PaddleOcrEngine().recognize(
        PageImage(1, image.width, image.height, 200, buffer.getvalue(), "PNG")
    )
    texts = [line.text for line in lines]
    compact = "".join("".join(texts).split()).casefold()

    def squeezed(text: str) -> str:
        # OCR drops spaces between words ("Carreloly SA"); compare without them.
        return "".join(text.split()).casefold()

    name = squeezed(entry["labels"]["vendor_name"])
    best = max(
        Levenshtein.normalized_similarity(name, squeezed(text)) for text in texts
    )
    assert best >= 0.85, texts
    assert "".join(entry["labels"]["invoice_number"].split()).casefold() in compact
    for item in entry["printed"]["total_amount"]:
        assert "".join(item["text"].split()).casefold() in compact


def test_synthetic_invoices_are_trained_on_but_never_scored(tmp_path: Path) -> None:
    manifest = write_dataset(tmp_path / "synthetic", 12, scans=False)
    synthetic, _ = load_documents([], train_only=[manifest])
    assert len(synthetic) == 12
    assert all(d.train_only and d.source == "synthetic:recorded" for d in synthetic)
    real, _ = load_documents([TRAIN_TEXT])
    real = real[:30]
    artefact = train(real + synthetic, folds=2)
    assert artefact["training"]["documents"] == 42
    assert artefact["training"]["train_only_documents"] == 12
    # Every cross-validated figure is a real document's.
    for scores in artefact["scores"].values():
        assert scores["documents"] <= len(real)
        assert set(scores["by_source"]) == {"sroie-train-ocr-text:recorded"}


def test_a_multi_page_invoice_is_read_back_page_by_page(tmp_path: Path) -> None:
    seed = next(s for s in range(200) if len(make_invoice(s).lines) > 45)
    manifest = write_dataset(tmp_path / "long", 1, first_seed=seed, scans=False)
    (document,), _ = load_documents([manifest])
    assert len(document.pages) > 1
    assert [p.page_number for p in document.pages] == list(
        range(1, len(document.pages) + 1)
    )
    last = document.pages[-1]
    assert all(line.page_number == last.page_number for line in last.lines)
    total = document.labels["total_amount"]
    assert any(normalize_amount(line.text) == total for line in last.lines), (
        "the total is printed on the last page"
    )
