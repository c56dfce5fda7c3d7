"""Exports of approved documents: per document (CSV, JSON, UBL) from the review
page, batches (CSV, JSON, XLSX) from the Export page; masked for clerks."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from lxml import etree
from openpyxl import load_workbook

from reviewapp.masking import mask_value
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document
from reviewapp.models.master_data import PurchaseOrder, Vendor
from reviewapp.models.validation import DocumentValidation
from reviewapp.models.webhooks import WebhookDelivery, WebhookEndpoint
from reviewapp.selectors.review_page import unconfirmed_flagged_fields
from reviewapp.services.exports import document_mark_exported
from reviewapp.services.fields import field_confirm
from reviewapp.services.review import document_approve, document_claim
from tests.conftest import make_document

pytestmark = pytest.mark.django_db

IBAN = "DE89370400440532013000"
FIELDS = {
    "vendor_name": ("ACME GmbH", 0.5),
    "invoice_number": ("INV-1001", 0.99),
    "invoice_date": ("2026-11-20", 0.99),
    "total_amount": ("120.50", 0.99),
    "currency": ("EUR", 0.99),
    "iban": (IBAN, 0.99),
}


def approved_invoice(clerk: User, name: str = "acme.pdf") -> Document:
    """A document a clerk claimed and approved, matched to vendor V-1 and PO-4711."""
    vendor, _ = Vendor.objects.get_or_create(
        number="V-1", defaults={"name": "ACME GmbH", "ibans": [IBAN]}
    )
    order, _ = PurchaseOrder.objects.get_or_create(
        number="PO-4711", defaults={"vendor": vendor, "currency": "EUR"}
    )
    document = make_document(uploaded_by=clerk, fields=FIELDS, name=name)
    DocumentValidation.objects.create(
        document=document,
        vendor=vendor,
        purchase_order=order,
        document_type="invoice",
        validated_at=timezone.now(),
    )
    document_claim(document=document, user=clerk)
    # The clerk confirms what is flagged, as approval requires.
    for flagged, _ in unconfirmed_flagged_fields(document.pk):
        field_confirm(document=document, name=flagged, user=clerk)
    return document_approve(document=document, user=clerk)


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def csv_rows(response) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_a_human_approval_publishes_the_export_json(clerk: User) -> None:
    endpoint = WebhookEndpoint.objects.create(
        name="ERP", url="http://127.0.0.1:9/", events=["document.approved"]
    )
    document = approved_invoice(clerk)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.payload["id"] == str(document.public_id)
    assert delivery.payload["approved_by"] == "clerk"
    # A clerk's approval sends it to a receiver nobody checked for the right
    # to see values: masked, like every way out; the ERP pulls the clear
    # account through the export API with a role that may reveal it.
    assert delivery.payload["fields"]["iban"] == mask_value(IBAN)
    assert delivery.payload["masked"] is True
    assert IBAN not in json.dumps(delivery.payload)
    assert delivery.payload["matched_purchase_order"] == "PO-4711"


def test_a_clerks_csv_masks_sensitive_values_a_supervisors_does_not(
    clerk: User, supervisor: User
) -> None:
    document = approved_invoice(clerk)
    url = reverse("document-export", args=[document.public_id, "csv"])
    response = client_for(clerk).get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert (
        f'filename="vouch-{document.public_id}.csv"' in response["Content-Disposition"]
    )
    (row,) = csv_rows(response)
    assert row["invoice_number"] == "INV-1001"
    assert row["total_amount"] == "120.50"
    assert row["matched_vendor_id"] == "V-1"
    assert row["matched_purchase_order"] == "PO-4711"
    assert row["iban"] == mask_value(IBAN)
    assert IBAN not in row["iban"]
    (clear,) = csv_rows(client_for(supervisor).get(url))
    assert clear["iban"] == IBAN


def test_json_and_ubl_per_document(clerk: User, supervisor: User) -> None:
    document = approved_invoice(clerk)
    client = client_for(supervisor)
    body = client.get(
        reverse("document-export", args=[document.public_id, "json"])
    ).json()
    assert body["fields"]["invoice_number"] == "INV-1001"
    assert body["matched_vendor"] == {"id": "V-1", "name": "ACME GmbH"}
    assert body["approved_by"] == "clerk" and body["masked"] is False
    xml = client.get(reverse("document-export", args=[document.public_id, "ubl"]))
    assert xml["Content-Type"] == "application/xml"
    root = etree.fromstring(xml.content)
    assert etree.QName(root).localname == "Invoice"
    cbc = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
    assert root.findtext(f"{{{cbc}}}ID") == "INV-1001"


def test_a_document_not_approved_is_not_exported(clerk: User) -> None:
    document = make_document(uploaded_by=clerk, fields=FIELDS)
    url = reverse("document-export", args=[document.public_id, "csv"])
    assert client_for(clerk).get(url).status_code == 404


def test_the_review_page_of_an_approved_document_offers_its_exports(
    clerk: User,
) -> None:
    document = approved_invoice(clerk)
    html = (
        client_for(clerk)
        .get(reverse("document-detail", args=[document.public_id]))
        .content.decode()
    )
    assert 'id="export-buttons"' in html
    for fmt in ("csv", "json", "ubl"):
        assert reverse("document-export", args=[document.public_id, fmt]) in html


def test_batches_filter_by_approval_date_and_export_state(
    clerk: User, supervisor: User
) -> None:
    first = approved_invoice(clerk, "first.pdf")
    second = approved_invoice(clerk, "second.pdf")
    Document.objects.filter(pk=first.pk).update(
        decided_at=timezone.now() - timedelta(days=10)
    )
    document_mark_exported(document=second, user=supervisor)
    client = client_for(supervisor)
    today = timezone.localdate().isoformat()

    def names(fmt: str, **query: str) -> list[str]:
        response = client.get(reverse("export-batch", args=[fmt]), query)
        assert response.status_code == 200
        if fmt == "csv":
            return [row["file_name"] for row in csv_rows(response)]
        if fmt == "json":
            content = b"".join(response.streaming_content)
            return [item["file_name"] for item in json.loads(content)]
        sheet = load_workbook(io.BytesIO(response.content))["Documents"]
        return [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]

    assert names("csv") == ["first.pdf", "second.pdf"]
    assert names("csv", approved_from=today) == ["second.pdf"]
    assert names("json", exported="no") == ["first.pdf"]
    assert names("xlsx", exported="yes", approved_to=today) == ["second.pdf"]


def test_the_export_page_is_for_supervisors_and_admins(
    clerk: User, supervisor: User
) -> None:
    approved_invoice(clerk)
    assert client_for(clerk).get(reverse("export")).status_code == 403
    page = client_for(supervisor).get(reverse("export"))
    html = page.content.decode()
    assert page.status_code == 200
    # Not exported yet is the default: what the ERP has not taken.
    assert "<strong>1</strong> approved document matches" in html
    assert reverse("export-batch", args=["xlsx"]) + "?exported=no" in html
    assert "acme.pdf" in html and "clerk" in html


def test_a_reversed_date_range_is_explained(supervisor: User) -> None:
    client = client_for(supervisor)
    query = {"approved_from": "2026-11-20", "approved_to": "2026-11-01"}
    page = client.get(reverse("export"), query)
    assert "swap the dates" in page.content.decode()
    batch = client.get(reverse("export-batch", args=["csv"]), query)
    assert batch.status_code == 400
    assert "swap the dates" in batch.content.decode()


def test_every_export_is_an_audit_event_naming_its_documents(
    clerk: User, supervisor: User
) -> None:
    first = approved_invoice(clerk, "first.pdf")
    second = approved_invoice(clerk, "second.pdf")
    events = AuditEvent.objects.filter(event_type="documents_exported")

    client_for(clerk).get(reverse("document-export", args=[first.public_id, "csv"]))
    (single,) = events.all()
    assert single.actor_username == clerk.username
    assert single.document_public_id == first.public_id
    assert single.details["format"] == "csv"
    assert single.details["documents"] == [str(first.public_id)]
    assert single.details["sensitive_values"] == "masked"

    response = client_for(supervisor).get(
        reverse("export-batch", args=["xlsx"]), {"exported": "no"}
    )
    assert response.status_code == 200
    batch = events.latest("sequence")
    assert batch.actor_username == supervisor.username
    assert batch.details["via"] == "browser"
    assert batch.details["count"] == 2
    assert set(batch.details["documents"]) == {
        str(first.public_id),
        str(second.public_id),
    }
    assert batch.details["sensitive_values"] == "in clear"


def test_an_unknown_format_is_not_recorded_as_an_export(clerk: User) -> None:
    document = approved_invoice(clerk)
    url = reverse("document-export", args=[document.public_id, "pdf"])
    assert client_for(clerk).get(url).status_code == 404
    assert not AuditEvent.objects.filter(event_type="documents_exported").exists()
