"""The receipt total on OCR lines as a phone photo of a thermal print gives
them: misread labels, rounding, cash and change, tax summaries."""

from __future__ import annotations

from decimal import Decimal

from pipeline.extract.evidence import CASH_CHANGE, gather_evidence
from pipeline.extract.heuristic import HeuristicExtractor
from pipeline.extract.total_amount import cell_amounts, repair_total_word
from pipeline.types import Extraction, FieldValue, PageText
from tests.pipeline.test_extract_heuristic import line, page

Row = tuple[str, str]


def receipt_page(*rows: Row) -> PageText:
    """Rows of (left text, right text), one row per 30 px in the lower half
    of the page."""
    lines = []
    for index, (left, right) in enumerate(rows):
        top = 520 + 30 * index
        lines.append(line(left, 40, top, 360, top + 20))
        if right:
            lines.append(line(right, 420, top, 560, top + 20))
    return page(*lines, width=600, height=1000)


def receipt_total(*rows: Row) -> FieldValue:
    found = HeuristicExtractor().extract([receipt_page(*rows)]).get("total_amount")
    assert found is not None
    return found


def test_a_total_label_with_misread_letters_still_labels_the_total() -> None:
    total = receipt_total(
        ("Item 0tu", "3"),
        ("Tot3l", "12.37"),
    )
    assert total.value == "12.37"
    assert "Tot3l" in total.explanation


def test_a_faded_total_beats_the_change_due_below_it() -> None:
    # Guardian pharmacy receipt, faded: TOTAL(GST INCL), CASH, CHANGE DUE.
    total = receipt_total(
        ("IUIAL(bSI INUL)", "2.28"),
        ("LASH", "5.00"),
        ("UHAMbE DUE", "0.70"),
    )
    assert total.value == "2.28"


def test_a_misread_inclusive_still_marks_a_total_that_includes_tax() -> None:
    total = receipt_total(
        ("Total Sales (Excluding GST)", "616.59"),
        ("Total GST", "0.00"),
        ("Total Sales (lnclusive of GST)", "616.60"),
        ("Change", "0.00"),
    )
    assert total.value == "616.60"


def test_only_look_alike_letters_repair_the_word_total() -> None:
    assert repair_total_word("lotal Sales") == "TOTAL Sales"
    assert repair_total_word("Tot3l") == "TOTAL"
    # Digits alone are a number, and other words stay as printed.
    assert repair_total_word("10141 TOTALLY 1TEMS") == "10141 TOTALLY 1TEMS"
    assert repair_total_word("SUBIUIAL") == "SUBIUIAL"


def test_a_card_number_on_the_payment_row_is_not_the_money_tendered() -> None:
    total = receipt_total(
        ("SUB TOTAL", "61.60"),
        ("{4553 8800 9593 0119} VISA", "61.60"),
        ("Change", "0.00"),
    )
    assert total.value == "61.60"
    assert "cash tendered minus change" in total.explanation


def test_cash_minus_change_read_past_a_card_number_confirms_the_total() -> None:
    receipt = receipt_page(
        ("Total Sales (Inclusive of GST)", "616.60"),
        ("{4553 8800 9593 0119} VISA", "616.60"),
        ("Change", "0.00"),
    )

    def cash_change_signal(total: str) -> int | None:
        value = FieldValue("total_amount", total, total, 0.9)
        evidence = gather_evidence(Extraction(fields=(value,)), [receipt])
        return evidence["total_amount"].signals.get(CASH_CHANGE)

    assert cash_change_signal("616.60") == 1
    assert cash_change_signal("600.00") == -1


def test_a_misread_cash_amount_does_not_make_the_total() -> None:
    # "CASH 15.00" with its 5 read as S: the 1 left over is no payment, and
    # 1 - 0.00 change must not outrank the subtotal, the only total printed.
    total = receipt_total(
        ("SUB-TOTAL", "15.00"),
        ("CASH", "1.S.00"),
        ("CHANGE", "0.00"),
    )
    assert total.value == "15.00"


def test_a_total_whose_decimal_point_reads_as_a_dash_keeps_its_cents() -> None:
    total = receipt_total(("TOTAL", "16-50"), ("THANK YOU", ""))
    assert total.value == "16.50"
    assert [a.value for a in cell_amounts("RM 22,90")] == [Decimal("22.90")]
    # Not alone in its box, a dash is a range or a date: left as it was.
    assert [a.value for a in cell_amounts("16-50 pcs")] != [Decimal("16.50")]


def test_the_total_rounded_on_a_rounding_row_is_the_total() -> None:
    # The adjustment itself is misread and change unreadable: the rounding
    # row's own words say its amount is the total rounded.
    total = receipt_total(
        ("Total Sales (Inclusive GST) RH", "42.33"),
        ("Rourding Adjustmeni RH", ".02"),
        ("Rounding RN", "42.35"),
        ("CREDIT RN", "42.35"),
        ("CHAHGE RH", ",00"),
    )
    assert total.value == "42.35"
    assert "rounded below it" in total.explanation


