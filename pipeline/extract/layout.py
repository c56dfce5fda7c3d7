"""Reading order for OCR lines: which boxes share a row, what sits right or below.

OCR engines return boxes in no reliable order and often split one printed row
into several boxes ("TOTAL", ":", "55.10"), so extraction asks these helpers
rather than trusting the order of `PageText.lines`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.types import Box, OcrLine, PageText


@dataclass(frozen=True)
class PlacedLine:
    """An OCR line with its page, row number and position in the row."""

    line: OcrLine
    page_number: int
    row: int
    box: Box

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]

    @property
    def center_y(self) -> float:
        return (self.box[1] + self.box[3]) / 2


@dataclass(frozen=True)
class PageLayout:
    """The lines of one page grouped into rows, top to bottom, left to right."""

    page: PageText
    rows: tuple[tuple[PlacedLine, ...], ...]

    @property
    def lines(self) -> list[PlacedLine]:
        return [placed for row in self.rows for placed in row]

    def same_line(self, placed: PlacedLine) -> list[PlacedLine]:
        """Boxes printed on `placed`'s line, left to right: its row, and boxes
        of the rows either side that overlap `placed` itself by half the
        shorter height. Rows are grouped greedily, so on a two-column page a
        label ("Beleg-Nr") and its value (": R8765") can fall into different
        rows when a box of the other column sits between them in height."""
        near = range(max(placed.row - 1, 0), min(placed.row + 2, len(self.rows)))
        return sorted(
            (
                other
                for index in near
                for other in self.rows[index]
                if other is not placed
                and (
                    index == placed.row
                    or _vertical_overlap_ratio(placed.box, other.box) >= 0.5
                )
            ),
            key=lambda other: other.box[0],
        )

    def right_of(self, placed: PlacedLine) -> list[PlacedLine]:
        """Boxes on `placed`'s line that start right of it, nearest first."""
        return [
            other
            for other in self.same_line(placed)
            if other.box[0] >= placed.box[2] - placed.height
        ]

    def left_of(self, placed: PlacedLine) -> list[PlacedLine]:
        """Boxes on `placed`'s line that end left of it, farthest first."""
        return [
            other
            for other in self.same_line(placed)
            if other.box[2] <= placed.box[0] + 5
        ]

    def below(self, placed: PlacedLine, max_rows: int = 1) -> list[PlacedLine]:
        """Boxes in the next rows that overlap `placed` horizontally, nearest first.

        Stops at a gap taller than three line heights: a value that far down
        belongs to something else.
        """
        found: list[PlacedLine] = []
        limit = placed.box[3] + 3 * max(placed.height, 1)
        for row in self.rows[placed.row + 1 : placed.row + 1 + max_rows]:
            for other in row:
                if other.box[1] > limit:
                    return found
                if _horizontal_overlap(placed.box, other.box) > 0:
                    found.append(other)
        return found


def _horizontal_overlap(a: Box, b: Box) -> int:
    return min(a[2], b[2]) - max(a[0], b[0])


def overlaps_horizontally(a: Box, b: Box) -> bool:
    """Whether two boxes share some width: one stands in the other's column."""
    return _horizontal_overlap(a, b) > 0


def overlaps_vertically(a: Box, b: Box) -> bool:
    """Whether two boxes share some height: one stands in the other's row."""
    return min(a[3], b[3]) > max(a[1], b[1])


def _vertical_overlap_ratio(a: Box, b: Box) -> float:
    overlap = min(a[3], b[3]) - max(a[1], b[1])
    shorter = min(a[3] - a[1], b[3] - b[1])
    return overlap / shorter if shorter > 0 else 0.0


def row_box(row: Sequence[PlacedLine]) -> Box:
    """The box around every line of a row."""
    return (
        min(p.box[0] for p in row),
        min(p.box[1] for p in row),
        max(p.box[2] for p in row),
        max(p.box[3] for p in row),
    )


def layout_page(page: PageText) -> PageLayout:
    """Group a page's lines into rows: boxes whose vertical extents mostly overlap
    (half the shorter box) share a row."""
    ordered = sorted(
        (line for line in page.lines if line.text.strip()),
        key=lambda line: (line.box[1] + line.box[3]) / 2,
    )
    row_groups: list[list[OcrLine]] = []
    for line in ordered:
        box = line.box
        if row_groups:
            current = row_groups[-1]
            # Compare with the row's first box: chaining on the last box would
            # let a slightly skewed receipt merge every row into one.
            if _vertical_overlap_ratio(current[0].box, box) >= 0.5:
                current.append(line)
                continue
        row_groups.append([line])
    rows = tuple(
        tuple(
            PlacedLine(line, page.page_number, row_index, line.box)
            for line in sorted(group, key=lambda line: line.box[0])
        )
        for row_index, group in enumerate(row_groups)
    )
    return PageLayout(page=page, rows=rows)


def layout_pages(pages: Sequence[PageText]) -> list[PageLayout]:
    """`layout_page` for every page, in page order."""
    return [layout_page(page) for page in sorted(pages, key=lambda p: p.page_number)]
