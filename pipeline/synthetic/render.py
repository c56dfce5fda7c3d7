"""Laying a synthetic invoice out as a PDF with reportlab, in one of many
layouts, and recording every string printed and where.

A layout is a set of independent choices drawn from the seed: page size, font
family, letterhead (the vendor's name as text left, right or centred; as a logo
image with the name in it; or a logo with no name, the name then only in the
footer and the sender line), a DIN 5008 sender line, the meta block (a label
column, "Label: value" strings, or a grid under the title), number, money and
date formats, the total and tax wording, the footer (columns, one line, or
none with the bank and VAT details under the address) and a payment sentence.
Long invoices run over several pages with a carried-forward line at each
break; the totals are on the last page.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from pipeline.synthetic.content import (
    Invoice,
    Line,
    format_amount,
    format_date,
    format_money,
)

_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
# (regular, bold) pairs; the DejaVu ones only where the fonts are installed.
_BUILTIN_FONTS = (
    ("Helvetica", "Helvetica-Bold"),
    ("Times-Roman", "Times-Bold"),
    ("Courier", "Courier-Bold"),
)
_TTF_FONTS = (
    ("DejaVuSans", "DejaVuSans-Bold"),
    ("DejaVuSerif", "DejaVuSerif-Bold"),
    ("DejaVuSansCondensed", "DejaVuSansCondensed-Bold"),
)
_LOGO_COLOURS = ((20, 60, 140), (150, 20, 30), (20, 110, 60), (90, 40, 120), (0, 0, 0))


def _fonts() -> tuple[tuple[str, str], ...]:
    available = list(_BUILTIN_FONTS)
    for pair in _TTF_FONTS:
        paths = [_DEJAVU / f"{name}.ttf" for name in pair]
        if all(path.is_file() for path in paths):
            for name, path in zip(pair, paths, strict=True):
                if name not in pdfmetrics.getRegisteredFontNames():
                    pdfmetrics.registerFont(TTFont(name, str(path)))
            available.append(pair)
    return tuple(available)


@dataclass(frozen=True)
class Printed:
    """One string drawn on a page: its text, its box in points from the page's
    top-left corner, whether it is pixels inside an image (a logo) rather than
    text, and the labelled field it prints, if any."""

    page: int
    text: str
    box: tuple[float, float, float, float]
    size: float
    in_image: bool = False
    field: str | None = None


@dataclass
class Rendered:
    pdf: bytes
    page_size: tuple[float, float]
    pages: int
    printed: list[Printed]
    layout: dict[str, str]

    def printed_for(self, name: str) -> list[Printed]:
        return [p for p in self.printed if p.field == name]


@dataclass
class Layout:
    page_size: tuple[float, float]
    fonts: tuple[str, str]
    letterhead: str  # name_left | name_right | name_centre | logo_name | logo_icon
    sender_line: bool
    meta: str  # column | inline | grid
    thousands: str
    money_style: str
    item_money_style: str
    date_format: str
    footer: str  # columns | line | none
    pay_sentence: bool
    words: dict[str, str] = field(default_factory=dict)

    def describe(self) -> dict[str, str]:
        return {
            "page_size": "A4" if self.page_size == A4 else "Letter",
            "font": self.fonts[0],
            "letterhead": self.letterhead,
            "sender_line": str(self.sender_line),
            "meta": self.meta,
            "money_style": self.money_style,
            "date_format": self.date_format,
            "footer": self.footer,
        }


def choose_layout(invoice: Invoice, rng: random.Random) -> Layout:
    words = invoice.locale.words
    letterhead = rng.choice(
        (
            "name_left",
            "name_left",
            "name_right",
            "name_centre",
            "logo_name",
            "logo_icon",
        )
    )
    footer = rng.choice(("columns", "columns", "line", "none"))
    if letterhead == "logo_icon" and footer == "none":
        footer = "columns"  # the name must be printed as text somewhere
    return Layout(
        page_size=LETTER if invoice.locale.code == "en" and rng.random() < 0.3 else A4,
        fonts=rng.choice(_fonts()),
        letterhead=letterhead,
        sender_line=rng.random() < 0.5,
        meta=rng.choice(("column", "column", "inline", "grid")),
        thousands=rng.choice(invoice.locale.thousands),
        money_style=rng.choice(("sign", "sign", "code_before", "code_after")),
        item_money_style=rng.choice(("none", "same")),
        date_format=rng.choice(invoice.locale.date_formats),
        footer=footer,
        pay_sentence=rng.random() < 0.4,
        words={
            key: rng.choice(getattr(words, key))
            for key in (
                "title",
                "number",
                "date",
                "due",
                "po",
                "customer",
                "subtotal",
                "tax",
                "total",
                "amount_due",
                "deposit",
                "vat_id",
                "carried",
            )
        },
    )


class _Pages:
    """A reportlab canvas that records what it draws."""

    def __init__(self, size: tuple[float, float], fonts: tuple[str, str]) -> None:
        self.buffer = io.BytesIO()
        self.canvas = Canvas(self.buffer, pagesize=size, invariant=1)
        self.width, self.height = size
        self.regular, self.bold = fonts
        self.page = 1
        self.printed: list[Printed] = []

    def text(
        self,
        x: float,
        y: float,
        text: str,
        *,
        size: float = 9,
        bold: bool = False,
        align: str = "left",
        field: str | None = None,
    ) -> float:
        """Draw `text` with its baseline at `y` from the top; returns its width."""
        font = self.bold if bold else self.regular
        width = float(pdfmetrics.stringWidth(text, font, size))
        left = {"left": x, "right": x - width, "centre": x - width / 2}[align]
        self.canvas.setFont(font, size)
        self.canvas.drawString(left, self.height - y, text)
        box = (left, y - 0.78 * size, left + width, y + 0.22 * size)
        self.printed.append(Printed(self.page, text, box, size, field=field))
        return width

    def image(
        self,
        image: Image.Image,
        x: float,
        y: float,
        width: float,
        *,
        text: str | None = None,
        field: str | None = None,
    ) -> float:
        """Place `image` with its top-left at (x, y); returns its height. `text`
        is what the image spells, recorded as printed inside it."""
        height = width * image.height / image.width
        self.canvas.drawImage(
            ImageReader(image), x, self.height - y - height, width, height
        )
        if text:
            self.printed.append(
                Printed(
                    self.page,
                    text,
                    (x, y, x + width, y + height),
                    height * 0.5,
                    in_image=True,
                    field=field,
                )
            )
        return height

    def rule(self, x0: float, y: float, x1: float) -> None:
        self.canvas.setLineWidth(0.6)
        self.canvas.line(x0, self.height - y, x1, self.height - y)

    def next_page(self) -> None:
        self.canvas.showPage()
        self.page += 1

    def finish(self) -> bytes:
        self.canvas.save()
        return self.buffer.getvalue()


def logo_image(invoice: Invoice, rng: random.Random, *, with_name: bool) -> Image.Image:
    """A letterhead logo: a coloured mark, and the vendor's name set beside it
    when `with_name` (the only place the name is large on the page)."""
    colour = rng.choice(_LOGO_COLOURS)
    height = 150
    width = 900 if with_name else 200
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    shape = rng.choice(("circle", "square", "triangle"))
    if shape == "circle":
        draw.ellipse((10, 10, 140, 140), fill=colour)
    elif shape == "square":
        draw.rounded_rectangle((10, 10, 140, 140), radius=25, fill=colour)
    else:
        draw.polygon(((75, 8), (145, 142), (5, 142)), fill=colour)
    if with_name:
        name = invoice.vendor.name
        font_path = _DEJAVU / rng.choice(
            ("DejaVuSans-Bold.ttf", "DejaVuSerif-Bold.ttf")
        )
        size = 80
        while size > 20:
            font = _font(font_path, size)
            if draw.textlength(name, font=font) <= width - 175:
                break
            size -= 4
        draw.text((165, height / 2), name, fill=colour, font=font, anchor="lm")
    return image


def _font(path: Path, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if path.is_file():
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


_MARGIN = 50.0
_FOOTER_HEIGHT = 62.0


def render_invoice(invoice: Invoice, seed: int) -> Rendered:
    """The invoice as a PDF in the layout `seed` draws, and what it printed."""
    rng = random.Random(seed * 7919 + 17)
    layout = choose_layout(invoice, rng)
    pages = _Pages(layout.page_size, layout.fonts)
    _Writer(invoice, layout, pages, rng).write()
    return Rendered(
        pdf=pages.finish(),
        page_size=layout.page_size,
        pages=pages.page,
        printed=pages.printed,
        layout=layout.describe(),
    )


class _Writer:
    def __init__(
        self, invoice: Invoice, layout: Layout, pages: _Pages, rng: random.Random
    ) -> None:
        self.invoice = invoice
        self.layout = layout
        self.pages = pages
        self.rng = rng
        self.words = layout.words
        self.locale = invoice.locale

    # -- formats -----------------------------------------------------------------

    def money(self, value: Decimal, *, item: bool = False) -> str:
        style = self.layout.money_style
        if item and self.layout.item_money_style == "none":
            return format_amount(value, self.locale, self.layout.thousands)
        return format_money(
            value, self.locale, self.invoice.currency, self.layout.thousands, style
        )

    def date(self, value: object) -> str:
        return format_date(value, self.locale, self.layout.date_format)  # type: ignore[arg-type]

    # -- the document ----------------------------------------------------------------

    def write(self) -> None:
        pages, invoice = self.pages, self.invoice
        y = self.letterhead()
        y = self.parties_and_meta(y)
        rows = list(enumerate(invoice.lines, start=1))
        total_pages = self._count_pages(y, len(rows))
        self.footer(1, total_pages)
        y = self.table_header(y)
        running = Decimal(0)
        while rows:
            if y > self._table_bottom():
                self.carried(y, running, before_break=True)
                pages.next_page()
                self.footer(pages.page, total_pages)
                y = self.continuation_header(total_pages)
                y = self.carried(y, running, before_break=False)
                y = self.table_header(y)
            number, line = rows.pop(0)
            running += line.amount
            y = self.item_row(y, number, line)
        if y + self._totals_height() > self._table_bottom() + 70:
            pages.next_page()
            self.footer(pages.page, total_pages)
            y = self.continuation_header(total_pages)
        self.totals(y + 10)

    def _table_bottom(self) -> float:
        return self.pages.height - _FOOTER_HEIGHT - 40

    def _row_height(self) -> float:
        return 15.0

    def _totals_height(self) -> float:
        rates = len(self.invoice.tax_by_rate())
        rows = 2 + rates + (rates > 1) + 2 * (self.invoice.deposit > 0)
        return rows * 16 + (40 if self.layout.pay_sentence else 0) + 20

    def _count_pages(self, y: float, rows: int) -> int:
        """Pages the document will take, for "page n of m" (a dry run of the
        flow in `write`)."""
        pages = 1
        y += 22
        for _ in range(rows):
            if y > self._table_bottom():
                pages += 1
                y = 95 + 22 + 22
            y += self._row_height()
        if y + self._totals_height() > self._table_bottom() + 70:
            pages += 1
        return pages

    def letterhead(self) -> float:
        pages, invoice, kind = self.pages, self.invoice, self.layout.letterhead
        vendor = invoice.vendor
        width = pages.width
        y = 45.0
        if kind.startswith("logo"):
            with_name = kind == "logo_name"
            image = logo_image(invoice, self.rng, with_name=with_name)
            logo_width = 260.0 if with_name else 60.0
            x = _MARGIN if self.rng.random() < 0.6 else width - _MARGIN - logo_width
            height = pages.image(
                image,
                x,
                y - 15,
                logo_width,
                text=vendor.name if with_name else None,
                field="vendor_name" if with_name else None,
            )
            y += height - 5
            address_x, align = (
                (_MARGIN, "left")
                if x == _MARGIN
                else (
                    width - _MARGIN,
                    "right",
                )
            )
        else:
            align = {
                "name_left": "left",
                "name_right": "right",
                "name_centre": "centre",
            }[kind]
            address_x = {
                "left": _MARGIN,
                "right": width - _MARGIN,
                "centre": width / 2,
            }[align]
            pages.text(
                address_x,
                y + 8,
                vendor.name,
                size=self.rng.choice((16, 18, 20, 22)),
                bold=True,
                align=align,
                field="vendor_name",
            )
            y += 24
        for line in vendor.address_lines:
            pages.text(address_x, y, line, size=9, align=align, field="vendor_address")
            y += 11
        pages.text(
            address_x,
            y,
            f"{self.locale.words.phone} {vendor.phone}",
            size=8,
            align=align,
        )
        y += 11
        if self.layout.footer == "none":
            # No footer: the tax and bank details sit under the address.
            self._identifier_after(
                address_x,
                y,
                align,
                self.words["vat_id"] + ": ",
                vendor.vat_id,
                "vendor_vat_id",
            )
            y += 11
            self._identifier_after(
                address_x, y, align, "IBAN: ", _grouped(invoice.iban), "iban"
            )
            y += 11
        return y + 15

    def _identifier_after(
        self, x: float, y: float, align: str, label: str, value: str, name: str
    ) -> None:
        """ "Label: value" as two strings on one line, so the value's own box
        is recorded (OCR reads it as one line either way)."""
        pages = self.pages
        size = 8
        label_width = pdfmetrics.stringWidth(label, pages.regular, size)
        value_width = pdfmetrics.stringWidth(value, pages.regular, size)
        total = label_width + value_width
        left = {"left": x, "right": x - total, "centre": x - total / 2}[align]
        pages.text(left, y, label, size=size)
        pages.text(left + label_width, y, value, size=size, field=name)

    def parties_and_meta(self, y: float) -> float:
        pages, invoice, words = self.pages, self.invoice, self.words
        vendor, customer = invoice.vendor, invoice.customer
        top = max(y, 140.0)
        if self.layout.sender_line:
            sender = " · ".join((vendor.name, *vendor.address_lines))
            pages.text(_MARGIN, top, sender, size=6.5, field="vendor_name")
            top += 14
        block = top
        if self.rng.random() < 0.5:
            pages.text(_MARGIN, block, words["customer"] + ":", size=8, bold=True)
            block += 12
        pages.text(_MARGIN, block, customer.name, size=10, field="customer_name")
        block += 12
        for line in customer.address_lines:
            pages.text(_MARGIN, block, line, size=10)
            block += 12
        meta = self._meta_rows()
        right = pages.width - _MARGIN
        if self.layout.meta == "grid":
            y = max(block, top + 60) + 25
            pages.text(_MARGIN, y, words["title"], size=18, bold=True)
            y += 22
            columns = (right - _MARGIN) / len(meta)
            for index, (label, value, name) in enumerate(meta):
                x = _MARGIN + index * columns
                pages.text(x, y, label, size=7.5, bold=True)
                pages.text(x, y + 12, value, size=9, field=name)
            return y + 35
        meta_y = top
        for label, value, name in meta:
            if self.layout.meta == "column":
                pages.text(right - 200, meta_y, label + ":", size=9)
                pages.text(right, meta_y, value, size=9, align="right", field=name)
            else:
                label_text = f"{label}: "
                width = pdfmetrics.stringWidth(label_text + value, pages.regular, 9)
                label_width = pdfmetrics.stringWidth(label_text, pages.regular, 9)
                pages.text(right - width, meta_y, label_text, size=9)
                pages.text(
                    right - width + label_width, meta_y, value, size=9, field=name
                )
            meta_y += 13
        y = max(block, meta_y) + 25
        pages.text(_MARGIN, y, f"{words['title']} {invoice.number}", size=14, bold=True)
        return y + 22

    def _meta_rows(self) -> list[tuple[str, str, str]]:
        invoice, words = self.invoice, self.words
        rows = [
            (words["number"], invoice.number, "invoice_number"),
            (words["date"], self.date(invoice.issued), "invoice_date"),
            (words["due"], self.date(invoice.due), "due_date"),
        ]
        if invoice.po_number:
            rows.append((words["po"], invoice.po_number, "po_number"))
        return rows

    def table_header(self, y: float) -> float:
        pages = self.pages
        columns = self.locale.words.columns
        x = self._columns()
        pages.text(x[0], y, columns[0], size=8, bold=True)
        pages.text(x[1], y, columns[1], size=8, bold=True)
        pages.text(x[2], y, columns[2], size=8, bold=True, align="right")
        pages.text(x[3], y, columns[3], size=8, bold=True, align="right")
        pages.text(x[4], y, columns[4], size=8, bold=True, align="right")
        pages.rule(_MARGIN, y + 5, pages.width - _MARGIN)
        return y + 20

    def _columns(self) -> tuple[float, float, float, float, float]:
        width = self.pages.width
        return (
            _MARGIN,
            _MARGIN + 30,
            width * 0.58,
            width * 0.75,
            width - _MARGIN,
        )

    def item_row(self, y: float, number: int, line: Line) -> float:
        pages = self.pages
        x = self._columns()
        unit_price = self.money(line.unit_price, item=True)
        amount = self.money(line.amount, item=True)
        pages.text(x[0], y, str(number), size=8.5)
        pages.text(x[1], y, line.description, size=8.5)
        pages.text(x[2], y, str(line.quantity), size=8.5, align="right")
        pages.text(x[3], y, unit_price, size=8.5, align="right")
        pages.text(x[4], y, amount, size=8.5, align="right")
        return y + self._row_height()

    def carried(self, y: float, running: Decimal, *, before_break: bool) -> float:
        pages = self.pages
        x = self._columns()
        pages.text(
            x[3], y + 4, self.words["carried"], size=8.5, bold=True, align="right"
        )
        pages.text(x[4], y + 4, self.money(running), size=8.5, bold=True, align="right")
        return y + 22

    def continuation_header(self, total_pages: int) -> float:
        pages = self.pages
        title = f"{self.words['title']} {self.invoice.number}"
        pages.text(_MARGIN, 60, title, size=10, bold=True)
        page = self.locale.words.page.format(page=pages.page, pages=total_pages)
        pages.text(pages.width - _MARGIN, 60, page, size=8, align="right")
        return 95.0

    def totals(self, y: float) -> None:
        pages, invoice, words = self.pages, self.invoice, self.words
        label_x = pages.width * 0.55
        value_x = pages.width - _MARGIN
        pages.rule(label_x, y - 10, value_x)

        def row(
            label: str, value: Decimal, name: str | None, *, bold: bool = False
        ) -> None:
            nonlocal y
            pages.text(label_x, y, label, size=9.5, bold=bold)
            pages.text(
                value_x,
                y,
                self.money(value),
                size=9.5,
                bold=bold,
                align="right",
                field=name,
            )
            y += 16

        row(words["subtotal"], invoice.subtotal, "subtotal_amount")
        by_rate = invoice.tax_by_rate()
        single = len(by_rate) == 1
        for rate, (_, tax) in by_rate.items():
            label = words["tax"].format(rate=_rate(rate, self.locale.decimal_mark))
            row(label, tax, "tax_amount" if single else None)
        if not single:
            row(self.locale.words.tax_total, invoice.tax, "tax_amount")
        row(words["total"], invoice.total, "total_amount", bold=invoice.deposit == 0)
        if invoice.deposit > 0:
            row(words["deposit"], invoice.deposit, None)
            row(words["amount_due"], invoice.amount_due, "amount_due", bold=True)
        if self.layout.pay_sentence:
            text = self.locale.words.pay_text.format(
                amount=self.money(invoice.amount_due),
                due=self.date(invoice.due),
                iban=_grouped(invoice.iban),
            )
            pages.text(_MARGIN, y + 20, text, size=8.5)

    def footer(self, page: int, total_pages: int) -> None:
        pages, invoice, vendor = self.pages, self.invoice, self.invoice.vendor
        kind = self.layout.footer
        base = pages.height - _FOOTER_HEIGHT + 12
        page_text = self.locale.words.page.format(page=page, pages=total_pages)
        if kind == "none":
            pages.text(pages.width / 2, base + 30, page_text, size=7, align="centre")
            return
        pages.rule(_MARGIN, base - 10, pages.width - _MARGIN)
        vat_label = self.words["vat_id"]
        if kind == "line":
            parts = (vendor.name, ", ".join(vendor.address_lines))
            pages.text(
                pages.width / 2, base, " · ".join(parts), size=6.5, align="centre"
            )
            # The identifiers on the footer's second line.
            self._footer_pair(
                _MARGIN, base + 10, f"{vat_label} ", vendor.vat_id, "vendor_vat_id"
            )
            self._footer_pair(
                pages.width * 0.4, base + 10, "IBAN ", _grouped(invoice.iban), "iban"
            )
            self._footer_pair(pages.width * 0.75, base + 10, "BIC ", invoice.bic, None)
            pages.text(
                pages.width - _MARGIN, base + 30, page_text, size=7, align="right"
            )
            return
        third = (pages.width - 2 * _MARGIN) / 3
        pages.text(_MARGIN, base, vendor.name, size=7, bold=True, field="vendor_name")
        for index, line in enumerate(vendor.address_lines[:3], start=1):
            pages.text(_MARGIN, base + 9 * index, line, size=7)
        x = _MARGIN + third
        pages.text(x, base, f"{self.locale.words.phone} {vendor.phone}", size=7)
        pages.text(x, base + 9, vendor.email, size=7)
        self._footer_pair(
            x, base + 18, f"{vat_label}: ", vendor.vat_id, "vendor_vat_id"
        )
        x = _MARGIN + 2 * third
        self._footer_pair(x, base, "IBAN: ", _grouped(invoice.iban), "iban")
        self._footer_pair(x, base + 9, "BIC: ", invoice.bic, None)
        pages.text(pages.width - _MARGIN, base + 30, page_text, size=7, align="right")

    def _footer_pair(
        self, x: float, y: float, label: str, value: str, name: str | None
    ) -> None:
        width = pdfmetrics.stringWidth(label, self.pages.regular, 7)
        self.pages.text(x, y, label, size=7)
        self.pages.text(x + width, y, value, size=7, field=name)


def _grouped(iban: str) -> str:
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def _rate(rate: Decimal, decimal_mark: str) -> str:
    text = f"{rate.normalize():f}"
    return text.replace(".", decimal_mark)