def test_an_amount_near_the_total_that_neither_rounds_nor_was_paid_is_no_total() -> (
    None
):
    rounded = receipt_total(("TOTAL", "10.00"), ("Rounded", "10.05"))
    unrelated = receipt_total(("TOTAL", "10.00"), ("Points value", "10.02"))
    assert (rounded.value, unrelated.value) == ("10.05", "10.00")


def test_the_amount_to_be_paid_is_the_total_and_not_cash_tendered() -> None:
    total = receipt_total(
        ("TOTAL :", "25.44"),
        ("ROUNDING ADJUSTMENT:", "0.01"),
        ("AMOUNT TO BE PAID :", "25.45"),
        ("CASH RECEIVED :", "25.50"),
        ("CHANGE :", "0.05"),
    )
    assert total.value == "25.45"
    assert "TO BE PAID" in total.explanation


def test_without_a_total_label_the_amount_in_a_cash_row_is_not_the_total() -> None:
    # "Amount" misread as "Anount", "total" as "tatal": no label is left, and
    # the largest amount is the note the driver fed the parking machine.
    total = receipt_total(
        ("Anount Incl. GST", "5.00 RM"),
        ("Accepted tatal", "10.00 RH"),
        ("GST 6%", "0.28 RH"),
    )
    assert total.value == "5.00"
    assert "no total label" in total.explanation


def test_a_tax_summary_total_row_is_parts_that_add_up_to_the_total() -> None:
    # OCR merged the summary's net and tax columns into one box; the printed
    # total is on an "AMT PAID" row, which reads as cash tendered.
    total = receipt_total(
        ("AMT PAID INCL. GST :", "RM78.30"),
        ("GST AMT :", "RM4.43"),
        ("GST SUMMARY", "AMT(RM) TAX(RM)"),
        ("SR(6%)", "73.87 4.43"),
        ("TOTAL", "73.87 4.43"),
    )
    assert total.value == "78.30"
    assert "tax summary" in total.explanation


def test_a_sub_total_outranks_the_tax_summary_total_row() -> None:
    # Rounded after the summary was printed: its columns add up to 88.97,
    # which is printed nowhere, so only the heading tells the row apart.
    total = receipt_total(
        ("Sub-total", "88.95"),
        ("CASH", "100.00"),
        ("GST Sunmary", "Amount Tax"),
        ("Total", "83.93 5.04"),
    )
    assert total.value == "88.95"


def test_the_subtotal_plus_charges_under_it_finds_a_total_whose_label_is_mangled() -> (
    None
):
    total = receipt_total(
        ("2 SUB TOTAL", "295.00"),
        ("SERVICE CHARGE 10%", "29.50"),
        ("GST 6%", "19.47"),
        ("ROUNDING ADJ", "-0.02"),
        ("NLITOTAL", "343.95"),
        ("Cumnar Amount", "295.00"),
    )
    assert total.value == "343.95"
    assert "subtotal plus the charges" in total.explanation


def test_an_intermediate_total_starts_the_next_run_of_charges() -> None:
    total = receipt_total(
        ("SUBTOTAL", "79.60"),
        ("DISCOUNT", "-30.00"),
        ("TOTAL AMOUNT :", "49.60"),
        ("SERV CHARGE 10%", "4.96"),
        ("GST @ 6%", "3.27"),
        ("ROUNDING ADJ :", "-0.03"),
        ("TO :", "RM 57.80"),
    )
    assert total.value == "57.80"


def test_a_total_printed_a_little_lower_than_its_label_is_still_its_value() -> None:
    # The value's box starts lower than the label's, so the two fall on rows
    # of their own; the note tendered below is the largest amount.
    receipt = page(
        line("TOTAL", 6, 634, 76, 655),
        line("PAYMENT TYPE", 4, 659, 170, 686),
        line("RM40.00", 457, 649, 556, 671),
        line("RECEIVED CASH", 2, 687, 184, 711),
        line("RM50.00", 455, 702, 555, 724),
        line("CHANGE", 2, 715, 86, 739),
        line("RM10.00", 455, 730, 555, 751),
        width=565,
        height=900,
    )
    total = HeuristicExtractor().extract([receipt]).get("total_amount")
    assert total is not None and total.value == "40.00"
    assert "a little lower" in total.explanation


def test_cash_with_no_change_given_does_not_confirm_itself_as_the_total() -> None:
    # "CASH 94.00" misread as 04.00: cash - 0.00 change is the cash row itself.
    total = receipt_total(
        ("SUB TOTAL", "92.50"),
        ("GST", "1.50"),
        ("CASH", "04.00"),
        ("CHANGE", "0.00"),
    )
    assert total.value == "92.50"
