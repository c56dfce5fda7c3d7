"""Fields from e-invoice XML, and how they compare with what the printed page says.

The XML is either embedded in a PDF (Factur-X / ZUGFeRD) or a file of its own:
UN/CEFACT CII (ZUGFeRD, Factur-X, XRechnung CII) or UBL 2.1 (Peppol BIS
Billing 3.0, XRechnung UBL). It is what the sender's system meant to bill, so
its fields get full confidence; but a person pays from what the page shows, so
a field whose printed value plainly differs is flagged and sent to review
instead.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation

import facturx
from lxml import etree

from pipeline.classify import CREDIT_NOTE, INVOICE, Classification
from pipeline.extract.line_items import plain_decimal
from pipeline.extract.normalize import (
    compact_identifier,
    find_amounts,
    find_dates,
    format_amount,
    iban_is_valid,
    vat_id_is_valid,
)
from pipeline.types import Box, ExtractedLine, Extraction, FieldValue, PageText

logger = logging.getLogger(__name__)

EMBEDDED_SOURCE = "the embedded Factur-X XML"
# A standalone file: the page is Vouch's own rendering of the same XML.
FILE_SOURCE = "the e-invoice XML file"
XML_EXPLANATION = f"from {EMBEDDED_SOURCE}"
FILE_EXPLANATION = f"from {FILE_SOURCE}"
# Every explanation a value read from XML starts with.
XML_EXPLANATIONS = (XML_EXPLANATION, FILE_EXPLANATION)
# Confidence of an XML field the printed page contradicts, or of an XML IBAN or
# VAT id whose check digits fail: low enough that no threshold auto-accepts it,
# so a person decides which one is right.
DISAGREEMENT_CONFIDENCE = 0.5

CII = "UN/CEFACT CII"
UBL = "UBL 2.1"
_UBL_NAMESPACES = frozenset(
    {
        "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
        "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
    }
)
_CII_ROOTS = frozenset({"CrossIndustryInvoice", "CrossIndustryDocument"})

# Both ZUGFeRD 1 (CrossIndustryDocument) and 2 / Factur-X (CrossIndustryInvoice)
# use the same element names in different places and namespaces, so paths are
# written by local name and each field lists where each version keeps it.
# A path starting with "/" begins at the root's children; others match anywhere.
_CII_PATHS: dict[str, tuple[str, ...]] = {
    "invoice_number": (
        "ExchangedDocument/ID",
        "HeaderExchangedDocument/ID",
    ),
    "invoice_date": (
        "ExchangedDocument/IssueDateTime/DateTimeString",
        "HeaderExchangedDocument/IssueDateTime/DateTimeString",
        # Some ZUGFeRD 1 writers put the date straight into IssueDateTime.
        "HeaderExchangedDocument/IssueDateTime",
    ),
    "vendor_name": ("SellerTradeParty/Name",),
    "customer_name": ("BuyerTradeParty/Name",),
    "vendor_vat_id": ("SellerTradeParty/SpecifiedTaxRegistration/ID[@schemeID='VA']",),
    "po_number": (
        "BuyerOrderReferencedDocument/IssuerAssignedID",
        "BuyerOrderReferencedDocument/ID",
    ),
    "currency": ("InvoiceCurrencyCode",),
    "subtotal_amount": ("TaxBasisTotalAmount",),
    "tax_amount": ("TaxTotalAmount",),
    "total_amount": ("GrandTotalAmount",),
    "due_date": ("SpecifiedTradePaymentTerms/DueDateDateTime/DateTimeString",),
    "payment_terms": ("SpecifiedTradePaymentTerms/Description",),
    # Only the payee's account: a direct-debit invoice names the *buyer's*
    # account (PayerPartyDebtorFinancialAccount), which must never be taken
    # for the account to pay to.
    "iban": ("PayeePartyCreditorFinancialAccount/IBANID",),
    "bic": ("PayeeSpecifiedCreditorFinancialInstitution/BICID",),
}
# UBL 2.1 Invoice and CreditNote (EN 16931 business terms in the comments where
# the choice is not obvious). Paths start at the root, because UBL reuses "ID"
# and "Name" under every party, line and reference.
_UBL_VAT_SCHEME = "[*[local-name()='TaxScheme']/*[local-name()='ID']='VAT']"
_UBL_PATHS: dict[str, tuple[str, ...]] = {
    "invoice_number": ("/ID",),
    "invoice_date": ("/IssueDate",),
    # BT-27, the legal name, as CII's SellerTradeParty/Name; else the trading name.
    "vendor_name": (
        "/AccountingSupplierParty/Party/PartyLegalEntity/RegistrationName",
        "/AccountingSupplierParty/Party/PartyName/Name",
    ),
    "customer_name": (
        "/AccountingCustomerParty/Party/PartyLegalEntity/RegistrationName",
        "/AccountingCustomerParty/Party/PartyName/Name",
    ),
    "vendor_vat_id": (
        f"/AccountingSupplierParty/Party/PartyTaxScheme{_UBL_VAT_SCHEME}/CompanyID",
    ),
    "po_number": ("/OrderReference/ID",),
    "currency": ("/DocumentCurrencyCode",),
    "subtotal_amount": ("/LegalMonetaryTotal/TaxExclusiveAmount",),
    "tax_amount": ("/TaxTotal/TaxAmount",),
    # BT-112, the total with VAT, as CII's GrandTotalAmount.
    "total_amount": ("/LegalMonetaryTotal/TaxInclusiveAmount",),
    # An Invoice has DueDate; a CreditNote only PaymentMeans/PaymentDueDate.
    "due_date": ("/DueDate", "/PaymentMeans/PaymentDueDate"),
    "payment_terms": ("/PaymentTerms/Note",),
    # The payee's account only; a direct debit's is under PaymentMandate.
    "iban": ("/PaymentMeans/PayeeFinancialAccount/ID",),
    "bic": ("/PaymentMeans/PayeeFinancialAccount/FinancialInstitutionBranch/ID",),
}
_PATHS = {CII: _CII_PATHS, UBL: _UBL_PATHS}
_AMOUNT_FIELDS = frozenset(
    {"subtotal_amount", "tax_amount", "total_amount"},
)
_DATE_FIELDS = frozenset({"invoice_date", "due_date"})
# Printed forms of these vary too much (a name split over lines, an address
# laid out differently) to call a mismatch a contradiction.
_UNCOMPARED_FIELDS = frozenset(
    {"vendor_name", "customer_name", "vendor_address", "payment_terms"}
)
_SAFE_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True
)


def embedded_xml(data: bytes) -> bytes | None:
    """The Factur-X / ZUGFeRD XML attached to a PDF, or None when there is none.

    Never raises: a damaged PDF or attachment simply has no usable XML here (the
    decode stage reports damage to the sender).
    """
    if not data.startswith(b"%PDF"):
        return None
    try:
        _, xml = facturx.get_xml_from_pdf(data, check_xsd=False)
    except Exception:  # pypdf raises many kinds of error on broken files
        logger.info("no readable Factur-X XML in this PDF", exc_info=True)
        return None
    return xml or None


def einvoice_syntax(root: etree._Element) -> str | None:
    """CII or UBL when the root element is an invoice or credit note of that
    syntax, else None."""
    name = etree.QName(root)
    if name.localname in ("Invoice", "CreditNote") and name.namespace in (
        _UBL_NAMESPACES
    ):
        return UBL
    if name.localname in _CII_ROOTS:
        return CII
    # The UN/CEFACT Invoice that ZUGFeRD's drafts used (CBFBUY) keeps CII's
    # element names.
    if name.localname == "Invoice" and (name.namespace or "").startswith(
        "urn:un:unece:uncefact:data:standard:"
    ):
        return CII
    return None


def read_einvoice_xml(xml: bytes, *, explanation: str = XML_EXPLANATION) -> Extraction:
    """The fields of a CII invoice (ZUGFeRD 1 or 2, Factur-X, XRechnung CII) or
    a UBL 2.1 invoice or credit note, each normalised like an extracted value,
    with confidence 1.0 and no page position. Elements that are missing or
    unreadable are left out; malformed XML gives no fields."""
    try:
        root = etree.fromstring(xml, parser=_SAFE_PARSER)
    except etree.XMLSyntaxError:
        return Extraction()
    syntax = einvoice_syntax(root) or CII
    fields: list[FieldValue] = []
    for name, paths in _PATHS[syntax].items():
        raw = _first_text(root, paths, prefer_currency=_currency_code(root, syntax))
        value = _normalise(name, raw) if raw else None
        if raw and value:
            fields.append(_xml_field(name, raw, value, explanation))
    address = party_address(root, syntax, seller=True)
    if address:
        fields.append(_xml_field("vendor_address", address, address, explanation))
    return Extraction(fields=tuple(fields))


def read_einvoice(data: bytes) -> Extraction | None:
    """`read_einvoice_xml` of the XML a PDF carries; None without one."""
    xml = embedded_xml(data)
    if xml is None:
        return None
    extraction = read_einvoice_xml(xml)
    return extraction if extraction.fields else None


# UNTDID 1001 document type codes a CII invoice may carry. Everything else an
# e-invoice can declare (corrected, prepayment, self-billed ... invoices) is paid
# like an invoice; credit notes reduce what is owed.
_CREDIT_NOTE_TYPE_CODES = frozenset(
    {"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532"}
)


def declared_classification(
    xml: bytes, *, source: str = EMBEDDED_SOURCE
) -> Classification | None:
    """The document type the XML itself declares (its TypeCode, or a UBL
    CreditNote root), as a classification as sure as the XML's fields; None
    when it declares none."""
    try:
        root = etree.fromstring(xml, parser=_SAFE_PARSER)
    except etree.XMLSyntaxError:
        return None
    syntax = einvoice_syntax(root) or CII
    paths = (
        ("/InvoiceTypeCode", "/CreditNoteTypeCode")
        if syntax == UBL
        else ("ExchangedDocument/TypeCode", "HeaderExchangedDocument/TypeCode")
    )
    code = _first_text(root, paths, prefer_currency=None)
    if syntax == UBL and etree.QName(root).localname == "CreditNote":
        reason = f"{source} is a UBL CreditNote"
        return Classification(CREDIT_NOTE, 1.0, (reason,), 0.0)
    if not code:
        return None
    document_type = CREDIT_NOTE if code in _CREDIT_NOTE_TYPE_CODES else INVOICE
    return Classification(
        document_type, 1.0, (f"{source} declares type code {code}",), 0.0
    )


def merge_with_page(
    xml: Extraction, printed: Extraction, pages: Sequence[PageText]
) -> Extraction:
    """XML fields first, checked against the printed page; printed fields the
    XML lacks are kept as they are.

    A field is contradicted when the page's extraction found a different value
    and the XML's value appears nowhere on the page either; it then keeps the
    XML value with confidence 0.5 and an explanation naming both. A field the
    page confirms, or whose value is printed somewhere, borrows that box so the
    review page can point at it.
    """
    merged: list[FieldValue] = []
    for field in xml.fields:
        seen = printed.get(field.name)
        if seen is not None and _same(field.name, field.value, seen.value):
            merged.append(replace(field, page_number=seen.page_number, box=seen.box))
            continue
        where = _printed_at(field.name, field.value, pages)
        if where is not None:
            merged.append(replace(field, page_number=where[0], box=where[1]))
        elif (
            seen is None
            or field.name in _UNCOMPARED_FIELDS
            or _printed_across_lines(field.name, field.value, pages)
        ):
            merged.append(field)
        else:
            merged.append(
                replace(
                    field,
                    confidence=DISAGREEMENT_CONFIDENCE,
                    page_number=seen.page_number,
                    box=seen.box,
                    explanation=(
                        f"{XML_EXPLANATION}; XML says {field.value}, "
                        f"the printed page says {seen.value}: check which is right"
                    ),
                )
            )
    names = {field.name for field in xml.fields}
    merged.extend(field for field in printed.fields if field.name not in names)
    return Extraction(fields=tuple(merged))


# --- reading the XML -----------------------------------------------------------


def _xpath_by_local_name(path: str) -> str:
    steps = []
    for step in _steps(path.removeprefix("/")):
        name, bracket, condition = step.partition("[")
        steps.append(f"*[local-name()='{name}']" + (bracket + condition))
    return ("./" if path.startswith("/") else ".//") + "/".join(steps)


def _steps(path: str) -> list[str]:
    """The path split at each "/" outside a [condition]."""
    steps, depth, start = [], 0, 0
    for index, character in enumerate(path):
        depth += {"[": 1, "]": -1}.get(character, 0)
        if character == "/" and depth == 0:
            steps.append(path[start:index])
            start = index + 1
    return [*steps, path[start:]]


def texts_at(root: etree._Element, path: str) -> list[str]:
    """The non-empty texts, whitespace collapsed, of every element at a path of
    local names ("/" first: starting at the root's children)."""
    found = (
        " ".join((e.text or "").split()) for e in root.xpath(_xpath_by_local_name(path))
    )
    return [text for text in found if text]


def _first_text(
    root: etree._Element, paths: Sequence[str], *, prefer_currency: str | None
) -> str | None:
    for path in paths:
        elements = root.xpath(_xpath_by_local_name(path))
        # TaxTotalAmount may be given twice, in the invoice currency and in the
        # accounting currency: take the invoice currency's.
        elements.sort(key=lambda e: e.get("currencyID") not in (None, prefer_currency))
        for element in elements:
            text = " ".join((element.text or "").split())
            if text:
                return text
    return None


def _currency_code(root: etree._Element, syntax: str) -> str | None:
    path = "/DocumentCurrencyCode" if syntax == UBL else "InvoiceCurrencyCode"
    found = root.xpath(_xpath_by_local_name(path))
    return (found[0].text or "").strip() or None if found else None


# (address element, street parts, postcode, city) per syntax.
_ADDRESS_PARTS = {
    CII: ("PostalTradeAddress", ("LineOne", "LineTwo"), "PostcodeCode", "CityName"),
    UBL: (
        "PostalAddress",
        ("StreetName", "AdditionalStreetName", "AddressLine/Line"),
        "PostalZone",
        "CityName",
    ),
}
_PARTIES = {
    (CII, True): "SellerTradeParty",
    (CII, False): "BuyerTradeParty",
    (UBL, True): "/AccountingSupplierParty/Party",
    (UBL, False): "/AccountingCustomerParty/Party",
}


def party_address(root: etree._Element, syntax: str, *, seller: bool) -> str | None:
    """ "Street, postcode city" of the seller or buyer, the way an address is
    printed on a letterhead; None when the XML gives none."""
    element, streets, postcode, city = _ADDRESS_PARTS[syntax]
    path = f"{_PARTIES[syntax, seller]}/{element}"
    found = root.xpath(_xpath_by_local_name(path))
    if not found:
        return None
    address = found[0]

    def part(name: str) -> str:
        element = address.xpath(_xpath_by_local_name("/" + name))
        return " ".join((element[0].text or "").split()) if element else ""

    street = ", ".join(p for p in map(part, streets) if p)
    place = " ".join(p for p in (part(postcode), part(city)) if p)
    return ", ".join(p for p in (street, place) if p) or None


def _normalise(name: str, raw: str) -> str | None:
    if name in _AMOUNT_FIELDS:
        try:
            return format_amount(Decimal(raw))
        except InvalidOperation:
            return None
    if name in _DATE_FIELDS:
        return _xml_date(raw)
    if name == "iban":
        # UBL's PayeeFinancialAccount may hold a national account number,
        # which is not an IBAN and must not be checked as one.
        iban = compact_identifier(raw)
        return iban if _IBAN_SHAPE.match(iban) else None
    if name in ("bic", "vendor_vat_id", "currency"):
        return compact_identifier(raw)
    return raw


_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{8,30}$")


def _xml_date(raw: str) -> str | None:
    # CII requires format 102 (yyyymmdd); UBL requires yyyy-mm-dd.
    digits = raw.strip()
    if len(digits) == 10 and digits[4] == digits[7] == "-":
        digits = digits.replace("-", "")
    if len(digits) == 8 and digits.isdigit():
        try:
            return date(int(digits[:4]), int(digits[4:6]), int(digits[6:])).isoformat()
        except ValueError:
            return None
    found = find_dates(digits)
    return found[0].value.isoformat() if found else None


def _xml_field(name: str, raw: str, value: str, explanation: str) -> FieldValue:
    # A sender's system can still write a mistyped account or tax number; the
    # check digits catch that before anyone pays to it.
    invalid = (name == "iban" and not iban_is_valid(value)) or (
        name == "vendor_vat_id" and not vat_id_is_valid(value)
    )
    return FieldValue(
        name=name,
        raw_value=raw,
        value=value,
        confidence=DISAGREEMENT_CONFIDENCE if invalid else 1.0,
        explanation=explanation
        + ("; its check digits do not match: check it" if invalid else ""),
    )


# --- comparing with the page ---------------------------------------------------


def _compact(value: str) -> str:
    return "".join(value.split()).upper()


def _same(name: str, xml_value: str, printed_value: str) -> bool:
    if name in _AMOUNT_FIELDS:
        try:
            return Decimal(xml_value) == Decimal(printed_value)
        except InvalidOperation:
            return False
    return _compact(xml_value) == _compact(printed_value)


def _printed_at(
    name: str, value: str, pages: Sequence[PageText]
) -> tuple[int, Box] | None:
    """The page and box of the first line printing the XML's value, in any of
    its printed forms; None when no single line does."""
    for page in pages:
        for line in page.lines:
            if _line_prints(name, value, line.text):
                return page.page_number, line.box
    return None


def _line_prints(name: str, value: str, text: str) -> bool:
    if name in _AMOUNT_FIELDS:
        # Credit notes print their amounts without a sign under a "credit" title.
        wanted = abs(Decimal(value))
        return any(abs(amount.value) == wanted for amount in find_amounts(text))
    if name in _DATE_FIELDS:
        return any(
            found.value.isoformat() == value
            for day_first in (True, False)
            for found in find_dates(text, day_first=day_first)
        )
    if name in _UNCOMPARED_FIELDS:
        return " ".join(value.split()).casefold() in " ".join(text.split()).casefold()
    # Identifiers are often printed with spaces ("DE12 1234 ...").
    return _compact(value) in _compact(text)


def _printed_across_lines(name: str, value: str, pages: Sequence[PageText]) -> bool:
    """An identifier split over two boxes ("DE12 3456" | "7890 ...") is still
    printed: compare the page's text without any whitespace."""
    if name in _AMOUNT_FIELDS or name in _DATE_FIELDS:
        return False
    texts = " ".join(line.text for page in pages for line in page.lines)
    return _compact(value) in _compact(texts)


# --- line items ----------------------------------------------------------------


@dataclass(frozen=True)
class _LinePaths:
    lines: tuple[str, ...]
    amount: str
    quantity: tuple[str, ...]
    price: str
    basis: str
    rates: tuple[str, ...]
    codes: tuple[str, ...]
    description: str


_LINE_PATHS = {
    CII: _LinePaths(
        lines=("IncludedSupplyChainTradeLineItem",),
        amount="LineTotalAmount",
        quantity=("BilledQuantity",),
        price="NetPriceProductTradePrice/ChargeAmount",
        basis="NetPriceProductTradePrice/BasisQuantity",
        rates=(
            "ApplicableTradeTax/RateApplicablePercent",
            "ApplicableTradeTax/ApplicablePercent",
        ),
        codes=(
            "SpecifiedTradeProduct/SellerAssignedID",
            "SpecifiedTradeProduct/BuyerAssignedID",
            "SpecifiedTradeProduct/GlobalID",
        ),
        description="SpecifiedTradeProduct/Name",
    ),
    UBL: _LinePaths(
        lines=("/InvoiceLine", "/CreditNoteLine"),
        amount="/LineExtensionAmount",
        quantity=("/InvoicedQuantity", "/CreditedQuantity"),
        price="/Price/PriceAmount",
        basis="/Price/BaseQuantity",
        rates=("/Item/ClassifiedTaxCategory/Percent",),
        codes=(
            "/Item/SellersItemIdentification/ID",
            "/Item/BuyersItemIdentification/ID",
            "/Item/StandardItemIdentification/ID",
        ),
        description="/Item/Name",
    ),
}


def read_einvoice_lines(
    xml: bytes, *, explanation: str = XML_EXPLANATION
) -> tuple[ExtractedLine, ...]:
    """The lines of a CII invoice (IncludedSupplyChainTradeLineItem; ZUGFeRD 1
    or 2, Factur-X) or UBL invoice or credit note (InvoiceLine, CreditNoteLine)
    at confidence 1.0, without page positions. Malformed XML, or a line
    without a readable amount, gives no line."""
    try:
        root = etree.fromstring(xml, parser=_SAFE_PARSER)
    except etree.XMLSyntaxError:
        return ()
    paths = _LINE_PATHS[einvoice_syntax(root) or CII]
    lines: list[ExtractedLine] = []
    elements = [
        element
        for path in paths.lines
        for element in root.xpath(_xpath_by_local_name(path))
    ]
    for element in elements:
        amount = _line_decimal(element, paths.amount)
        if amount is None:
            continue
        price = _line_decimal(element, paths.price)
        basis = _line_decimal(element, paths.basis)
        if price is not None and basis not in (None, Decimal(0), Decimal(1)):
            # A price per 100 pieces is a unit price of a hundredth of it.
            price = price / basis
        rate = _first_decimal(element, paths.rates)
        quantity = _first_decimal(element, paths.quantity)
        code = next(
            (text for path in paths.codes if (text := _line_text(element, path))),
            "",
        )
        lines.append(
            ExtractedLine(
                position=len(lines) + 1,
                description=_line_text(element, paths.description),
                quantity=quantity,
                unit_price=price,
                amount=amount,
                tax_rate=plain_decimal(rate),
                item_code=code,
                confidence=1.0,
                source="xml",
                explanation=explanation,
            )
        )
    return tuple(lines)


def place_xml_lines(
    xml_lines: Sequence[ExtractedLine], printed: Sequence[ExtractedLine]
) -> tuple[ExtractedLine, ...]:
    """XML lines with the page and box of the printed line of the same amount,
    taken in order, so the review page can point at each one."""
    unused = list(printed)
    placed = []
    for line in xml_lines:
        match = next((p for p in unused if p.amount == line.amount), None)
        if match is not None:
            unused.remove(match)
            line = replace(line, page_number=match.page_number, box=match.box)
        placed.append(line)
    return tuple(placed)


def _line_text(element: etree._Element, path: str) -> str:
    found = element.xpath(_xpath_by_local_name(path))
    return " ".join((found[0].text or "").split()) if found else ""


def _first_decimal(element: etree._Element, paths: Sequence[str]) -> Decimal | None:
    # A zero rate is a rate: only a missing one moves on to the next path.
    for path in paths:
        value = _line_decimal(element, path)
        if value is not None:
            return value
    return None


def _line_decimal(element: etree._Element, path: str) -> Decimal | None:
    text = _line_text(element, path)
    try:
        value = Decimal(text) if text else None
    except InvalidOperation:
        return None
    return value if value is not None and value.is_finite() else None
