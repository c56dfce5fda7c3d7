"""Vendor layout memory, without Django: learn from one page, find on the next."""

from __future__ import annotations

from pipeline.extract.heuristic import HeuristicExtractor
from pipeline.extract.vendor_memory import (
    MEMORY_MARK,
    ValueKind,
    VendorLayoutHint,
    apply_hints,
    learn_hint,
    locate,
    value_shape,
)
from pipeline.types import OcrLine, PageText


def line(text: str, box: tuple[int, int, int, int]) -> OcrLine:
    x0, y0, x1, y1 = box
    return OcrLine(text, 0.99, ((x0, y0), (x1, y0), (x1, y1), (x0, y1)))


def one_page(*lines: OcrLine) -> PageText:
    return PageText(page_number=1, width=800, height=600, source="ocr", lines=lines)


def page(reference: str, total: str, *, shift: int = 0) -> PageText:
    return one_page(
        line("NORDWIND TRADING GMBH", (40, 40, 400, 80)),
        line("Invoice No: 990001", (40, 100, 330, 130)),
        line("Ref. doc.", (520, 100 + shift, 640, 130 + shift)),
        line(reference, (520, 140 + shift, 660, 170 + shift)),
        line(f"Total EUR {total}", (40, 400, 420, 430)),
    )


def learn(
    value: str,
    page_text: PageText,
    *,
    field_name: str = "invoice_number",
    kind: ValueKind = "code",
    box: tuple[int, int, int, int] | None = None,
) -> VendorLayoutHint | None:
    return learn_hint(
        field_name=field_name,
        kind=kind,
        value=value,
        pages=[page_text],
        learned_from="invoice-a.png",
        learned_on="2026-11-26",
        box=box,
    )


def learned() -> VendorLayoutHint:
    hint = learn("RD-4711", page("RD-4711", "120,50"))
    assert hint is not None
    return hint


def test_a_hint_remembers_the_label_above_the_value_and_its_shape() -> None:
    hint = learned()
    assert hint.anchor_text == "Ref. doc."
    assert hint.placement == "below"
    assert hint.value_shape == "AA-9999"
    assert hint.value_box == (0.65, 0.2333, 0.825, 0.2833)
    assert VendorLayoutHint.from_json(hint.as_json()) == hint


def test_the_next_document_is_read_from_memory_even_when_the_layout_drifts() -> None:
    other = page("RD-4790", "77,00", shift=12)
    generic = HeuristicExtractor().extract([other]).get("invoice_number")
    assert generic is not None and generic.value == "990001"  # the decoy

    remembered = apply_hints(
        HeuristicExtractor().extract([other]), [other], [learned()]
    )
    number = remembered.get("invoice_number")
    assert number is not None
    assert number.value == "RD-4790"
    assert number.confidence == 1.0
    assert number.box == (520, 152, 660, 182)
    assert MEMORY_MARK in number.explanation
    assert "invoice-a.png" in number.explanation and "2026-11-26" in number.explanation
    # Other fields are the extractor's.
    assert remembered.get("total_amount").value == "77.00"  # type: ignore[union-attr]


def test_a_value_of_another_shape_is_not_taken_from_memory() -> None:
    assert locate([page("see attached", "1,00")], learned()) is None
    assert locate([page("4711", "1,00")], learned()) is None


def test_a_label_on_the_value_s_own_line_is_its_anchor() -> None:
    hint = learn(
        "K/2024/0815", one_page(line("Beleg: K/2024/0815", (40, 100, 400, 130)))
    )
    assert hint is not None and (hint.anchor_text, hint.placement) == (
        "Beleg",
        "inline",
    )
    moved = one_page(line("Beleg: K/2024/0999", (40, 300, 400, 330)))
    match = locate([moved], hint)
    assert match is not None and match.anchored
    assert match.field.value == "K/2024/0999"


def test_amounts_and_dates_are_learned_by_kind_not_by_shape() -> None:
    hint = learn(
        "120.50", page("RD-1", "120,50"), field_name="total_amount", kind="amount"
    )
    assert hint is not None and hint.anchor_text == "Total"
    match = locate([page("RD-2", "1.234,00")], hint)
    assert match is not None and match.field.value == "1234.00"


def test_a_box_picks_which_printed_copy_was_meant() -> None:
    twice = one_page(
        line("Order: AB-1000", (40, 100, 300, 130)),
        line("Invoice ref: AB-1000", (40, 300, 380, 330)),
    )
    hint = learn("AB-1000", twice, box=(40, 300, 380, 330))
    assert hint is not None and hint.anchor_text == "Invoice ref"


def test_a_value_no_line_shows_teaches_nothing() -> None:
    assert learn("ZZ-0000", page("RD-4711", "1,00")) is None
    assert value_shape("rd-4711/b") == "AA-9999/A"


def test_a_remembered_iban_whose_check_digits_fail_is_left_for_review() -> None:
    def iban_page(iban: str) -> PageText:
        return one_page(
            line("Bankverbindung", (40, 500, 300, 530)),
            line(iban, (40, 540, 500, 570)),
        )

    hint = learn(
        "DE89370400440532013000",
        iban_page("DE89 3704 0044 0532 0130 00"),
        field_name="iban",
    )
    assert hint is not None and hint.anchor_text == "Bankverbindung"
    good = locate([iban_page("DE02 1203 0000 0000 2020 51")], hint)
    assert good is not None
    assert (good.field.value, good.field.confidence) == ("DE02120300000000202051", 1.0)
    misread = locate([iban_page("DE02 1203 0000 0000 2020 57")], hint)
    assert misread is not None and misread.field.confidence == 0.5
    assert "check digits fail" in misread.field.explanation
