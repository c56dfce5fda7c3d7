"""Tax summary rows: a rate, its base and the tax, which is the rate of the
base to the cent. Where no label names the tax they give it (summed over the
rates); they never elect a total of their own."""

from __future__ import annotations

from pipeline.extract.heuristic import HeuristicExtractor
from pipeline.types import OcrLine, PageText
from tests.pipeline.printed import line


def read(*lines: OcrLine) -> dict[str, str]:
    page = PageText(1, 1654, 2339, lines, "ocr")
    return {f.name: f.value for f in HeuristicExtractor().extract([page]).fields}


HEADER = (
    line("Lieferant GmbH", 107, 108, 500, 140),
    line("Rechnungsnummer 471102", 1007, 223, 1500, 245),
    line("Rechnungsdatum 05.03.2013", 1011, 269, 1500, 291),
)


def test_the_tax_of_one_rate_row_is_read_where_no_label_names_it() -> None:
    fields = read(
        *HEADER,
        line("Rechnungssumme Netto (excl. USt.)", 162, 994, 700, 1016),
        line("198,00", 1417, 994, 1500, 1016),
        line("Steuerbasisbetrag USt. 19%", 162, 1032, 700, 1054),
        line("198,00", 1304, 1031, 1390, 1053),
        line("37,62", 1428, 1031, 1500, 1053),
        line("Rechnungssumme Brutto (inkl. USt.)", 161, 1084, 700, 1106),
        line("235,62", 1417, 1084, 1500, 1106),
    )
    assert fields["tax_amount"] == "37.62"
    assert fields["total_amount"] == "235.62"


def test_two_rate_rows_add_up_to_the_tax() -> None:
    fields = read(
        *HEADER,
        line("Steuerbasisbetrag USt. 7%", 162, 1111, 700, 1133),
        line("100,00", 1304, 1111, 1390, 1133),
        line("7,00", 1428, 1111, 1500, 1133),
        line("Steuerbasisbetrag USt. 19%", 162, 1149, 700, 1171),
        line("200,00", 1304, 1149, 1390, 1171),
        line("38,00", 1428, 1149, 1500, 1171),
        line("Rechnungssumme Brutto (inkl. USt.)", 161, 1201, 700, 1223),
        line("345,00", 1417, 1201, 1500, 1223),
    )
    assert fields["tax_amount"] == "45.00"
    assert fields["subtotal_amount"] == "300.00"


def test_rate_rows_never_elect_the_unrounded_sum_over_the_rounded_total() -> None:
    """A receipt rounding to 5 sen: its tax rows add up to 88.97, the amount
    to pay is 88.95."""
    fields = read(
        line("KEDAI RUNCIT SDN BHD", 100, 50, 600, 80),
        line("TOTAL INCL GST", 60, 900, 400, 925),
        line("88.97", 500, 900, 600, 925),
        line("ROUNDING ADJ", 60, 940, 400, 965),
        line("-0.02", 500, 940, 600, 965),
        line("TOTAL ROUNDED", 60, 980, 400, 1005),
        line("88.95", 500, 980, 600, 1005),
        line("CASH", 60, 1020, 400, 1045),
        line("100.00", 500, 1020, 600, 1045),
        line("CHANGE", 60, 1060, 400, 1085),
        line("11.05", 500, 1060, 600, 1085),
        line("GST SUMMARY AMOUNT(RM) TAX(RM)", 60, 1140, 600, 1165),
        line("SR 6%", 60, 1180, 200, 1205),
        line("83.93", 300, 1180, 400, 1205),
        line("5.04", 500, 1180, 600, 1205),
    )
    assert fields["total_amount"] == "88.95"
