"""The vendor directory, without Django: a vendor recognised by a strong key,
its canonical values applied, text fields remembered, and a note for each
thing done or not done."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from pathlib import Path

from pipeline.decode import DecodeLimits
from pipeline.extract.heuristic import HeuristicExtractor
from pipeline.extract.scorer import (
    ScoredExtractor,
)
from pipeline.extract.vendor_directory import (
    CONFIRMED_MARK,
    MASTER_MARK,
    UNCORROBORATED_CONFIDENCE,
    DirectoryVendor,
    TextMemory,
    apply_directory,
    corroborated,
    identify,
)
from pipeline.extract.vendor_learning import (
    Directory,
    learn_text,
    registration_ids,
)
from pipeline.ocr.paddle import PaddleOcrEngine
from pipeline.run import run_pipeline
from pipeline.types import Extraction, FieldValue, OcrLine, PageText
from tests.conftest import SROIE

KINDS = {"invoice_number": "code", "total_amount": "amount", "invoice_date": "date"}
GARDENIA = {
    "vendor_name": "GARDENIA BAKERIES (KL) SDN BHD",
    "vendor_address": "LOT 3, JALAN PELABUR 23/1, 40300 SHAH ALAM, SELANGOR.",
}


def line(text: str, y: int, x: int = 40) -> OcrLine:
    return OcrLine(text, 0.99, ((x, y), (x + 400, y), (x + 400, y + 24), (x, y + 24)))


def receipt(*texts: str) -> PageText:
    lines = tuple(line(text, 30 + 34 * index) for index, text in enumerate(texts))
    return PageText(page_number=1, width=600, height=900, source="ocr", lines=lines)


def read(page: PageText, **values: str) -> Extraction:
    return Extraction(
        tuple(FieldValue(name, value, value, 0.5) for name, value in values.items())
    )


NORDWIND = DirectoryVendor(
    key="v-1",
    name="Nordwind Trading GmbH",
    source="master",
    address="Hafenstraße 12, 20457 Hamburg",
    vat_ids=("DE811907980",),
    ibans=("DE89370400440532013000",),
)


def test_a_vat_id_printed_anywhere_names_the_vendor_despite_a_garbled_name() -> None:
    page = receipt(
        "N0RDW1ND TRAD1NG",
        "Hafenstrasse 12, 20457 Hamburg",
        "USt-IdNr.: DE 811 907 980",
        "Total 12.00",
    )
    match = identify({"vendor_name": "N0RDW1ND TRAD1NG"}, [page], [NORDWIND])
    assert match is not None and (match.method, match.confidence) == ("vat_id", 1.0)

    outcome = apply_directory(read(page, vendor_name="N0RDW1ND TRAD1NG"), [page], match)
    name = outcome.extraction.get("vendor_name")
    assert name is not None and name.value == "Nordwind Trading GmbH"
    assert name.explanation == (
        f"{MASTER_MARK} (matched by VAT id or tax registration number, 100%)"
    )
    address = outcome.extraction.get("vendor_address")
    assert address is not None and address.value == "Hafenstraße 12, 20457 Hamburg"
    assert address.box == (40, 64, 440, 88)


def test_an_iban_in_groups_names_the_vendor() -> None:
    page = receipt("Someone", "IBAN DE89 3704 0044 0532 0130 00")
    match = identify({}, [page], [NORDWIND])
    assert match is not None and match.method == "iban"


def test_a_name_only_match_below_the_sure_score_changes_nothing_and_says_why() -> None:
    page = receipt("Nordwind Tradeing Hamburg", "Total 3.00")
    extraction = read(page, vendor_name="Nordwind Tradeing Hamburg")
    match = identify({"vendor_name": "Nordwind Tradeing Hamburg"}, [page], [NORDWIND])
    assert match is not None and match.method == "name" and match.confidence < 0.95

    outcome = apply_directory(extraction, [page], match)
    assert outcome.extraction == extraction
    assert outcome.applied == []
    [note] = outcome.notes
    assert "by name only" in note.reason and "below the 95% needed" in note.reason


def test_an_unknown_vendor_is_explained() -> None:
    page = receipt("Kedai Runcit Ah Seng", "Total 3.00")
    fields = {"vendor_name": "Kedai Runcit Ah Seng"}
    directory = Directory([NORDWIND])
    outcome = directory.read(read(page, **fields), [page])
    assert outcome.match is None
    assert outcome.notes[0].reason.startswith("not applied: no VAT id, IBAN")
    assert "closest to Nordwind Trading GmbH" in outcome.notes[0].reason


def test_a_confirmed_text_field_is_remembered_with_its_label_and_place() -> None:
    first = receipt("KEDAI AH SENG", "Bill to:", "Syarikat Maju Jaya", "Total 3.00")
    memory = learn_text(
        field_name="customer_name",
        value="SYARIKAT MAJU JAYA SDN BHD",
        pages=[first],
        learned_from="receipt-1",
        learned_on="2026-12-06",
    )
    assert memory is None  # the page does not show that value

    memory = learn_text(
        field_name="customer_name",
        value="SYARIKAT MAJU JAYA",
        pages=[first],
        learned_from="receipt-1",
        learned_on="2026-12-06",
    )
    assert memory is not None
    assert (memory.label, memory.printed) == ("Bill to", "syarikatmajujaya")
    assert memory.box == (0.0667, 0.1089, 0.7333, 0.1356)
    assert TextMemory.from_json(memory.as_json()) == memory


def test_text_fields_learned_on_approval_read_the_next_receipt_right() -> None:
    directory = Directory()
    first = receipt(
        "KEDAI AH SENG (12345-X)",
        "No 5, Jalan Besar,",
        "81100 Johor Bahru",
        "Bill to: ",
        "Syarikat Maju Jaya",
        "Total 3.00",
    )
    confirmed = {
        "vendor_name": "KEDAI AH SENG",
        "vendor_address": "NO 5, JALAN BESAR, 81100 JOHOR BAHRU",
        "customer_name": "SYARIKAT MAJU JAYA",
        "total_amount": "3.00",
    }
    extraction = read(first, vendor_name="KEDAI AH SENG (12345-X)")
    vendor = directory.approve(
        extraction,
        [first],
        confirmed,
        kinds=KINDS,
        document="receipt-1",
        day="2026-12-06",
    )
    assert vendor is not None and vendor.source == "confirmed"
    assert {m.field_name for m in vendor.texts} == {
        "vendor_name",
        "vendor_address",
        "customer_name",
    }
    # The next receipt: the name read badly, spaces dropped, another customer.
    second = receipt(
        "KEDAIAHSENG(12345-X)",
        "No5,JalanBesar,",
        "81100 Johor Bahru",
        "Bill to:",
        "Syarikat Maju Jaya",
        "Total 7.50",
    )
    outcome = directory.read(read(second, vendor_name="KEDAIAHSENG(12345-X)"), [second])
    assert outcome.match is not None and outcome.match.method == "alias"
    fields = {f.name: f for f in outcome.extraction.fields}
    assert fields["vendor_name"].value == "KEDAI AH SENG"
    assert fields["vendor_address"].value == "NO 5, JALAN BESAR, 81100 JOHOR BAHRU"
    assert fields["customer_name"].value == "SYARIKAT MAJU JAYA"
    assert fields["customer_name"].explanation.startswith(CONFIRMED_MARK)
    assert "confirmed on receipt-1" in fields["customer_name"].explanation

    # Another branch's address is not the one remembered: kept, and said why.
    branch = receipt("KEDAI AH SENG (12345-X)", "Lot 9, Jalan Kuching,", "Total 1.00")
    outcome = directory.read(read(branch, vendor_address="Lot 9"), [branch])
    assert outcome.extraction.get("vendor_address").value == "Lot 9"  # type: ignore[union-attr]
    refused = [n for n in outcome.notes if n.field_name == "vendor_address"]
    assert refused and not refused[0].applied
    assert "does not show a known value" in refused[0].reason


def test_a_remembered_text_is_sure_only_when_the_page_s_own_reading_agrees() -> None:
    """A chain prints its head-office address on every receipt and the branch
    after it: the confirmed head-office address is found again, but when the
    extractor read more (the branch), the remembered value is only proposed,
    under every text threshold, and says why."""
    directory = Directory()
    first = receipt("KEDAI AH SENG (12345-X)", "No 5, Jalan Besar,", "Total 3.00")
    directory.approve(
        read(first, vendor_name="KEDAI AH SENG (12345-X)"),
        [first],
        {"vendor_name": "KEDAI AH SENG", "vendor_address": "NO 5, JALAN BESAR"},
        kinds=KINDS,
        document="receipt-1",
        day="2026-12-06",
    )
    branch = receipt(
        "KEDAI AH SENG (12345-X)", "No 5, Jalan Besar,", "1214-Jinjang Utara"
    )
    agrees = directory.read(
        read(branch, vendor_address="NO 5,JALAN BESAR"), [branch]
    ).extraction.get("vendor_address")
    assert agrees is not None and agrees.confidence == 1.0
    differs = directory.read(
        read(branch, vendor_address="No 5, Jalan Besar, 1214-Jinjang Utara"), [branch]
    ).extraction.get("vendor_address")
    assert differs is not None and differs.value == "NO 5, JALAN BESAR"
    assert differs.confidence == UNCORROBORATED_CONFIDENCE < 1.0
    assert "the page's own reading differs" in differs.explanation
    # One letter apart is not the same reading: an OCR slip or a person's
    # typo, a person looks.
    one_letter = directory.read(
        read(branch, vendor_address="NO 5, JALAN BESAP"), [branch]
    ).extraction.get("vendor_address")
    assert one_letter is not None
    assert one_letter.confidence == UNCORROBORATED_CONFIDENCE
    unread = directory.read(read(branch), [branch]).extraction.get("vendor_address")
    assert unread is not None and unread.confidence == UNCORROBORATED_CONFIDENCE


def test_a_reading_without_the_marks_ocr_cannot_print_still_corroborates() -> None:
    """The recognition dictionary has no umlauts or ß: "Munchen" and
    "Lieferantenstrasse" are the page's reading of "München" and
    "Lieferantenstraße"; "LieferantenstraBe" is a misread."""

    def reading(value: str) -> FieldValue:
        return FieldValue("vendor_address", value, value, 0.5)

    confirmed = "Lieferantenstraße 20, 80333 München"
    assert corroborated(confirmed, reading("Lieferantenstrasse 20,80333 Munchen"))
    assert not corroborated(confirmed, reading("LieferantenstraBe 20, 80333 Munchen"))
    assert not corroborated(confirmed, None)


def test_an_address_between_another_column_s_lines_is_learned_and_found_again() -> None:
    """A letterhead beside the buyer's block: reading order interleaves the two
    columns, so the street and the town are not consecutive lines. And OCR
    prints "StraBe" and "Munchen" for the "Straße" and "München" a person
    confirmed, which marks squashed away leave further apart than any snap."""

    def invoice(total: str) -> PageText:
        return receipt(
            "Musterlieferant GmbH",
            "LieferantenstraBe 20",
            "Kunde: Max Mustermann",
            "80333 Munchen",
            "Kundenweg 88, 40235 Dusseldorf",
            f"Gesamtbetrag {total}",
        )

    directory = Directory()
    confirmed = {
        "vendor_name": "Musterlieferant GmbH",
        "vendor_address": "Lieferantenstraße 20, 80333 München",
        "total_amount": "119.00",
    }
    first = invoice("119,00")
    vendor = directory.approve(
        read(first, vendor_name="Musterlieferant GmbH"),
        [first],
        confirmed,
        kinds=KINDS,
        document="invoice-1",
        day="2026-12-07",
    )
    assert vendor is not None
    memory = next(m for m in vendor.texts if m.field_name == "vendor_address")
    assert memory.printed == "lieferantenstrabe2080333munchen"

    second = invoice("238,00")
    outcome = directory.read(
        read(
            second, vendor_name="Musterlieferant GmbH", vendor_address="80333 Munchen"
        ),
        [second],
    )
    address = outcome.extraction.get("vendor_address")
    assert address is not None
    assert address.value == "Lieferantenstraße 20, 80333 München"
    assert "confirmed on invoice-1" in address.explanation
    # Parts that do not stand together are not an address.
    far = receipt(
        "Musterlieferant GmbH",
        "LieferantenstraBe 20",
        *[f"Position {n} 1,00" for n in range(10)],
        "80333 Munchen",
    )
    outcome = directory.read(
        read(far, vendor_name="Musterlieferant GmbH", vendor_address="x"), [far]
    )
    assert outcome.extraction.get("vendor_address").value == "x"  # type: ignore[union-attr]


def test_a_wrongly_read_number_is_remembered_where_the_vendor_prints_it() -> None:
    directory = Directory()
    first = receipt("KEDAI AH SENG", "Cash Inv No.: 7730F710", "Ref 12", "Total 3.00")
    directory.approve(
        read(first, invoice_number="12"),
        [first],
        {"vendor_name": "KEDAI AH SENG", "invoice_number": "7730F710"},
        kinds=KINDS,
        document="receipt-1",
        day="2026-12-06",
    )
    second = receipt("KEDAI AH SENG", "Cash Inv No.: 7725F714", "Ref 99", "Total 1.00")
    outcome = directory.read(read(second, invoice_number="99"), [second])
    number = outcome.extraction.get("invoice_number")
    assert number is not None and number.value == "7725F714"
    assert "invoice_number" in outcome.applied


def test_a_value_read_right_teaches_a_place_that_vouches_but_never_replaces() -> None:
    """A number the machine read right and a person confirmed is learned too:
    the next document's same reading there is as sure as memory makes it, but
    a different reading is kept as read (on a receipt the remembered label
    also sits beside subtotals), with a note saying why."""
    directory = Directory()
    first = receipt("KEDAI AH SENG", "Cash Inv No.: 7730F710", "Total 3.00")
    directory.approve(
        read(first, invoice_number="7730F710", total_amount="3.00"),
        [first],
        {
            "vendor_name": "KEDAI AH SENG",
            "invoice_number": "7730F710",
            "total_amount": "3.00",
        },
        kinds=KINDS,
        document="receipt-1",
        day="2026-12-06",
    )
    (learned,) = directory.vendors
    assert {h.field_name: h.confirms for h in learned.hints} == {
        "invoice_number": True,
        "total_amount": True,
    }
    second = receipt("KEDAI AH SENG", "Cash Inv No.: 7725F714", "Total 1.00")
    outcome = directory.read(
        read(second, invoice_number="7725F714", total_amount="9.00"), [second]
    )
    number = outcome.extraction.get("invoice_number")
    assert number is not None and number.value == "7725F714"
    assert number.confidence == 1.0 and "from vendor memory" in number.explanation
    total = outcome.extraction.get("total_amount")
    assert total is not None and (total.value, total.confidence) == ("9.00", 0.5)
    assert "total_amount" not in outcome.applied
    (note,) = [n for n in outcome.notes if n.field_name == "total_amount"]
    assert "shows another value on this page; the value read stands" in note.reason
    assert "1.00" not in note.reason and "9.00" not in note.reason


def test_memory_never_lowers_the_confidence_of_the_value_it_agrees_with() -> None:
    """On a blurred line memory is less sure than on a clear one; when the
    extractor read the same value with more confidence (its evidence agreed),
    that confidence stands."""
    directory = Directory()
    first = receipt("KEDAI AH SENG", "Cash Inv No.: 7730F710", "Total 3.00")
    directory.approve(
        read(first, invoice_number="7730F710"),
        [first],
        {"vendor_name": "KEDAI AH SENG", "invoice_number": "7730F710"},
        kinds=KINDS,
        document="receipt-1",
        day="2026-12-06",
    )
    clear = receipt("KEDAI AH SENG", "Cash Inv No.: 7725F714", "Total 1.00")
    blurred = replace(
        clear,
        lines=tuple(
            replace(ocr_line, confidence=0.76) if "Inv" in ocr_line.text else ocr_line
            for ocr_line in clear.lines
        ),
    )
    sure = Extraction((FieldValue("invoice_number", "7725F714", "7725F714", 0.99),))
    number = directory.read(sure, [blurred]).extraction.get("invoice_number")
    assert number is not None and (number.value, number.confidence) == (
        "7725F714",
        0.99,
    )
    unsure = read(blurred, invoice_number="7725F714")
    number = directory.read(unsure, [blurred]).extraction.get("invoice_number")
    assert number is not None and number.confidence == 0.8  # memory's, on a blur


def test_a_correction_s_place_outlives_a_later_confirmation() -> None:
    """The document after a correction is often read right only because the
    correction's place moved its value: confirming it must not turn that
    place into one that merely vouches."""
    directory = Directory()
    first = receipt("KEDAI AH SENG", "Cash Inv No.: 7730F710", "Ref 12", "Total 3.00")
    confirmed = {"vendor_name": "KEDAI AH SENG", "invoice_number": "7730F710"}
    directory.approve(
        read(first, invoice_number="12"),
        [first],
        confirmed,
        kinds=KINDS,
        document="receipt-1",
        day="2026-12-06",
    )
    second = receipt("KEDAI AH SENG", "Cash Inv No.: 7725F714", "Ref 99", "Total 1.00")
    moved = directory.read(read(second, invoice_number="99"), [second]).extraction
    directory.approve(
        moved,
        [second],
        {**confirmed, "invoice_number": "7725F714"},
        kinds=KINDS,
        document="receipt-2",
        day="2026-12-06",
    )
    (hint,) = directory.vendors[0].hints
    assert (hint.learned_from, hint.confirms) == ("receipt-1", False)
    third = receipt("KEDAI AH SENG", "Cash Inv No.: 7721F702", "Ref 31", "Total 2.00")
    number = directory.read(read(third, invoice_number="31"), [third]).extraction
    found = number.get("invoice_number")
    assert found is not None and found.value == "7721F702"


def test_a_registration_number_in_the_head_is_a_key_a_buyer_s_lower_down_is_not() -> (
    None
):
    head = ["SHOP"] + ["x"] * 16 + ["Customer GST ID: 000999888777"]
    page = receipt("SHOP", "GST1D:000381399040", *head)
    assert registration_ids([page]) == ["000381399040"]


@cache
def paddle() -> PaddleOcrEngine:
    return PaddleOcrEngine()


def gardenia(doc_id: str) -> tuple[Extraction, list[PageText]]:
    """A GARDENIA receipt read by the real PaddleOCR and the shipped scorer."""
    data = Path(SROIE / "images" / f"{doc_id}.jpg").read_bytes()
    result = run_pipeline(
        data, ocr=paddle(), extractor=ScoredExtractor(), limits=DecodeLimits()
    )
    return result.extraction, [page.text for page in result.pages]


def test_memory_fires_through_a_strong_key_on_a_real_paddleocr_read() -> None:
    """Issue 17's receipts: A approved, so B and C of the same bakery read its
    confirmed name and address, recognised by its printed registration number
    and not by a fuzzy name score."""
    directory = Directory()
    extraction, pages = gardenia("X51006555806")
    directory.approve(
        extraction,
        pages,
        {**GARDENIA, "total_amount": "20.21"},
        kinds=KINDS,
        document="A",
        day="2026-12-06",
    )
    extraction, pages = gardenia("X51006555817")
    cold = HeuristicExtractor().extract(pages).get("vendor_name")
    assert cold is None or cold.value != GARDENIA["vendor_name"]
    outcome = directory.read(extraction, pages)
    assert outcome.match is not None
    assert outcome.match.method in ("vat_id", "alias")
    for name, value in GARDENIA.items():
        found = outcome.extraction.get(name)
        assert found is not None and found.value == value, name
        assert found.explanation.startswith(CONFIRMED_MARK)
        assert found.box is not None
