"""Each document type shows its own fields; a field is flagged only when it is
below its threshold, a check names it, or it is required and missing; an
optional field that is absent can be confirmed "not on this document"."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from reviewapp.models.documents import Document
from reviewapp.models.fields import Field
from reviewapp.selectors.review_page import review_page
from reviewapp.services.validation import document_refresh_review_columns
from tests.conftest import logged_in, make_document

pytestmark = pytest.mark.django_db


@pytest.fixture
def receipt(clerk: User, settings) -> Document:  # type: ignore[no-untyped-def]
    settings.VOUCH_FLAG_BELOW_CONFIDENCE = 0.9
    document = make_document(
        uploaded_by=clerk,
        name="kedai-receipt.jpg",
        fields={
            "vendor_name": ("KEDAI RUNCIT MAJU JAYA SDN BHD", 0.74),
            "invoice_date": ("2026-10-21", 1.0),
            "total_amount": ("47.30", 0.97),
            "currency": ("MYR", 0.95),
            # A receipt number misread as an IBAN: not a receipt's field.
            "iban": ("OR18 1234 5678 0432", 0.64),
        },
    )
    Document.objects.filter(pk=document.pk).update(document_type="receipt")
    document.refresh_from_db()
    return document


def rows_by_name(document: Document) -> dict[str, object]:
    return {row.name: row for row in review_page(document)["fields"]}


def test_a_receipt_lists_receipt_fields_only(receipt: Document) -> None:
    rows = rows_by_name(receipt)
    assert "iban" not in rows and "bic" not in rows
    assert "po_number" not in rows and "due_date" not in rows
    assert "customer_name" not in rows
    assert rows["invoice_number"].label == "Receipt number"  # type: ignore[attr-defined]


def test_only_fields_below_their_threshold_or_named_by_a_check_are_flagged(
    receipt: Document,
) -> None:
    flagged = {name for name, row in rows_by_name(receipt).items() if row.flagged}  # type: ignore[attr-defined]
    # The vendor (0.74) is below the threshold; the date at 1.00, the total
    # and currency above it; the absent optional fields are not flagged.
    assert flagged == {"vendor_name"}


def test_an_absent_optional_field_is_confirmed_not_on_the_document(
    clerk: User, receipt: Document
) -> None:
    url = reverse("field-confirm", args=[receipt.public_id, "vendor_vat_id"])
    response = logged_in(clerk).post(url)
    assert response.status_code == 200
    assert response.json() == {"name": "vendor_vat_id", "value": "", "set_by": "human"}
    field = Field.objects.get(document=receipt, name="vendor_vat_id")
    assert field.set_by == Field.SetBy.HUMAN and field.value == ""
    html = logged_in(clerk).get(reverse("document-detail", args=[receipt.public_id]))
    assert "Not on this document" in html.content.decode()


def test_a_missing_required_field_cannot_be_confirmed_away(
    clerk: User, receipt: Document
) -> None:
    Field.objects.filter(document=receipt, name="total_amount").delete()
    url = reverse("field-confirm", args=[receipt.public_id, "total_amount"])
    response = logged_in(clerk).post(url)
    assert response.status_code == 409
    assert "Total is needed" in response.json()["error"]


def test_the_queue_reason_ignores_fields_outside_the_type(receipt: Document) -> None:
    Field.objects.filter(document=receipt, name="vendor_name").update(confidence=0.99)
    document_refresh_review_columns(document=receipt)
    receipt.refresh_from_db()
    # The 0.64 "IBAN" would make it low confidence; a receipt has none.
    assert receipt.review_reason == "routine"
