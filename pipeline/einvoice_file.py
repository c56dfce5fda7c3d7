"""A standalone e-invoice XML file (UBL 2.1 or UN/CEFACT CII): parsed without
trusting it, refused with a reason when it is not an invoice, and laid out as a
PDF page so that a reviewer sees the invoice rather than markup.

The page is Vouch's rendering of the XML, not the sender's: it prints each
value the way the extractors read it, so every field read from the XML can be
pointed at on the page.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from lxml import etree
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from pipeline.classify import CREDIT_NOTE
from pipeline.einvoice import (
    FILE_EXPLANATION,
    FILE_SOURCE,
    UBL,
    declared_classification,
    einvoice_syntax,
    party_address,
    read_einvoice_lines,
    read_einvoice_xml,
    texts_at,
)
from pipeline.errors import UnreadableDocument
from pipeline.types import ExtractedLine, Extraction

# No entity is expanded, no DTD or network resource is loaded, and libxml2's
# own limits on depth and text size stay on (huge_tree=False).
_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)
_READS = "Vouch reads UBL 2.1 and UN/CEFACT CII (XRechnung, ZUGFeRD, Factur-X)"
# A parsed element costs lxml ~140 bytes, so 24 MB of "<a/>" would take
# 800 MB: the tags are counted first. An invoice with as many lines as 50
# laid-out pages hold has about 100,000 elements; an attachment (base64) has
# no "<" at all.
MAX_ELEMENTS = 250_000
# Fields without which an XML file is not an invoice anyone could pay.
_ESSENTIAL = ("invoice_number", "total_amount")


@dataclass(frozen=True)
class EinvoiceFile:
    root: etree._Element
    syntax: str  # einvoice.CII or einvoice.UBL


def parse_einvoice_file(data: bytes) -> EinvoiceFile:
    """The invoice in a standalone XML file.

    Raises UnreadableDocument when the XML declares a DOCTYPE or entities (no
    e-invoice does; they are how XXE and "billion laughs" attacks work), has
    more than MAX_ELEMENTS tags, is not well formed, or is some other XML than
    a UBL or CII invoice or credit note.
    """
    # Refused before parsing: nothing in the file is ever expanded or fetched.
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise UnreadableDocument(
            "the XML file declares a DOCTYPE or entities, which e-invoices never "
            "do; Vouch does not read it, because such declarations can make a "
            "reader fetch other files or expand without bound (XXE, billion laughs)"
        )
    tags = data.count(b"<")
    if tags > MAX_ELEMENTS:
        raise UnreadableDocument(
            f"the XML file has about {tags:,} elements; the limit is "
            f"{MAX_ELEMENTS:,}, far more than an invoice of 50 pages needs"
        )
    try:
        root = etree.fromstring(data, parser=_PARSER)
    except etree.XMLSyntaxError as error:
        raise UnreadableDocument(
            f"the XML file is not well formed ({error}); export it again"
        ) from None
    if root.getroottree().docinfo.internalDTD is not None:
        raise UnreadableDocument("the XML file declares a DTD; e-invoices never do")
    syntax = einvoice_syntax(root)
    if syntax is None:
        name = etree.QName(root)
        where = f" in namespace {name.namespace}" if name.namespace else ""
        raise UnreadableDocument(
            f"the XML file is not an e-invoice: its root element is "
            f"<{name.localname}>{where}. {_READS}"
        )
    return EinvoiceFile(root=root, syntax=syntax)


def render_einvoice_file(data: bytes, *, max_pages: int) -> bytes:
    """A PDF laying out the invoice in a standalone XML file: parties, dates,
    references, lines, totals and payment details.

    Raises UnreadableDocument as `parse_einvoice_file` does, when the invoice
    has neither a number nor a total, or when it needs more than `max_pages`.
    """
    parsed = parse_einvoice_file(data)
    fields = read_einvoice_xml(data, explanation=FILE_EXPLANATION)
    if not any(fields.get(name) for name in _ESSENTIAL):
        raise UnreadableDocument(
            f"the {parsed.syntax} XML file has neither an invoice number nor a "
            "total; it is not an invoice Vouch can read"
        )
    lines = read_einvoice_lines(data, explanation=FILE_EXPLANATION)
    declared = declared_classification(data, source=FILE_SOURCE)
    credit = declared is not None and declared.document_type == CREDIT_NOTE
    page = _Page(_font_names(), max_pages=max_pages)
    try:
        _write(
            page, parsed, fields, lines, title="Credit note" if credit else "Invoice"
        )
    except _TooManyPages:
        raise UnreadableDocument(
            f"the e-invoice has {len(lines)} lines, more than {max_pages} pages "
            f"when laid out; the limit is {max_pages} pages"
        ) from None
    return page.finish()


# --- layout ----------------------------------------------------------------------

_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
_MARGIN = 50.0
_WIDTH, _HEIGHT = A4
_BODY = 9.5
_LEADING = 13.0


def _font_names() -> tuple[str, str]:
    """DejaVu (every European script an e-invoice may carry) when installed,
    else the built-in Helvetica, which covers Latin-1 only."""
    pair = ("DejaVuSans", "DejaVuSans-Bold")
    paths = [_DEJAVU / f"{name}.ttf" for name in pair]
    if not all(path.is_file() for path in paths):
        return ("Helvetica", "Helvetica-Bold")
    for name, path in zip(pair, paths, strict=True):
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(name, str(path)))
    return pair


class _TooManyPages(Exception):
    pass


class _Page:
    """A canvas with a cursor that starts a new page when the current one is
    full, and stops (_TooManyPages) before it starts one too many."""

    def __init__(self, fonts: tuple[str, str], *, max_pages: int) -> None:
        self.buffer = io.BytesIO()
        self.canvas = Canvas(self.buffer, pagesize=A4)
        self.regular, self.bold = fonts
        self.y = _HEIGHT - _MARGIN
        self.count = 1
        self.max_pages = max_pages

    def need(self, height: float) -> None:
        if self.y - height < _MARGIN:
            if self.count == self.max_pages:
                raise _TooManyPages
            self.canvas.showPage()
            self.count += 1
            self.y = _HEIGHT - _MARGIN

    def text(
        self,
        x: float,
        text: str,
        *,
        bold: bool = False,
        size: float = _BODY,
        right: bool = False,
    ) -> None:
        font = self.bold if bold else self.regular
        self.canvas.setFont(font, size)
        if right:
            self.canvas.drawRightString(x, self.y, text)
        else:
            self.canvas.drawString(x, self.y, text)

    def wrapped(self, text: str, width: float, *, bold: bool = False) -> list[str]:
        font = self.bold if bold else self.regular
        return simpleSplit(text, font, _BODY, width) or [""]

    def finish(self) -> bytes:
        self.canvas.showPage()
        self.canvas.save()
        return self.buffer.getvalue()


def _write(
    page: _Page,
    parsed: EinvoiceFile,
    fields: Extraction,
    lines: tuple[ExtractedLine, ...],
    *,
    title: str,
) -> None:
    def value(name: str) -> str:
        found = fields.get(name)
        return found.value if found is not None else ""

    currency = value("currency")
    left, middle = _MARGIN, _WIDTH / 2 + 20

    # Seller letterhead on the left, the title on the right.
    top = page.y
    page.text(left, value("vendor_name") or "(seller not named)", bold=True, size=13)
    page.text(_WIDTH - _MARGIN, title, bold=True, size=16, right=True)
    page.y -= _LEADING + 4
    for line in _seller_details(parsed, value):
        page.text(left, line)
        page.y -= _LEADING
    page.y = min(page.y, top - 3 * _LEADING) - _LEADING

    # Buyer on the left, the invoice's references on the right, side by side.
    block_top = page.y
    page.text(left, "Bill to", bold=True)
    page.y -= _LEADING
    for line in _buyer_details(parsed, value):
        page.text(left, line)
        page.y -= _LEADING
    buyer_bottom = page.y
    page.y = block_top
    for label, name in (
        ("Invoice number", "invoice_number"),
        ("Invoice date", "invoice_date"),
        ("Due date", "due_date"),
        ("Purchase order", "po_number"),
        ("Currency", "currency"),
    ):
        if value(name):
            page.text(middle, f"{label}: {value(name)}")
            page.y -= _LEADING
    # XRechnung's Leitweg-ID, or the buyer's own reference for routing.
    for reference in _texts(parsed, ubl="/BuyerReference", cii="BuyerReference")[:1]:
        page.text(middle, f"Buyer reference: {reference}")
        page.y -= _LEADING
    page.y = min(page.y, buyer_bottom) - _LEADING

    _write_lines(page, lines)
    _write_totals(page, parsed, fields, currency)

    payment = [
        f"{label} {value(name)}"
        for label, name in (("IBAN", "iban"), ("BIC", "bic"))
        if value(name)
    ]
    notes = [
        ("Pay to", "   ".join(payment)),
        ("Payment terms", value("payment_terms")),
        *(("Note", note) for note in _notes(parsed)),
    ]
    for label, text in notes:
        if not text:
            continue
        wrapped = page.wrapped(f"{label}: {text}", _WIDTH - 2 * _MARGIN)
        page.need(len(wrapped) * _LEADING)
        for line in wrapped:
            page.text(left, line)
            page.y -= _LEADING
    page.y -= _LEADING
    page.need(_LEADING)
    page.text(
        left,
        f"Laid out by Vouch from the {parsed.syntax} e-invoice XML file; "
        "the XML is the original.",
        size=7,
    )


def _notes(parsed: EinvoiceFile) -> list[str]:
    if parsed.syntax == UBL:
        return texts_at(parsed.root, "/Note")
    return [
        note
        for path in (
            "/ExchangedDocument/IncludedNote/Content",
            "/HeaderExchangedDocument/IncludedNote/Content",
        )
        for note in texts_at(parsed.root, path)
    ]


def _seller_details(parsed: EinvoiceFile, value: Callable[[str], str]) -> Iterator[str]:
    address = party_address(parsed.root, parsed.syntax, seller=True)
    if address:
        yield address
    vat_id = value("vendor_vat_id")
    if vat_id:
        yield f"VAT ID: {vat_id}"


def _buyer_details(parsed: EinvoiceFile, value: Callable[[str], str]) -> Iterator[str]:
    yield value("customer_name") or "(buyer not named)"
    address = party_address(parsed.root, parsed.syntax, seller=False)
    if address:
        yield address
    buyer_vat = _texts(
        parsed,
        ubl="/AccountingCustomerParty/Party/PartyTaxScheme/CompanyID",
        cii="BuyerTradeParty/SpecifiedTaxRegistration/ID",
    )
    if buyer_vat:
        yield f"Buyer VAT ID: {buyer_vat[0]}"


_COLUMNS = (  # heading, right edge (or left edge for text columns), right-aligned
    ("#", _MARGIN, False),
    ("Description", _MARGIN + 22, False),
    ("Qty", 355.0, True),
    ("Unit price", 425.0, True),
    ("Tax %", 470.0, True),
    ("Amount", _WIDTH - _MARGIN, True),
)
_DESCRIPTION_WIDTH = 240.0


def _write_lines(page: _Page, lines: tuple[ExtractedLine, ...]) -> None:
    if not lines:
        return
    page.need(3 * _LEADING)
    for heading, x, right in _COLUMNS:
        page.text(x, heading, bold=True, right=right)
    page.y -= 4
    page.canvas.line(_MARGIN, page.y, _WIDTH - _MARGIN, page.y)
    page.y -= _LEADING
    for line in lines:
        description = line.description or "(no description)"
        if line.item_code:
            description += f" [{line.item_code}]"
        wrapped = page.wrapped(description, _DESCRIPTION_WIDTH)
        page.need(len(wrapped) * _LEADING)
        cells = (
            str(line.position),
            wrapped[0],
            _number(line.quantity),
            _money(line.unit_price),
            _number(line.tax_rate),
            _money(line.amount),
        )
        for (_, x, right), cell in zip(_COLUMNS, cells, strict=True):
            page.text(x, cell, right=right)
        for more in wrapped[1:]:
            page.y -= _LEADING
            page.text(_COLUMNS[1][1], more)
        page.y -= _LEADING
    page.canvas.line(_MARGIN, page.y + 8, _WIDTH - _MARGIN, page.y + 8)
    page.y -= 4


def _write_totals(
    page: _Page, parsed: EinvoiceFile, fields: Extraction, currency: str
) -> None:
    rows = [
        (label, Decimal(field.value))
        for label, name in (
            ("Net total", "subtotal_amount"),
            ("Tax", "tax_amount"),
            ("Total", "total_amount"),
        )
        if (field := fields.get(name)) is not None
    ]
    # What is left to pay after a prepayment or rounding, when it differs.
    due = _decimal(
        _texts(parsed, ubl="/LegalMonetaryTotal/PayableAmount", cii="DuePayableAmount")
    )
    if due is not None and due not in [
        amount for label, amount in rows if label == "Total"
    ]:
        rows.append(("Amount due", due))
    page.need(len(rows) * _LEADING + _LEADING)
    for label, amount in rows:
        bold = label in ("Total", "Amount due")
        page.text(400, f"{label}:", bold=bold)
        page.text(
            _WIDTH - _MARGIN,
            f"{_money(amount)} {currency}".strip(),
            bold=bold,
            right=True,
        )
        page.y -= _LEADING
    page.y -= _LEADING


def _texts(parsed: EinvoiceFile, *, ubl: str, cii: str) -> list[str]:
    return texts_at(parsed.root, ubl if parsed.syntax == UBL else cii)


def _decimal(texts: list[str]) -> Decimal | None:
    try:
        value = Decimal(texts[0]) if texts else None
    except InvalidOperation:
        return None
    return value if value is not None and value.is_finite() else None


def _money(amount: Decimal | None) -> str:
    return "" if amount is None else f"{amount:,.2f}"


def _number(amount: Decimal | None) -> str:
    if amount is None:
        return ""
    return format(amount.normalize(), "f")
