"""The review page's line-item grid over HTTP: first paint, cell edits, rows
added, split and deleted, each answered with the grid and the checks."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from reviewapp.models.documents import Document
from reviewapp.models.fields import LineItem
from reviewapp.services.review import document_claim
from reviewapp.services.validation import document_validate
from tests.conftest import logged_in, make_document, make_line_item

pytestmark = pytest.mark.django_db


def invoice(clerk: User) -> tuple[Document, LineItem]:
    document = make_document(
        uploaded_by=clerk, fields={"subtotal_amount": ("24.50", 0.99)}
    )
    make_line_item(
        document, 1, "Widget", quantity="3", unit_price="4.50", amount="13.50"
    )
    gadget = make_line_item(
        document, 2, "Gadget", quantity="2", unit_price="5.00", amount="11.00"
    )
    document_validate(document=document)
    return document, gadget


def test_the_review_page_shows_the_grid_with_the_row_check(clerk: User) -> None:
    document, _ = invoice(clerk)
    html = (
        logged_in(clerk)
        .get(reverse("document-detail", args=[document.public_id]))
        .content.decode()
    )
    assert 'id="line-items"' in html
    assert 'aria-label="Line 2 amount"' in html
    assert "2 × 5 = 10.00, not 11.00" in html
    assert "line_items.js" in html
    assert "Lines total <strong>24.50</strong>" in html


def test_a_reader_sees_the_lines_without_inputs(clerk: User, supervisor: User) -> None:
    document, _ = invoice(clerk)
    document_claim(document=document, user=clerk)
    html = (
        logged_in(supervisor)
        .get(reverse("document-detail", args=[document.public_id]))
        .content.decode()
    )
    assert "Gadget" in html and 'aria-label="Line 2 amount"' not in html
    assert "Add line" not in html


def test_a_cell_edit_answers_with_the_grid_and_cleared_checks(clerk: User) -> None:
    document, gadget = invoice(clerk)
    client = logged_in(clerk)
    response = client.post(
        reverse("line-item-update", args=[document.public_id, gadget.pk]),
        {"column": "amount", "value": "10,00", "reason": "misread"},
    )
    assert response.status_code == 200
    body = response.json()
    assert "not 11.00" not in body["grid_html"]
    assert body["rows"][1]["amount"] == "10.00"
    assert body["rows"][1]["arithmetic_ok"] is True
    assert "Line 2 (Gadget)" not in body["issues_html"]


def test_a_bad_value_and_a_foreign_line_are_refused(
    clerk: User, other_clerk: User
) -> None:
    document, gadget = invoice(clerk)
    other, _ = invoice(clerk)
    client = logged_in(clerk)
    bad = client.post(
        reverse("line-item-update", args=[document.public_id, gadget.pk]),
        {"column": "quantity", "value": "two"},
    )
    assert bad.status_code == 400 and "not a number" in bad.json()["error"]
    foreign = client.post(
        reverse("line-item-update", args=[other.public_id, gadget.pk]),
        {"column": "amount", "value": "1"},
    )
    assert foreign.status_code == 404
    # Someone else holds the claim: refused with the reason.
    document_claim(document=document, user=other_clerk)
    held = client.post(
        reverse("line-item-add", args=[document.public_id]), {"reason": "x"}
    )
    assert held.status_code == 409 and "other_clerk" in held.json()["error"]


def test_rows_are_added_split_and_deleted_over_http(clerk: User) -> None:
    document, gadget = invoice(clerk)
    client = logged_in(clerk)
    added = client.post(reverse("line-item-add", args=[document.public_id]), {})
    assert [row["description"] for row in added.json()["rows"]] == [
        "Widget",
        "Gadget",
        "",
    ]
    split = client.post(
        reverse("line-item-split", args=[document.public_id, gadget.pk])
    )
    assert [row["quantity"] for row in split.json()["rows"]][1:3] == ["1", "1"]
    new_line = added.json()["rows"][2]["id"]
    deleted = client.post(
        reverse("line-item-delete", args=[document.public_id, new_line])
    )
    assert [row["position"] for row in deleted.json()["rows"]] == [1, 2, 3]


def test_a_line_read_with_low_confidence_is_flagged(clerk: User) -> None:
    document, gadget = invoice(clerk)
    LineItem.objects.filter(pk=gadget.pk).update(confidence=0.55)
    html = (
        logged_in(clerk)
        .get(reverse("document-detail", args=[document.public_id]))
        .content.decode()
    )
    assert html.count("line-flagged") == 1
    assert "read with confidence 0.55, please check" in html
