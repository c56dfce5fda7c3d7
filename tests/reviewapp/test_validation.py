"""Validation in the product: after extraction and after every correction the
rules run on the document's fields against the master data, and the review
page shows each failing rule next to the fields involved."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from pytest_django.fixtures import Settings as SettingsWrapper

from reviewapp.models.configuration import ValidationRuleSetting
from reviewapp.models.documents import Document
from reviewapp.models.fields import Field
from reviewapp.models.master_data import (
    GoodsReceipt,
    PurchaseOrder,
    PurchaseOrderLine,
    Vendor,
)
from reviewapp.models.validation import DocumentValidation, ValidationIssue
from reviewapp.services.fields import field_correct
from reviewapp.services.validation import document_validate
from tests.conftest import make_document, processed_upload

pytestmark = pytest.mark.django_db

ACME_IBAN = "DE89370400440532013000"
CHANGED_IBAN = "DE02120300000000202051"


@pytest.fixture
def acme(db: None) -> Vendor:
    vendor = Vendor(
        number="V-1",
        name="ACME GmbH",
        ibans=[ACME_IBAN],
        country="DE",
        currency="EUR",
    )
    vendor.full_clean()
    vendor.save()
    return vendor


def process(content: bytes, name: str, clerk: User) -> Document:
    document = processed_upload(content, name=name, uploaded_by=clerk)
    return document


def codes(document: Document) -> list[str]:
    return list(
        ValidationIssue.objects.filter(document=document)
        .order_by("id")
        .values_list("code", flat=True)
    )


def as_jpeg(png: bytes) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def test_processing_validates_and_an_unknown_vendor_is_an_error(
    clerk: User, media_root: Path, invoice_png: bytes
) -> None:
    document = process(invoice_png, "acme.png", clerk)
    assert document.status == Document.Status.READY
    assert codes(document) == ["invoice_date_too_old", "vendor_unknown"]
    unknown = ValidationIssue.objects.get(document=document, code="vendor_unknown")
    assert unknown.severity == "error"
    assert unknown.rule == "vendor_known"
    assert unknown.fields == ["vendor_name", "vendor_vat_id", "iban"]
    assert unknown.message.startswith("“ACME GMBH” matches no vendor")
    validation = DocumentValidation.objects.get(document=document)
    assert validation.vendor is None and validation.document_type == "invoice"
    assert "bank_details_unchanged" in validation.rules_run
    assert len(validation.image_fingerprint) == 16


def test_a_known_vendor_is_matched_with_its_confidence(
    clerk: User, media_root: Path, invoice_png: bytes, acme: Vendor
) -> None:
    document = process(invoice_png, "acme.png", clerk)
    assert codes(document) == ["invoice_date_too_old"]
    validation = DocumentValidation.objects.get(document=document)
    assert validation.vendor == acme
    assert validation.vendor_match_method == "name"
    assert validation.vendor_match_confidence == 1.0


def test_a_changed_iban_puts_the_bank_detail_issue_on_the_review_page(
    clerk: User,
    supervisor: User,
    media_root: Path,
    invoice_png: bytes,
    acme: Vendor,
) -> None:
    document = process(invoice_png, "acme.png", clerk)
    # The IBAN as the extractor stores it: a machine value.
    Field.objects.create(
        document=document, name="iban", value=CHANGED_IBAN, confidence=0.97
    )
    document_validate(document=document)
    issue = ValidationIssue.objects.get(document=document, code="bank_details_changed")
    assert issue.needs_supervisor and issue.severity == "error"

    client = Client()
    client.force_login(supervisor)
    page = client.get(reverse("document-detail", args=[document.public_id]))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="validation-issues"' in html
    assert "The IBAN DE…2051 is new for ACME GmbH: it is not on the vendor master" in (
        html
    )
    assert "Second supervisor must approve" in html
    assert "Vendor on file: <strong>ACME GmbH</strong> (V-1)," in html
    assert "matched by name and address, 100 % sure" in html
    # The IBAN is listed on the page, so the check links to it.
    assert 'href="#field-iban" class="issue-field" data-field-link="iban">IBAN</a>' in (
        html
    )
    assert (
        CHANGED_IBAN
        not in html.split('id="validation-issues"')[1].split("</section>")[0]
    )


def test_a_correction_re_runs_the_checks_and_returns_them(
    clerk: User, media_root: Path, invoice_png: bytes, acme: Vendor
) -> None:
    document = process(invoice_png, "acme.png", clerk)
    client = Client()
    client.force_login(clerk)
    url = reverse("field-correct", args=[document.public_id, "invoice_date"])
    response = client.post(url, {"value": "16.09.2026"})
    assert response.status_code == 200
    body = response.json()
    assert codes(document) == []
    assert "All checks passed." in body["issues_html"]
    assert body["field_issues"] == {}

    url = reverse("field-correct", args=[document.public_id, "vendor_name"])
    body = client.post(url, {"value": "Globex Corporation"}).json()
    assert codes(document) == ["vendor_unknown"]
    assert "“Globex Corporation” matches no vendor" in body["issues_html"]
    assert body["field_issues"]["vendor_name"][0]["severity"] == "error"

    # The page shows the message inline, next to the vendor field.
    page = client.get(reverse("document-detail", args=[document.public_id]))
    vendor_item = page.content.decode().split('id="field-vendor_name"')[1]
    vendor_item = vendor_item.split('id="field-invoice_number"')[0]
    assert "field-issue field-issue-error" in vendor_item
    assert "matches no vendor" in vendor_item
    assert 'href="#field-vendor_name"' in page.content.decode()


def test_a_correction_keeps_page_one_s_fingerprint_without_decoding_the_page(
    clerk: User,
    media_root: Path,
    invoice_png: bytes,
    acme: Vendor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    document = process(invoice_png, "acme.png", clerk)
    kept = DocumentValidation.objects.get(document=document).image_fingerprint
    assert len(kept) == 16

    def decoded(image_bytes: bytes) -> int:
        raise AssertionError("page 1 decoded again for a correction")

    monkeypatch.setattr("reviewapp.selectors.validation.image_fingerprint", decoded)
    field_correct(
        document=document, name="invoice_date", value="16.09.2026", user=clerk
    )
    assert DocumentValidation.objects.get(document=document).image_fingerprint == kept

    # Reading the pages again fingerprints them again.
    monkeypatch.setattr(
        "reviewapp.selectors.validation.image_fingerprint", lambda _: 0xABC
    )
    document_validate(document=document, pages_just_read=True)
    validation = DocumentValidation.objects.get(document=document)
    assert validation.image_fingerprint == "0000000000000abc"


def test_validating_again_replaces_the_previous_issues(
    clerk: User, media_root: Path, invoice_png: bytes
) -> None:
    document = process(invoice_png, "acme.png", clerk)
    first = set(ValidationIssue.objects.filter(document=document).values_list("pk"))
    document_validate(document=document)
    document_validate(document=document)
    assert codes(document) == ["invoice_date_too_old", "vendor_unknown"]
    again = set(ValidationIssue.objects.filter(document=document).values_list("pk"))
    assert first.isdisjoint(again)
    assert DocumentValidation.objects.filter(document=document).count() == 1


def test_an_admin_can_switch_a_rule_off_per_document_type(
    clerk: User, media_root: Path, invoice_png: bytes
) -> None:
    document = process(invoice_png, "acme.png", clerk)
    ValidationRuleSetting.objects.create(
        document_type="invoice", rule="invoice_date_not_too_old", enabled=False
    )
    document_validate(document=document)
    assert codes(document) == ["vendor_unknown"]
    assert "invoice_date_not_too_old" not in document.validation.rules_run
    typo = ValidationRuleSetting(document_type="invoice", rule="vendor_knwon")
    with pytest.raises(ValidationError, match="No rule is called “vendor_knwon”"):
        typo.full_clean()


def test_the_same_invoice_scanned_again_is_a_duplicate_of_the_first(
    clerk: User, media_root: Path, invoice_png: bytes, acme: Vendor
) -> None:
    first = process(invoice_png, "acme.png", clerk)
    # Another file (a JPEG scan, so another SHA-256) with the same content.
    again = process(as_jpeg(invoice_png), "acme-scan.jpg", clerk)
    assert first.pk != again.pk
    assert "duplicate_invoice_number" not in codes(first)
    duplicate = ValidationIssue.objects.get(
        document=again, code="duplicate_invoice_number"
    )
    assert duplicate.details["document_id"] == str(first.public_id)
    assert "received by Browser upload" in duplicate.message


def test_a_po_mismatch_is_found_against_the_stored_purchase_order(
    clerk: User, media_root: Path, invoice_png: bytes, acme: Vendor
) -> None:
    document = process(invoice_png, "acme.png", clerk)
    order = PurchaseOrder.objects.create(number="PO-4711", vendor=acme, currency="EUR")
    line = PurchaseOrderLine.objects.create(
        purchase_order=order,
        line_number="10",
        description="Widgets",
        quantity=Decimal(10),
        unit_price=Decimal("10.00"),
    )
    GoodsReceipt.objects.create(
        reference="GR-1",
        line=line,
        quantity_received=Decimal(10),
        received_on=date(2019, 9, 10),
    )
    field_correct(document=document, name="po_number", value="po 4711", user=clerk)
    assert codes(document) == [
        "invoice_date_too_old",
        "po_amount_exceeded",
        "goods_not_received",
    ]
    assert document.validation.purchase_order == order
    client = Client()
    client.force_login(clerk)
    page = client.get(reverse("document-detail", args=[document.public_id]))
    assert "Purchase order: <strong>PO-4711</strong>" in page.content.decode()
    field_correct(document=document, name="total_amount", value="100.00", user=clerk)
    assert codes(document) == ["invoice_date_too_old"]


def test_earlier_documents_cost_no_query_each(
    clerk: User, media_root: Path, invoice_png: bytes, acme: Vendor
) -> None:
    document = process(invoice_png, "acme.png", clerk)

    def add_prior(number: int) -> None:
        prior = Document.objects.create(
            original_name=f"old-{number}.pdf",
            sha256=f"{number:064x}",
            content_type="application/pdf",
            size_bytes=1,
            channel="email",
            status=Document.Status.READY,
        )
        Field.objects.create(document=prior, name="invoice_number", value=f"{number}")
        Field.objects.create(document=prior, name="total_amount", value="99.00")
        DocumentValidation.objects.create(
            document=prior, vendor=acme, validated_at=timezone.now()
        )

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            document_validate(document=document)
        return len(captured)

    add_prior(1)
    with_one = queries()
    for number in range(2, 7):
        add_prior(number)
    assert queries() == with_one


def test_validate_documents_re_checks_after_master_data_changes(
    clerk: User, media_root: Path, invoice_png: bytes
) -> None:
    document = process(invoice_png, "acme.png", clerk)
    assert "vendor_unknown" in codes(document)
    Vendor.objects.create(number="V-1", name="Acme GmbH")
    out = io.StringIO()
    call_command("validate_documents", stdout=out)
    assert out.getvalue() == f"{document.public_id} acme.png: 0 errors, 1 warning\n"
    assert codes(document) == ["invoice_date_too_old"]
    unknown = "0" * 8 + "-0000-0000-0000-" + "0" * 12
    with pytest.raises(CommandError, match=f"not found or not ready: {unknown}"):
        call_command("validate_documents", unknown, stdout=io.StringIO())


def test_the_invoice_age_limit_comes_from_the_settings(
    clerk: User, media_root: Path, invoice_png: bytes, settings: SettingsWrapper
) -> None:
    settings.VOUCH_INVOICE_MAX_AGE_DAYS = 20 * 365
    document = process(invoice_png, "acme.png", clerk)
    assert codes(document) == ["vendor_unknown"]
    settings.VOUCH_INVOICE_MAX_AGE_DAYS = 730
    document_validate(document=document)
    assert codes(document) == ["invoice_date_too_old", "vendor_unknown"]


@pytest.mark.parametrize(
    ("classified", "confidence", "checked_as"),
    [
        ("receipt", 0.99, "receipt"),
        ("credit_note", 0.95, "credit_note"),
        ("receipt", 0.60, "invoice"),  # unsure: the strictest set
        ("", None, "invoice"),  # never classified
    ],
)
def test_the_rule_set_follows_the_classified_type_when_the_classifier_is_sure(
    clerk: User, classified: str, confidence: float | None, checked_as: str
) -> None:
    document = make_document(
        uploaded_by=clerk,
        fields={"vendor_name": ("Kedai Runcit", 0.9), "total_amount": ("47.30", 0.9)},
    )
    Document.objects.filter(pk=document.pk).update(
        document_type=classified, document_type_confidence=confidence
    )
    document.refresh_from_db()
    document_validate(document=document)
    validation = DocumentValidation.objects.get(document=document)
    assert validation.document_type == checked_as
    # A receipt's shop is not on the vendor master and has no purchase order.
    assert ("vendor_known" in validation.rules_run) is (checked_as != "receipt")
    assert ("two_way_match" in validation.rules_run) is (checked_as == "invoice")


def test_a_type_a_person_sets_wins_over_the_classifier(clerk: User) -> None:
    document = make_document(
        uploaded_by=clerk, fields={"document_type": ("credit_note", 1.0)}
    )
    Document.objects.filter(pk=document.pk).update(
        document_type="receipt", document_type_confidence=0.99
    )
    document.refresh_from_db()
    document_validate(document=document)
    assert document.validation.document_type == "credit_note"
