"""A document's confidence: the estimated chance that every value read from it
is right, from its fields' calibrated confidences."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from reviewapp.models.documents import Document
from reviewapp.review_reasons import document_confidence
from reviewapp.services.fields import field_correct
from reviewapp.services.review import document_claim
from reviewapp.services.validation import document_refresh_review_columns
from tests.conftest import logged_in, make_document

pytestmark = pytest.mark.django_db

KEYS = {
    "vendor_name": ("ACME GmbH", 0.9),
    "invoice_date": ("2026-03-01", 0.8),
    "total_amount": ("10.00", 0.5),
}


def test_it_is_the_product_of_the_field_confidences() -> None:
    fields = [(name, value, confidence) for name, (value, confidence) in KEYS.items()]
    assert document_confidence(fields) == pytest.approx(0.9 * 0.8 * 0.5)
    # A value a person set counts as certain; an empty field does not count.
    assert document_confidence(
        [*fields[:2], ("total_amount", "10.00", None), ("iban", "", 0.1)]
    ) == pytest.approx(0.72)


def test_a_missing_key_field_makes_it_zero() -> None:
    assert document_confidence([("vendor_name", "ACME", 1.0)]) == 0.0


def test_a_correction_raises_it_and_the_least_sure_come_first(clerk: User) -> None:
    unsure = make_document(uploaded_by=clerk, fields=KEYS, name="unsure.pdf")
    sure = make_document(
        uploaded_by=clerk,
        fields={name: (value, 0.99) for name, (value, _) in KEYS.items()},
        name="sure.pdf",
    )
    assert unsure.confidence == pytest.approx(0.36)
    assert sure.confidence == pytest.approx(0.99**3)

    client = logged_in(clerk)
    page = client.get(reverse("queue", args=["mine"]), {"sort": "least_sure"})
    assert [d.original_name for d in page.context["documents"]] == [
        "unsure.pdf",
        "sure.pdf",
    ]

    document_claim(document=unsure, user=clerk)
    field_correct(document=unsure, name="total_amount", value="10.00", user=clerk)
    unsure.refresh_from_db()
    assert unsure.confidence == pytest.approx(0.72)
    html = client.get(reverse("document-detail", args=[unsure.public_id])).content
    assert b'id="document-confidence"' in html
    assert "chance all values are right: 72 %" in html.decode()


def test_refreshing_the_review_columns_recomputes_it() -> None:
    document = make_document(fields=KEYS)
    Document.objects.filter(pk=document.pk).update(confidence=None)
    document_refresh_review_columns(document=document)
    document.refresh_from_db()
    assert document.confidence == pytest.approx(0.36)
