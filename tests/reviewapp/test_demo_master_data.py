"""The demo master data fits the demo documents: one clean invoice, one PO
mismatch, one duplicate and one bank-detail change, as the demo promises."""

from __future__ import annotations

import io
import json
import re
from datetime import date
from typing import Any

import pytest
from django.core.management import call_command

from pipeline.extract.normalize import normalize_date
from reviewapp import services
from reviewapp.demo import SPECS, render
from reviewapp.models import Document, Field, ValidationIssue

pytestmark = pytest.mark.django_db

DATE_CODES = {"invoice_date_too_old", "invoice_date_in_future"}


def fields_printed_on(spec: dict[str, Any]) -> dict[str, str]:
    """What a good extractor reads from a demo document."""
    meta = {label.rstrip(": #°").lower(): value for label, value in spec["meta"]}
    number = spec["meta"][0][1]  # every demo document prints its number first
    fields = {
        # PaddleOCR drops the spaces of the capitalised names on these pages.
        "vendor_name": spec["vendor"].replace(" ", "")
        if spec["vendor"].isupper()
        else spec["vendor"],
        "invoice_number": number,
        "invoice_date": normalize_date(
            next(v for k, v in meta.items() if "date" in k), day_first=True
        )
        or "",
        "currency": spec["currency"],
        "total_amount": f"{render(spec).total:.2f}",
    }
    if "po number" in meta:
        fields["po_number"] = meta["po number"]
    iban = re.search(r"IBAN ([A-Z0-9 ]+?)(?: -|$)", spec["footer"])
    if iban:
        fields["iban"] = iban[1].replace(" ", "")
    return fields


def demo_document(spec: dict[str, Any], order: int) -> Document:
    document = Document.objects.create(
        original_name=spec["file"],
        sha256=f"{order:064x}",
        content_type="image/png",
        size_bytes=1,
        channel=Document.Channel.UPLOAD,
        status=Document.Status.READY,
    )
    for name, value in fields_printed_on(spec).items():
        Field.objects.create(document=document, name=name, value=value)
    return document


def test_each_demo_document_meets_its_demo_case() -> None:
    call_command("load_demo", no_documents=True, stdout=io.StringIO())
    specs = {spec["file"]: spec for spec in json.loads(SPECS.read_text())}
    found: dict[str, set[str]] = {}
    for order, (name, spec) in enumerate(specs.items(), start=1):
        document = demo_document(spec, order)
        services.document_validate(document=document)
        found[name] = (
            set(
                ValidationIssue.objects.filter(document=document).values_list(
                    "code", flat=True
                )
            )
            - DATE_CODES
        )
    assert found["nordlicht-invoice-2026-0142.png"] == set()  # straight through
    assert found["kedai-receipt.jpg"] == set()
    assert found["harbor-supply-invoice-88412.pdf"] == {
        "po_amount_exceeded",
        "goods_not_received",
    }
    assert found["atelier-facture-FA-2026-311.tif"] == {"bank_details_changed"}
    assert found["nordlicht-invoice-2026-0142-scan.jpg"] == {"duplicate_invoice_number"}
    assert date.fromisoformat(
        fields_printed_on(specs["harbor-supply-invoice-88412.pdf"])["invoice_date"]
    ) == date(2026, 11, 4)
