"""Measure line-item extraction from page layout against the e-invoice XML.

Each Factur-X / ZUGFeRD PDF carries its lines twice: printed on the page and in
the XML. Reading the page alone (as for any other PDF) and comparing with the
XML shows how well the layout reader does:

    python manage.py measure_line_items ../shared/datasets/zugferd-corpus/pdfs

Prints, per document and overall, the line count read and expected, and how
many of the XML's line amounts were read (each printed line used once).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pipeline.decode import DecodeLimits, decode_document
from pipeline.einvoice import embedded_xml, read_einvoice_lines
from pipeline.errors import UnreadableDocument
from pipeline.extract.line_items import extract_line_items
from pipeline.types import ExtractedLine, PageText


@dataclass(frozen=True)
class LineComparison:
    document: str
    expected: int
    read: int
    amounts_matched: int
    quantities_matched: int

    @property
    def count_matches(self) -> bool:
        return self.expected == self.read


def compare_lines(
    document: str, read: tuple[ExtractedLine, ...], expected: tuple[ExtractedLine, ...]
) -> LineComparison:
    """How many expected lines were read with the same amount (and quantity)."""
    unused = list(read)
    amounts = quantities = 0
    for line in expected:
        match = next((r for r in unused if r.amount == line.amount), None)
        if match is None:
            continue
        unused.remove(match)
        amounts += 1
        quantities += match.quantity == line.quantity
    return LineComparison(document, len(expected), len(read), amounts, quantities)


def printed_lines(data: bytes) -> tuple[ExtractedLine, ...]:
    """Lines read from the PDF's text layer only, the XML ignored."""
    pages = [
        PageText(image.number, image.width, image.height, image.text_lines, "pdf_text")
        for image in decode_document(data, DecodeLimits())
        if image.text_lines is not None
    ]
    return extract_line_items(pages)


class Command(BaseCommand):
    help = "Compare line items read from the page layout with the e-invoice XML."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        folder: Path = options["folder"]
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder")
        results = []
        for path in sorted(folder.glob("*.pdf")):
            data = path.read_bytes()
            xml = embedded_xml(data)
            expected = read_einvoice_lines(xml) if xml is not None else ()
            if not expected:
                continue
            try:
                read = printed_lines(data)
            except UnreadableDocument as error:
                self.stderr.write(f"{path.name}: {error}")
                continue
            result = compare_lines(path.name, read, expected)
            results.append(result)
            self.stdout.write(
                f"{result.document[-60:]:60} lines {result.read:>2}/"
                f"{result.expected:<2} amounts {result.amounts_matched}/"
                f"{result.expected}"
            )
        if not results:
            raise CommandError(f"no PDF with XML line items in {folder}")
        lines = sum(r.expected for r in results)
        amounts = sum(r.amounts_matched for r in results)
        self.stdout.write(
            f"documents {len(results)}; line count right on "
            f"{sum(r.count_matches for r in results)}/{len(results)}; "
            f"amounts read {amounts}/{lines} ({amounts / lines:.0%}); "
            f"quantities read {sum(r.quantities_matched for r in results)}/{lines}"
        )
