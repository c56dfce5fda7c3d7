"""Approved documents' line items in every export: CSV, JSON and UBL per
document, CSV/JSON/XLSX batches and the ERP pull API."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from lxml import etree
from openpyxl import load_workbook

from reviewapp.models.documents import Document
from tests.conftest import make_line_item
from tests.reviewapp.test_erp_api import EXPORTS, token_client
from tests.reviewapp.test_export_views import (
    approved_invoice,
    client_for,
    csv_rows,
)
from tests.reviewapp.test_exports import schema

pytestmark = pytest.mark.django_db

CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"


def with_lines(document: Document) -> Document:
    # Stored out of order: exports follow the grid's positions.
    make_line_item(
        document,
        2,
        "Toner cartridge black",
        quantity="3.000000",
        unit_price="25.166667",
        amount="75.5000",
        tax_rate=Decimal("19.0000"),
    )
    make_line_item(
        document,
        1,
        "Copy paper A4",
        quantity="10.000000",
        unit_price="4.500000",
        amount="45.0000",
        item_code="CP-500",
        tax_rate=Decimal("19.0000"),
    )
    return document


def test_csv_and_json_per_document_carry_the_lines(
    clerk: User, supervisor: User
) -> None:
    document = with_lines(approved_invoice(clerk))
    client = client_for(supervisor)
    rows = csv_rows(
        client.get(reverse("document-export", args=[document.public_id, "csv"]))
    )
    assert [
        (row["line_number"], row["line_description"], row["line_amount"])
        for row in rows
    ] == [("1", "Copy paper A4", "45.00"), ("2", "Toner cartridge black", "75.50")]
    assert rows[0]["line_quantity"] == "10" and rows[0]["line_unit_price"] == "4.5"
    assert rows[0]["line_item_code"] == "CP-500" and rows[0]["line_tax_rate"] == "19"
    assert {row["matched_purchase_order"] for row in rows} == {"PO-4711"}
    body = client.get(
        reverse("document-export", args=[document.public_id, "json"])
    ).json()
    assert body["lines"][1] == {
        "description": "Toner cartridge black",
        "quantity": "3",
        "unit_price": "25.166667",
        "amount": "75.50",
        "tax_rate": "19",
        "item_code": "",
    }


def test_ubl_has_an_invoice_line_per_line_and_stays_schema_valid(
    clerk: User, supervisor: User
) -> None:
    document = with_lines(approved_invoice(clerk))
    response = client_for(supervisor).get(
        reverse("document-export", args=[document.public_id, "ubl"])
    )
    root = etree.fromstring(response.content)
    schema("UBL-Invoice-2.1.xsd").assertValid(root)
    lines = root.findall(f"{{{CAC}}}InvoiceLine")
    assert [line.findtext(f"{{{CBC}}}LineExtensionAmount") for line in lines] == [
        "45.00",
        "75.50",
    ]
    assert lines[0].findtext(f"{{{CBC}}}InvoicedQuantity") == "10"
    assert (
        lines[0].findtext(
            f"{{{CAC}}}Item/{{{CAC}}}SellersItemIdentification/{{{CBC}}}ID"
        )
        == "CP-500"
    )


def test_batches_and_the_erp_api_carry_the_lines(
    clerk: User, supervisor: User, admin_user: User
) -> None:
    document = with_lines(approved_invoice(clerk))
    workbook = load_workbook(
        io.BytesIO(
            client_for(supervisor).get(reverse("export-batch", args=["xlsx"])).content
        )
    )
    lines = list(workbook["Lines"].values)
    assert lines[1][:4] == (str(document.public_id), 1, "Copy paper A4", 10)
    assert lines[2][5] == 75.5  # a number the sheet can sum
    (item,) = token_client(admin_user).get(EXPORTS).json()["results"]
    assert [line["description"] for line in item["lines"]] == [
        "Copy paper A4",
        "Toner cartridge black",
    ]
    assert item["lines"][0]["item_code"] == "CP-500"
