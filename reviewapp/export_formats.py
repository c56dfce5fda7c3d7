"""Approved data in the shapes an ERP imports: CSV, JSON, XLSX and UBL 2.1 XML.

Writers take `ExportDocument`s, plain frozen data built by the caller, so they
never query the database and every format says the same thing. Values arrive
already masked when the reader may not see them in clear (the caller decides).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from lxml import etree
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from schwifty import IBAN

# The header fields every export carries, in this order: a contract with the ERP,
# so it does not follow what the review page happens to list.
FIELD_NAMES = (
    "vendor_name",
    "vendor_address",
    "vendor_vat_id",
    "customer_name",
    "invoice_number",
    "invoice_date",
    "due_date",
    "po_number",
    "currency",
    "subtotal_amount",
    "tax_amount",
    "total_amount",
    "iban",
    "bic",
    "payment_terms",
)


@dataclass(frozen=True)
class ExportLine:
    description: str
    quantity: str = ""
    unit_price: str = ""
    amount: str = ""
    tax_rate: str = ""
    item_code: str = ""


def decimal_text(value: Decimal | None) -> str:
    """A stored quantity, price or rate as plain text: 3, 4.5, 0.025, 19."""
    if value is None:
        return ""
    if value == value.to_integral():
        return f"{value.quantize(Decimal(1)):f}"
    return f"{value.normalize():f}"


def money_text(value: Decimal | None) -> str:
    """An amount with two decimals: 13.5 -> "13.50"."""
    if value is None:
        return ""
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):f}"


@dataclass(frozen=True)
class ExportDocument:
    """One approved document: header fields (normalised values), line items, and
    what it was matched to."""

    id: str
    name: str
    document_type: str
    approved_at: str
    fields: Mapping[str, str]
    lines: tuple[ExportLine, ...] = ()
    vendor_id: str = ""
    vendor_name: str = ""
    purchase_order: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def value(self, name: str) -> str:
        return self.fields.get(name, "")


DOCUMENT_COLUMNS = [
    "document_id",
    "file_name",
    "document_type",
    "approved_at",
    *FIELD_NAMES,
    "matched_vendor_id",
    "matched_vendor_name",
    "matched_purchase_order",
]
LINE_COLUMNS = [
    "line_number",
    "line_description",
    "line_quantity",
    "line_unit_price",
    "line_amount",
    "line_tax_rate",
    "line_item_code",
]


def _document_cells(document: ExportDocument) -> list[str]:
    return [
        document.id,
        document.name,
        document.document_type,
        document.approved_at,
        *(document.value(name) for name in FIELD_NAMES),
        document.vendor_id,
        document.vendor_name,
        document.purchase_order,
    ]


def table_rows(documents: Iterable[ExportDocument]) -> Iterator[list[str]]:
    """Header row, then one row per line item with the document's columns
    repeated (one row with empty line columns for a document without lines):
    the flat shape ERP import screens expect."""
    yield DOCUMENT_COLUMNS + LINE_COLUMNS
    for document in documents:
        cells = _document_cells(document)
        if not document.lines:
            yield cells + [""] * len(LINE_COLUMNS)
        for number, line in enumerate(document.lines, start=1):
            yield [
                *cells,
                str(number),
                line.description,
                line.quantity,
                line.unit_price,
                line.amount,
                line.tax_rate,
                line.item_code,
            ]


class _Echo:
    """A file-like whose write returns the text, so csv.writer can stream."""

    def write(self, text: str) -> str:
        return text


def csv_chunks(documents: Iterable[ExportDocument]) -> Iterator[str]:
    """CSV text, one row at a time (for a streaming response)."""
    writer = csv.writer(_Echo())
    for row in table_rows(documents):
        yield writer.writerow([spreadsheet_safe(cell) for cell in row])


# A spreadsheet runs a cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """`cell` as text a spreadsheet will not run: a vendor name like
    "=HYPERLINK(...)" gets a leading apostrophe (CSV injection); numbers such
    as "-12.50" stay numbers. Every CSV export uses it."""
    if cell.startswith(FORMULA_STARTS) and not _is_number(cell):
        return "'" + cell
    return cell


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True


def as_json(document: ExportDocument) -> dict[str, Any]:
    return {
        "id": document.id,
        "file_name": document.name,
        "document_type": document.document_type,
        "approved_at": document.approved_at,
        "fields": {name: document.value(name) for name in FIELD_NAMES},
        "lines": [
            {
                "description": line.description,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "amount": line.amount,
                "tax_rate": line.tax_rate,
                "item_code": line.item_code,
            }
            for line in document.lines
        ],
        "matched_vendor": (
            {"id": document.vendor_id, "name": document.vendor_name}
            if document.vendor_id
            else None
        ),
        "matched_purchase_order": document.purchase_order or None,
        **document.extra,
    }


def xlsx_bytes(documents: Iterable[ExportDocument]) -> bytes:
    """A workbook with a Documents sheet (one row each) and a Lines sheet.

    Amounts are written as numbers so they can be summed; everything else as
    text (write-only mode keeps memory flat for large batches).
    """
    workbook = Workbook(write_only=True)
    documents_sheet = workbook.create_sheet("Documents")
    lines_sheet = workbook.create_sheet("Lines")
    documents_sheet.append(DOCUMENT_COLUMNS)
    lines_sheet.append(["document_id", *LINE_COLUMNS])
    amount_columns = {
        index
        for index, column in enumerate(DOCUMENT_COLUMNS)
        if column.endswith("_amount")
    }
    for document in documents:
        cells = _document_cells(document)
        documents_sheet.append(
            [
                _number_or_text(cell)
                if index in amount_columns
                else _text_cell(documents_sheet, cell)
                for index, cell in enumerate(cells)
            ]
        )
        for number, line in enumerate(document.lines, start=1):
            lines_sheet.append(
                [
                    document.id,
                    number,
                    _text_cell(lines_sheet, line.description),
                    _number_or_text(line.quantity),
                    _number_or_text(line.unit_price),
                    _number_or_text(line.amount),
                    _number_or_text(line.tax_rate),
                    _text_cell(lines_sheet, line.item_code),
                ]
            )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _text_cell(sheet: Any, text: str) -> WriteOnlyCell | str:
    # openpyxl stores any text starting with "=" as a live formula; a vendor
    # name like "=HYPERLINK(...)" must stay text (spreadsheet injection).
    if not text.startswith("="):
        return text
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"
    return cell


def _number_or_text(text: str) -> Decimal | str:
    return Decimal(text) if text and _is_number(text) else text


# --- UBL 2.1 ------------------------------------------------------------------

UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
EN16931 = "urn:cen.eu:en16931:2017"
# UN/ECE 4461: 58 = SEPA credit transfer, 30 = credit transfer (non-SEPA).
SEPA_CREDIT_TRANSFER = "58"
CREDIT_TRANSFER = "30"


def ubl_xml(document: ExportDocument) -> bytes:
    """The document as a UBL 2.1 Invoice (or CreditNote), elements in the
    schema's order; fields that were not read are left out, never invented."""
    credit_note = document.document_type == "credit_note"
    root_ns = UBL_CREDIT_NOTE if credit_note else UBL_INVOICE
    root = etree.Element(
        f"{{{root_ns}}}{'CreditNote' if credit_note else 'Invoice'}",
        nsmap={None: root_ns, "cac": CAC, "cbc": CBC},
    )
    currency = document.value("currency")
    _cbc(root, "UBLVersionID", "2.1")
    _cbc(root, "CustomizationID", EN16931)
    _cbc(root, "ID", document.value("invoice_number") or document.id)
    _cbc(root, "IssueDate", document.value("invoice_date"))
    if not credit_note:
        _cbc(root, "DueDate", document.value("due_date"))
        _cbc(root, "InvoiceTypeCode", "380")
    else:
        _cbc(root, "CreditNoteTypeCode", "381")
    _cbc(root, "DocumentCurrencyCode", currency)
    if document.value("po_number") or document.purchase_order:
        order = _cac(root, "OrderReference")
        _cbc(order, "ID", document.value("po_number") or document.purchase_order)

    supplier = _cac(_cac(root, "AccountingSupplierParty"), "Party")
    if document.vendor_id:
        identification = _cac(supplier, "PartyIdentification")
        _cbc(identification, "ID", document.vendor_id)
    _cbc(_cac(supplier, "PartyName"), "Name", document.value("vendor_name"))
    if document.value("vendor_address"):
        address = _cac(supplier, "PostalAddress")
        _cbc(_cac(address, "AddressLine"), "Line", document.value("vendor_address"))
        country = _country_of(document)
        if country:
            _cbc(_cac(address, "Country"), "IdentificationCode", country)
    if document.value("vendor_vat_id"):
        tax_scheme = _cac(supplier, "PartyTaxScheme")
        _cbc(tax_scheme, "CompanyID", document.value("vendor_vat_id"))
        _cbc(_cac(tax_scheme, "TaxScheme"), "ID", "VAT")
    legal = _cac(supplier, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", document.value("vendor_name"))

    # Required by the schema even when the buyer's name was not read.
    customer = _cac(_cac(root, "AccountingCustomerParty"), "Party")
    if document.value("customer_name"):
        _cbc(
            _cac(customer, "PartyLegalEntity"),
            "RegistrationName",
            document.value("customer_name"),
        )

    if document.value("iban"):
        means = _cac(root, "PaymentMeans")
        sepa = _in_sepa_zone(document.value("iban"))
        _cbc(
            means,
            "PaymentMeansCode",
            SEPA_CREDIT_TRANSFER if sepa else CREDIT_TRANSFER,
        )
        account = _cac(means, "PayeeFinancialAccount")
        _cbc(account, "ID", document.value("iban"))
        if document.value("bic"):
            _cbc(
                _cac(account, "FinancialInstitutionBranch"), "ID", document.value("bic")
            )
    if document.value("payment_terms"):
        _cbc(_cac(root, "PaymentTerms"), "Note", document.value("payment_terms"))

    tax = document.value("tax_amount")
    if tax:
        _amount(_cac(root, "TaxTotal"), "TaxAmount", tax, currency)

    totals = _cac(root, "LegalMonetaryTotal")
    subtotal = document.value("subtotal_amount") or _lines_total(document)
    total = document.value("total_amount")
    _amount(totals, "LineExtensionAmount", subtotal, currency)
    _amount(totals, "TaxExclusiveAmount", subtotal, currency)
    _amount(totals, "TaxInclusiveAmount", total, currency)
    _amount(totals, "PayableAmount", total, currency)

    line_tag = "CreditNoteLine" if credit_note else "InvoiceLine"
    quantity_tag = "CreditedQuantity" if credit_note else "InvoicedQuantity"
    lines = document.lines or (_summary_line(document, subtotal or total),)
    for number, line in enumerate(lines, start=1):
        element = _cac(root, line_tag)
        _cbc(element, "ID", str(number))
        if line.quantity:
            # C62 = "one" (a unit count): the unit printed is not read yet.
            _cbc(element, quantity_tag, line.quantity).set("unitCode", "C62")
        _amount(element, "LineExtensionAmount", line.amount, currency)
        item = _cac(element, "Item")
        _cbc(item, "Name", line.description)
        if line.item_code:
            _cbc(_cac(item, "SellersItemIdentification"), "ID", line.item_code)
        if line.tax_rate:
            category = _cac(item, "ClassifiedTaxCategory")
            _cbc(category, "Percent", line.tax_rate)
            _cbc(_cac(category, "TaxScheme"), "ID", "VAT")
        if line.unit_price:
            _amount(_cac(element, "Price"), "PriceAmount", line.unit_price, currency)
    return etree.tostring(
        root, xml_declaration=True, encoding="UTF-8", pretty_print=True
    )


def _summary_line(document: ExportDocument, amount: str) -> ExportLine:
    """UBL needs at least one line; when the lines were not captured, one line
    carries the net amount and says so, rather than inventing items."""
    reference = document.value("invoice_number") or document.name
    return ExportLine(
        description=f"{reference}: total, line items not captured",
        quantity="1",
        unit_price=amount,
        amount=amount,
    )


def _in_sepa_zone(iban: str) -> bool:
    try:
        return bool(IBAN(iban).in_sepa_zone)
    except ValueError:
        return False


def _country_of(document: ExportDocument) -> str:
    for name in ("vendor_vat_id", "iban"):
        prefix = document.value(name)[:2].upper()
        if prefix.isalpha():
            return "GR" if prefix == "EL" else prefix
    return ""


def _lines_total(document: ExportDocument) -> str:
    try:
        amounts = [Decimal(line.amount) for line in document.lines]
    except InvalidOperation:
        return ""
    return str(sum(amounts, Decimal("0"))) if amounts else ""


def _cac(parent: etree._Element, tag: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{CAC}}}{tag}")


def _cbc(parent: etree._Element, tag: str, text: str) -> etree._Element:
    """A basic component; empty values are left out (the element is then
    detached), so the XML never claims a value nobody read."""
    element = etree.SubElement(parent, f"{{{CBC}}}{tag}")
    if text:
        element.text = text
    else:
        parent.remove(element)
    return element


def _amount(parent: etree._Element, tag: str, value: str, currency: str) -> None:
    if not value:
        return
    element = _cbc(parent, tag, value)
    if currency:
        element.set("currencyID", currency)
