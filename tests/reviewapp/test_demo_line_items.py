"""The demo's PO-mismatch invoice: its printed lines are read (real OCR), and
with them the purchase-order differences show line by line."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import call_command

from pipeline.extract import extractors
from pipeline.ocr import ocr_engines
from pipeline.run import run_pipeline
from reviewapp.demo.documents import SPECS, render
from reviewapp.models.fields import LineItem
from reviewapp.models.validation import ValidationIssue
from reviewapp.services.ingest import decode_limits
from reviewapp.services.validation import document_validate
from tests.reviewapp.test_demo_master_data import demo_document

pytestmark = pytest.mark.django_db

HARBOR = "harbor-supply-invoice-88412.pdf"


def harbor_spec() -> dict[str, object]:
    return next(
        spec for spec in json.loads(SPECS.read_text()) if spec["file"] == HARBOR
    )


def test_the_po_mismatch_shows_line_by_line_once_lines_are_read() -> None:
    call_command("load_demo", no_documents=True, stdout=io.StringIO())
    spec = harbor_spec()
    document = demo_document(spec, 3)
    for position, (description, quantity, price) in enumerate(spec["lines"], 1):  # type: ignore[arg-type]
        LineItem.objects.create(
            document=document,
            position=position,
            description=description,
            quantity=Decimal(quantity),
            unit_price=Decimal(price),
            amount=Decimal(price) * quantity,
        )
    document_validate(document=document)
    issues = {
        issue.code: issue for issue in ValidationIssue.objects.filter(document=document)
    }
    # Ten cases of gloves invoiced, eight ordered and eight received.
    ordered = issues["po_quantity_mismatch"]
    assert (ordered.details["ordered"], ordered.details["invoiced"]) == ("8", "10")
    assert ordered.fields[0] == "line_items[0].quantity"
    assert issues["goods_not_received"].details["received"] == "8"
    assert "po_amount_exceeded" not in issues  # the lines replace the net check


@pytest.mark.integration
def test_the_demo_invoice_lines_are_read_by_real_ocr() -> None:
    spec = harbor_spec()
    result = run_pipeline(
        render(spec).content,
        ocr=ocr_engines.get(settings.VOUCH_OCR_ENGINE),
        extractor=extractors.get(settings.VOUCH_EXTRACTOR),
        limits=decode_limits(),
    )
    assert [
        (line.quantity, line.unit_price, line.amount) for line in result.line_items
    ] == [
        (Decimal(10), Decimal("38.00"), Decimal("380.00")),
        (Decimal(6), Decimal("12.75"), Decimal("76.50")),
    ]
    assert result.line_items[0].description == "Nitrile gloves, medium (case)"
