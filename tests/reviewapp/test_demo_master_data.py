"""The demo master data fits the demo documents: one clean invoice, one PO
mismatch, one duplicate and one bank-detail change, as the demo promises."""

from __future__ import annotations

import io
import json
import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command

from pipeline.extract.normalize import normalize_date
from reviewapp import routing
from reviewapp.demo.documents import SPECS, render
from reviewapp.models.documents import Document
from reviewapp.models.fields import Field
from reviewapp.models.validation import ValidationIssue
from reviewapp.services.validation import document_validate
from reviewapp.thresholds import review_thresholds

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
        document_validate(document=document)
        found[name] = (
            set(
                ValidationIssue.objects.filter(document=document).values_list(
                    "code", flat=True
                )
            )
            - DATE_CODES
        )
    assert found["nordlicht-invoice-2026-0142.pdf"] == set()  # straight through
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


def test_each_demo_document_goes_to_the_role_its_case_needs(settings) -> None:  # type: ignore[no-untyped-def]
    """Read as printed and fully sure (what a good extractor gives), the clean
    invoice is approved straight through, the receipt waits for a clerk, and
    the PO mismatch, the bank-detail change and the duplicate go to the
    supervisors with their check as the reason."""
    call_command("load_demo", no_documents=True, stdout=io.StringIO())
    routes = {}
    for order, spec in enumerate(json.loads(SPECS.read_text()), start=1):
        document = demo_document(spec, order)
        # What the classifier says (the lead wires it into the job).
        Field.objects.create(
            document=document, name="document_type", value=spec["kind"]
        )
        document_validate(document=document)
        decision = routing.route_for(
            document_type=document.validation.document_type,
            fields=document.fields.values_list("name", "value", "confidence"),
            issues=document.validation_issues.exclude(code__in=DATE_CODES),
            flag_below=review_thresholds(),
            straight_through_types=settings.VOUCH_STRAIGHT_THROUGH_DOCUMENT_TYPES,
            straight_through_max_amount=Decimal(
                settings.VOUCH_STRAIGHT_THROUGH_MAX_AMOUNT
            ),
        )
        routes[spec["file"]] = (decision.destination, decision.escalation_reason)
    assert routes == {
        "nordlicht-invoice-2026-0142.pdf": (routing.APPROVE, ""),
        "kedai-receipt.jpg": (routing.CLERKS, ""),
        "harbor-supply-invoice-88412.pdf": (routing.SUPERVISORS, "po_mismatch"),
        "atelier-facture-FA-2026-311.tif": (routing.SUPERVISORS, "bank_details"),
        "nordlicht-invoice-2026-0142-scan.jpg": (routing.SUPERVISORS, "duplicate"),
    }
