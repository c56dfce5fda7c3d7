"""A summary table whose columns are headed by amount labels: the document's
total is in the "Gross Amount" column on the "Totals" row, not the first
line's amount under the header."""

from __future__ import annotations

from pipeline.extract.candidates import amounts_in
from pipeline.extract.heuristic import HeuristicExtractor
from pipeline.extract.layout import layout_page
from pipeline.extract.table_totals import column_sum_cell, totals_row_cell
from pipeline.types import PageText
from tests.pipeline.printed import line

SUMMARY = (
    line("WJLA-TV", 80, 60, 300, 100),
    line("Invoice #", 900, 200, 1040, 222),
    line("1399653", 1060, 200, 1200, 222),
    line("Time Period", 48, 1768, 200, 1790),
    line("# of Spots", 320, 1768, 440, 1790),
    line("Gross Amount", 475, 1766, 640, 1788),
    line("Agency Comm.", 677, 1764, 840, 1786),
    line("Net Amount", 924, 1768, 1080, 1790),
    line("05/11/20 -05/17/20", 48, 1811, 300, 1833),
    line("60", 403, 1809, 430, 1831),
    line("$3,430.00", 524, 1811, 640, 1833),
    line("($514.50)", 742, 1809, 840, 1831),
    line("$2,915.50", 943, 1809, 1080, 1831),
    line("05/18/20 -05/24/20", 46, 1843, 300, 1865),
    line("14", 401, 1842, 430, 1864),
    line("$680.00", 543, 1843, 640, 1865),
    line("($102.00)", 742, 1843, 840, 1865),
    line("$578.00", 961, 1842, 1080, 1864),
    line("Totals", 47, 1880, 140, 1902),
    line("74", 403, 1886, 430, 1908),
    line("$4,110.00", 524, 1888, 640, 1910),
    line("($616.50)", 742, 1886, 840, 1908),
    line("$3,493.50", 944, 1888, 1080, 1910),
)


def test_the_total_is_read_where_the_gross_column_meets_the_totals_row() -> None:
    page = PageText(1, 1700, 2200, SUMMARY, "ocr")
    fields = {f.name: f for f in HeuristicExtractor().extract([page]).fields}
    assert fields["total_amount"].value == "4110.00"
    # Found both ways: the labelled totals row, and the foot that sums the
    # column (3,430.00 + 680.00).
    layout = layout_page(page)
    header = next(p for p in layout.lines if p.line.text == "Gross Amount")
    cell = totals_row_cell(layout, header)
    assert cell is not None and cell.line.text == "$4,110.00"


def test_a_line_holding_a_number_heads_no_column() -> None:
    page = PageText(
        1,
        1000,
        1400,
        (
            line("TOTAL QU :0", 60, 100, 300, 120),
            line("TOTAL", 60, 300, 160, 320),
            line("73.87", 250, 300, 350, 320),
        ),
        "ocr",
    )
    layout = layout_page(page)
    header, totals = layout.rows[0][0], layout.rows[1][0]
    assert totals_row_cell(layout, header) is None
    assert totals_row_cell(layout, totals) is None  # nothing below it


# A tax summary with one row per rate and a last row of sums, which its first
# column does not label.
TAX_SUMMARY = PageText(
    1,
    1654,
    2339,
    (
        line("MUSTERLIEFERANT GMBH", 109, 225, 400, 245),
        line("Nettobetrag", 930, 1992, 1100, 2012),
        line("MwSt-Betrag", 1131, 1992, 1290, 2012),
        line("MwSt-%", 1302, 1994, 1400, 2014),
        line("Endbetrag", 1453, 1988, 1600, 2008),
        line("321,40", 989, 2021, 1080, 2041),
        line("61,07", 1201, 2021, 1280, 2041),
        line("19,0", 1308, 2023, 1360, 2043),
        line("382,47", 1492, 2021, 1590, 2041),
        line("127,59", 989, 2045, 1080, 2065),
        line("8,93", 1210, 2045, 1280, 2065),
        line("7,0", 1317, 2043, 1360, 2063),
        line("136,52", 1492, 2047, 1590, 2067),
        line("448,99", 987, 2098, 1080, 2118),
        line("70,00", 1201, 2098, 1280, 2118),
        line("EUR", 1319, 2100, 1380, 2120),
        line("518,99", 1492, 2098, 1590, 2118),
    ),
    "ocr",
)


def test_a_column_foot_that_sums_the_cells_above_it_is_the_total() -> None:
    """ "Endbetrag" 382,47 + 136,52 = 518,99."""
    fields = {f.name: f for f in HeuristicExtractor().extract([TAX_SUMMARY]).fields}
    assert fields["total_amount"].value == "518.99"
    assert "foot" in fields["total_amount"].explanation


def test_the_tax_and_net_columns_foot_the_same_way() -> None:
    """ "MwSt-Betrag" 61,07 + 8,93 = 70,00 (not the rate 19,0 beside it), and
    "Nettobetrag" 321,40 + 127,59 = 448,99: the three then add up."""
    fields = {f.name: f for f in HeuristicExtractor().extract([TAX_SUMMARY]).fields}
    assert fields["tax_amount"].value == "70.00"
    assert fields["subtotal_amount"].value == "448.99"
    for name in ("tax_amount", "subtotal_amount"):
        assert "foot" in fields[name].explanation
        assert "subtotal + tax = total" in fields[name].explanation


def test_a_zero_row_and_the_figure_under_it_foot_nothing() -> None:
    """A tax-exempt summary (one row, tax 0,00) above the document's sums:
    0,00 + 2000,00 = 2000,00 is no foot, and the tax stays 0,00."""
    page = PageText(
        1,
        1654,
        2339,
        (
            line("Steuerbasisbetrag", 500, 1000, 760, 1020),
            line("USt. %", 900, 1000, 1000, 1020),
            line("USt.-Betrag", 1100, 1000, 1260, 1020),
            line("2000,00", 600, 1040, 720, 1060),
            line("0", 940, 1040, 960, 1060),
            line("0,00", 1180, 1040, 1250, 1060),
            line("Positionssumme", 100, 1100, 360, 1120),
            line("2000,00", 1150, 1100, 1260, 1120),
            line("Rechnungssumme ohne Ust.", 100, 1140, 460, 1160),
            line("2000,00", 1150, 1140, 1260, 1160),
            line("Steuerbetrag", 100, 1180, 300, 1200),
            line("0,00", 1180, 1180, 1260, 1200),
            line("Bruttosumme", 100, 1220, 300, 1240),
            line("2000,00", 1150, 1220, 1260, 1240),
        ),
        "ocr",
    )
    layout = layout_page(page)
    header = next(p for p in layout.lines if p.line.text == "USt.-Betrag")
    assert column_sum_cell(layout, header, amounts_in) is None
    fields = {f.name: f for f in HeuristicExtractor().extract([page]).fields}
    assert fields["tax_amount"].value == "0.00"
    assert fields["total_amount"].value == "2000.00"
