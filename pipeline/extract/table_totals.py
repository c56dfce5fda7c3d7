"""A table's foot: the cell where a column headed by an amount label ("Gross
Amount", "Endbetrag") meets the row a table ends on, found by its label
("Totals") or by arithmetic (the cell that is the sum of the cells above it).

Summary tables on broadcast and utility invoices head their columns with the
words a total label uses, so the amount right under such a header is one
line's, and the document's own figure is further down its column.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from decimal import Decimal

from pipeline.extract.layout import PageLayout, PlacedLine, overlaps_horizontally
from pipeline.extract.normalize import AmountMatch

_TOTALS_ROW = re.compile(
    r"(?i)^\W*(?:grand\s*)?totals?\W*$|^\W*(?:gesamt|summe|total\s*g[ée]n[ée]ral)\W*$"
)
# How far down a column its totals row is looked for.
_ROWS = 30


def totals_row_cell(layout: PageLayout, header: PlacedLine) -> PlacedLine | None:
    """The box in `header`'s column on the first row below it that begins
    with a totals label, or None when no such row follows or that row leaves
    the column empty."""
    if not _heads_a_column(header):
        return None
    for row in layout.rows[header.row + 1 : header.row + 1 + _ROWS]:
        first = row[0]
        if first is header or not _TOTALS_ROW.match(first.line.text):
            continue
        return next((cell for cell in row[1:] if _under(cell, header)), None)
    return None


def column_sum_cell(
    layout: PageLayout,
    header: PlacedLine,
    amounts_of: Callable[[str], Sequence[AmountMatch]],
) -> tuple[PlacedLine, AmountMatch] | None:
    """The first cell down `header`'s column whose amount is the sum of the
    two or more non-zero amounts above it: a tax summary's "Endbetrag" column
    (382,47 and 136,52 per rate, then 518,99) foots itself, whatever its last
    row says in its first column. `amounts_of` reads a cell's amounts."""
    if not _heads_a_column(header):
        return None
    # Zeros are no parts: a zero tax row and the figure under it "sum" to
    # that figure without footing anything.
    parts: list[Decimal] = []
    for row in layout.rows[header.row + 1 : header.row + 1 + _ROWS]:
        cell = next((cell for cell in row if _under(cell, header)), None)
        if cell is None:
            continue
        amounts = [a for a in amounts_of(cell.line.text) if a.has_decimals]
        if len(amounts) != 1:
            continue
        if len(parts) >= 2 and sum(parts, Decimal(0)) == amounts[0].value:
            return cell, amounts[0]
        if amounts[0].value != 0:
            parts.append(amounts[0].value)
    return None


def _heads_a_column(header: PlacedLine) -> bool:
    """A header is words only: "TOTAL QU : 0" is a line of its own."""
    return not any(character.isdigit() for character in header.line.text)


def _under(cell: PlacedLine, header: PlacedLine) -> bool:
    return overlaps_horizontally(cell.box, header.box)
