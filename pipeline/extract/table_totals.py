"""A table's totals row: the cell where a column headed by an amount label
("Gross Amount", "Betrag") meets the row a table ends on ("Totals").

Summary tables on broadcast and utility invoices head their columns with the
words a total label uses, so the amount right under such a header is one
line's, and the document's own figure is further down its column.
"""

from __future__ import annotations

import re

from pipeline.extract.layout import PageLayout, PlacedLine

_TOTALS_ROW = re.compile(
    r"(?i)^\W*(?:grand\s*)?totals?\W*$|^\W*(?:gesamt|summe|total\s*g[ée]n[ée]ral)\W*$"
)
# How far down a column its totals row is looked for.
_ROWS = 30


def totals_row_cell(layout: PageLayout, header: PlacedLine) -> PlacedLine | None:
    """The box in `header`'s column on the first row below it that begins
    with a totals label, or None when no such row follows or that row leaves
    the column empty. A header is words only: "TOTAL QU : 0" is a line of
    its own, not the head of a column."""
    if any(character.isdigit() for character in header.line.text):
        return None
    for row in layout.rows[header.row + 1 : header.row + 1 + _ROWS]:
        first = row[0]
        if first is header or not _TOTALS_ROW.match(first.line.text):
            continue
        return next(
            (
                cell
                for cell in row[1:]
                if min(cell.box[2], header.box[2]) > max(cell.box[0], header.box[0])
            ),
            None,
        )
    return None
