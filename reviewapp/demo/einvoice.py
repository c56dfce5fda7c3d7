"""The digital forms of a demo invoice: a PDF with a real text layer, and the
Factur-X (EN 16931) XML its sender's system would embed in it.

Most suppliers that can send e-invoices do, and those are the invoices a good
AP product lets through untouched; the demo needs one to show that path.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import facturx
from lxml import etree
from PIL import Image, ImageDraw
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

PIXELS_PER_INCH = 150  # the demo's page geometry, as for the rendered scans
POINTS_PER_PIXEL = 72 / PIXELS_PER_INCH

_RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
_RAM = (
    "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
)
_UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
_EN16931 = "urn:cen.eu:en16931:2017"
_SEPA_CREDIT_TRANSFER = "58"
_COMMERCIAL_INVOICE = "380"


@dataclass
class PdfCanvas:
    """Records what `demo.render` draws, measured with the same font as the
    raster pages, and writes it as PDF text in Helvetica (a standard font every
    reader has, so nothing is embedded)."""

    size: tuple[int, int]
    _measure: ImageDraw.ImageDraw = field(init=False)
    _operators: list[str] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self._measure = ImageDraw.Draw(Image.new("1", (1, 1)))

    def textlength(self, text: str, font: Any) -> float:
        return float(self._measure.textlength(text, font=font))

    def text(
        self, xy: tuple[float, float], text: str, font: Any, fill: str = "black"
    ) -> None:
        ascent, _ = font.getmetrics()
        x, y = xy[0] * POINTS_PER_PIXEL, self._flip(xy[1] + ascent)
        size = font.size * POINTS_PER_PIXEL
        self._operators.append(
            f"BT {_rgb(fill)} rg /F1 {size:.2f} Tf {x:.2f} {y:.2f} Td "
            f"({_pdf_string(text)}) Tj ET"
        )

    def line(self, xy: Sequence[float], fill: str = "black", width: int = 1) -> None:
        x0, y0, x1, y1 = xy
        self._operators.append(
            f"{_rgb(fill)} RG {width * POINTS_PER_PIXEL:.2f} w "
            f"{x0 * POINTS_PER_PIXEL:.2f} {self._flip(y0):.2f} m "
            f"{x1 * POINTS_PER_PIXEL:.2f} {self._flip(y1):.2f} l S"
        )

    def pdf(self) -> bytes:
        writer = PdfWriter()
        width, height = (side * POINTS_PER_PIXEL for side in self.size)
        page = writer.add_blank_page(width=width, height=height)
        font = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
                NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
            }
        )
        page[NameObject("/Resources")] = DictionaryObject(
            {
                NameObject("/Font"): DictionaryObject(
                    {NameObject("/F1"): writer._add_object(font)}
                )
            }
        )
        content = DecodedStreamObject()
        content.set_data("\n".join(self._operators).encode("cp1252"))
        page[NameObject("/Contents")] = writer._add_object(content)
        buffer = io.BytesIO()
        writer.write(buffer)
        return buffer.getvalue()

    def _flip(self, y: float) -> float:
        return (self.size[1] - y) * POINTS_PER_PIXEL


def _pdf_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _rgb(colour: str) -> str:
    if colour == "black":
        return "0 0 0"
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(2 * digit for digit in digits)
    return " ".join(f"{int(digits[i : i + 2], 16) / 255:.3f}" for i in (0, 2, 4))


@dataclass(frozen=True)
class InvoiceLine:
    description: str
    quantity: int
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.quantity


def cii_xml(spec: dict[str, Any], lines: Sequence[InvoiceLine], tax: Decimal) -> bytes:
    """The EN 16931 Cross Industry Invoice for a demo spec's "einvoice" block."""
    data = spec["einvoice"]
    currency = spec["currency"]
    subtotal = sum((line.amount for line in lines), Decimal("0.00"))
    root = etree.Element(
        _q(_RSM, "CrossIndustryInvoice"),
        nsmap={"rsm": _RSM, "ram": _RAM, "udt": _UDT},
    )
    context = _sub(root, _RSM, "ExchangedDocumentContext")
    _sub(
        _sub(context, _RAM, "GuidelineSpecifiedDocumentContextParameter"),
        _RAM,
        "ID",
        _EN16931,
    )
    document = _sub(root, _RSM, "ExchangedDocument")
    _sub(document, _RAM, "ID", data["number"])
    _sub(document, _RAM, "TypeCode", _COMMERCIAL_INVOICE)
    _date(_sub(document, _RAM, "IssueDateTime"), data["issue_date"])
    transaction = _sub(root, _RSM, "SupplyChainTradeTransaction")
    for number, line in enumerate(lines, start=1):
        item = _sub(transaction, _RAM, "IncludedSupplyChainTradeLineItem")
        _sub(
            _sub(item, _RAM, "AssociatedDocumentLineDocument"),
            _RAM,
            "LineID",
            str(number),
        )
        _sub(_sub(item, _RAM, "SpecifiedTradeProduct"), _RAM, "Name", line.description)
        price = _sub(
            _sub(item, _RAM, "SpecifiedLineTradeAgreement"),
            _RAM,
            "NetPriceProductTradePrice",
        )
        _sub(price, _RAM, "ChargeAmount", f"{line.unit_price:.2f}")
        delivery = _sub(item, _RAM, "SpecifiedLineTradeDelivery")
        _sub(delivery, _RAM, "BilledQuantity", f"{line.quantity:.3f}", unitCode="C62")
        settlement = _sub(item, _RAM, "SpecifiedLineTradeSettlement")
        _vat(settlement, spec["tax_rate"])
        summation = _sub(
            settlement, _RAM, "SpecifiedTradeSettlementLineMonetarySummation"
        )
        _sub(summation, _RAM, "LineTotalAmount", f"{line.amount:.2f}")
    agreement = _sub(transaction, _RAM, "ApplicableHeaderTradeAgreement")
    _party(agreement, "SellerTradeParty", data["seller"])
    _party(agreement, "BuyerTradeParty", data["buyer"])
    _sub(transaction, _RAM, "ApplicableHeaderTradeDelivery")
    settlement = _sub(transaction, _RAM, "ApplicableHeaderTradeSettlement")
    _sub(settlement, _RAM, "PaymentReference", data["number"])
    _sub(settlement, _RAM, "InvoiceCurrencyCode", currency)
    means = _sub(settlement, _RAM, "SpecifiedTradeSettlementPaymentMeans")
    _sub(means, _RAM, "TypeCode", _SEPA_CREDIT_TRANSFER)
    _sub(
        _sub(means, _RAM, "PayeePartyCreditorFinancialAccount"),
        _RAM,
        "IBANID",
        data["iban"],
    )
    _sub(
        _sub(means, _RAM, "PayeeSpecifiedCreditorFinancialInstitution"),
        _RAM,
        "BICID",
        data["bic"],
    )
    header_tax = _sub(settlement, _RAM, "ApplicableTradeTax")
    _sub(header_tax, _RAM, "CalculatedAmount", f"{tax:.2f}")
    _sub(header_tax, _RAM, "TypeCode", "VAT")
    _sub(header_tax, _RAM, "BasisAmount", f"{subtotal:.2f}")
    _sub(header_tax, _RAM, "CategoryCode", "S")
    _sub(header_tax, _RAM, "RateApplicablePercent", f"{Decimal(spec['tax_rate']):.2f}")
    terms = _sub(settlement, _RAM, "SpecifiedTradePaymentTerms")
    _sub(terms, _RAM, "Description", data["payment_terms"])
    _date(_sub(terms, _RAM, "DueDateDateTime"), data["due_date"])
    totals = _sub(settlement, _RAM, "SpecifiedTradeSettlementHeaderMonetarySummation")
    _sub(totals, _RAM, "LineTotalAmount", f"{subtotal:.2f}")
    _sub(totals, _RAM, "TaxBasisTotalAmount", f"{subtotal:.2f}")
    _sub(totals, _RAM, "TaxTotalAmount", f"{tax:.2f}", currencyID=currency)
    _sub(totals, _RAM, "GrandTotalAmount", f"{subtotal + tax:.2f}")
    _sub(totals, _RAM, "DuePayableAmount", f"{subtotal + tax:.2f}")
    return etree.tostring(
        root, xml_declaration=True, encoding="UTF-8", pretty_print=True
    )


