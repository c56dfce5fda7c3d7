"""The ERP's API: pull approved documents not exported yet, mark them exported
(idempotent), and push master data with a per-row report."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from reviewapp.masking import mask_value
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document
from reviewapp.models.master_data import PurchaseOrder, Vendor
from reviewapp.models.webhooks import WebhookDelivery, WebhookEndpoint
from tests.conftest import make_document
from tests.reviewapp.test_export_views import IBAN, approved_invoice

pytestmark = pytest.mark.django_db

EXPORTS = "/api/v1/exports/"


def token_client(user: User) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def mark_url(document: Document) -> str:
    return f"{EXPORTS}{document.public_id}/mark-exported/"


def test_the_erp_pulls_approved_documents_not_exported_yet(
    clerk: User, admin_user: User
) -> None:
    first = approved_invoice(clerk, "first.pdf")
    second = approved_invoice(clerk, "second.pdf")
    client = token_client(admin_user)
    page = client.get(EXPORTS, {"page_size": 1}).json()
    assert page["count"] == 2 and page["next"]
    (item,) = page["results"]
    assert item["id"] == str(first.public_id)
    assert item["fields"]["invoice_number"] == "INV-1001"
    assert item["fields"]["iban"] == IBAN  # an admin may reveal: in clear
    assert item["matched_vendor"] == {"id": "V-1", "name": "ACME GmbH"}
    assert item["matched_purchase_order"] == "PO-4711"
    assert item["exported_at"] is None
    assert client.get(page["next"]).json()["results"][0]["id"] == str(second.public_id)


def test_mark_exported_is_idempotent_and_announced_once(
    clerk: User, admin_user: User
) -> None:
    WebhookEndpoint.objects.create(
        name="ERP", url="http://127.0.0.1:9/", events=["document.exported"]
    )
    document = approved_invoice(clerk)
    client = token_client(admin_user)
    first = client.post(mark_url(document))
    assert first.status_code == 200, first.content
    again = client.post(mark_url(document))
    assert again.status_code == 200
    assert again.json() == first.json()
    assert first.json()["exported_by"] == "admin"
    document.refresh_from_db()
    assert document.exported_by == admin_user and document.exported_at
    assert WebhookDelivery.objects.filter(event="document.exported").count() == 1
    (marked,) = AuditEvent.objects.filter(event_type="document_marked_exported")
    assert marked.document_public_id == document.public_id
    assert marked.actor_username == "admin"
    assert client.get(EXPORTS).json()["count"] == 0


def test_each_pulled_page_is_recorded_as_an_api_export(
    clerk: User, admin_user: User
) -> None:
    first = approved_invoice(clerk, "first.pdf")
    approved_invoice(clerk, "second.pdf")
    token_client(admin_user).get(EXPORTS, {"page_size": 1})
    (pulled,) = AuditEvent.objects.filter(event_type="documents_exported")
    assert pulled.details["via"] == "api"
    assert pulled.details["documents"] == [str(first.public_id)]
    assert pulled.actor_username == "admin"


def test_a_document_not_approved_cannot_be_marked(
    clerk: User, admin_user: User
) -> None:
    document = make_document(uploaded_by=clerk)
    response = token_client(admin_user).post(mark_url(document))
    assert response.status_code == 404
    document.refresh_from_db()
    assert document.exported_at is None


def test_a_supervisors_pull_is_in_clear_a_clerk_may_not_pull(
    clerk: User, supervisor: User
) -> None:
    approved_invoice(clerk)
    assert token_client(clerk).get(EXPORTS).status_code == 403
    item = token_client(supervisor).get(EXPORTS).json()["results"][0]
    assert item["masked"] is False and item["fields"]["iban"] == IBAN
    assert mask_value(IBAN) != IBAN


def test_vendors_and_purchase_orders_are_pushed_with_a_report_per_row(
    admin_user: User, supervisor: User
) -> None:
    client = token_client(admin_user)
    vendors = [
        {"number": "V-7", "name": "Globex AG", "ibans": [IBAN], "country": "DE"},
        {"number": "V-8", "name": "Bad Bank", "ibans": ["DE00 1234"]},
    ]
    response = client.post("/api/v1/vendors/", vendors, format="json")
    assert response.status_code == 200, response.content
    report = response.json()
    assert report["summary"] == "1 created, 0 updated, 0 unchanged, 1 rejected"
    rejected = report["rows"][1]
    assert rejected["outcome"] == "rejected" and rejected["row"] == 2
    assert "IBAN" in rejected["reasons"][0]
    assert Vendor.objects.get(number="V-7").ibans == [IBAN]

    vendors[0]["name"] = "Globex Aktiengesellschaft"
    again = client.put("/api/v1/vendors/", vendors[:1], format="json").json()
    assert again["rows"][0]["outcome"] == "updated"

    orders = [
        {
            "number": "PO-9",
            "vendor": "V-7",
            "currency": "EUR",
            "lines": [
                {"line": "10", "description": "Paper", "quantity": "5",
                 "unit_price": "4.00"},
            ],
        }
    ]  # fmt: skip
    pushed = client.post("/api/v1/purchase-orders/", orders, format="json").json()
    assert pushed["rows"][0]["outcome"] == "created", pushed
    assert PurchaseOrder.objects.get(number="PO-9").lines.count() == 1
    # Supervisors read master data; they do not change it.
    refused = token_client(supervisor).post("/api/v1/vendors/", vendors, format="json")
    assert refused.status_code == 403


def test_a_body_that_is_not_a_list_is_explained(admin_user: User) -> None:
    response = token_client(admin_user).post(
        "/api/v1/vendors/", {"number": "V-1", "extra": "x"}, format="json"
    )
    assert response.status_code == 400
    assert "expected a list of records" in response.json()["error"]