def factur_x_pdf(pdf: bytes, xml: bytes) -> bytes:
    """The PDF with the XML embedded as Factur-X, checked against its schema."""
    return bytes(
        facturx.generate_from_binary(pdf, xml, flavor="factur-x", level="en16931")
    )


def _q(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def _sub(
    parent: etree._Element,
    namespace: str,
    name: str,
    text: str | None = None,
    **attributes: str,
) -> etree._Element:
    element = etree.SubElement(parent, _q(namespace, name), attributes)
    if text is not None:
        element.text = text
    return element


def _date(parent: etree._Element, iso: str) -> None:
    _sub(
        parent,
        _UDT,
        "DateTimeString",
        date.fromisoformat(iso).strftime("%Y%m%d"),
        format="102",
    )


def _vat(parent: etree._Element, rate: str) -> None:
    tax = _sub(parent, _RAM, "ApplicableTradeTax")
    _sub(tax, _RAM, "TypeCode", "VAT")
    _sub(tax, _RAM, "CategoryCode", "S")
    _sub(tax, _RAM, "RateApplicablePercent", f"{Decimal(rate):.2f}")


def _party(parent: etree._Element, role: str, party: dict[str, str]) -> None:
    element = _sub(parent, _RAM, role)
    _sub(element, _RAM, "Name", party["name"])
    address = _sub(element, _RAM, "PostalTradeAddress")
    _sub(address, _RAM, "PostcodeCode", party["postcode"])
    _sub(address, _RAM, "LineOne", party["street"])
    _sub(address, _RAM, "CityName", party["city"])
    _sub(address, _RAM, "CountryID", party["country"])
    if party.get("vat_id"):
        registration = _sub(element, _RAM, "SpecifiedTaxRegistration")
        _sub(registration, _RAM, "ID", party["vat_id"], schemeID="VA")
