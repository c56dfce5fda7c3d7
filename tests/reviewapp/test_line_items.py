"""Line items stored from real documents, fed to validation, and edited on the
grid through the services: rights, audit, re-validation, re-processing."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from pipeline.ocr.recorded import RecordedOcrEngine
from reviewapp import jobs
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document
from reviewapp.models.fields import LineItem
from reviewapp.models.master_data import (
    GoodsReceipt,
    PurchaseOrder,
    PurchaseOrderLine,
    Vendor,
)
from reviewapp.models.validation import ValidationIssue
from reviewapp.services.line_items import (
    LineItemRefused,
    line_item_add,
    line_item_delete,
    line_item_split,
    line_item_update,
)
from reviewapp.services.processing import document_reprocess
from reviewapp.services.review import ReviewRefused, document_claim, document_release
from reviewapp.services.validation import document_validate
from tests.conftest import DATASETS, make_document, make_line_item, processed_upload

pytestmark = pytest.mark.django_db

AKRETION = DATASETS / "misc-invoices" / "files" / "oca_akretion_france-test.pdf"
PHYSIO = next(
    (DATASETS / "zugferd-corpus" / "pdfs").glob("*EN16931_Physiotherapeut.pdf")
)


def processed(path: Path, user: User) -> Document:
    document = processed_upload(path.read_bytes(), name=path.name, uploaded_by=user)
    return document


def rows(document: Document) -> list[tuple[int, str, str, str, str, str]]:
    return [
        (
            line.position,
            line.description,
            line.item_code,
            str(line.quantity),
            str(line.unit_price),
            str(line.amount),
        )
        for line in document.line_items.order_by("position")
    ]


def codes(document: Document) -> list[str]:
    return list(
        ValidationIssue.objects.filter(document=document).values_list("code", flat=True)
    )


def test_processing_a_pdf_stores_its_lines_with_page_and_box(
    clerk: User, media_root: Path, recorded_ocr: type[RecordedOcrEngine]
) -> None:
    document = processed(AKRETION, clerk)
    assert rows(document) == [
        (1, "Whiteboard Pen", "CONS_0001", "15.000000", "100.000000", "1500.0000"),
        (2, "Screw", "CONS_25630", "45.000000", "0.200000", "9.0000"),
    ]
    first = document.line_items.get(position=1)
    assert first.page == document.pages.get(number=1)
    assert first.box is not None and first.source == "pdf_text"
    assert first.set_by == LineItem.SetBy.MACHINE
    assert first.machine_amount == Decimal("1500.0000")
    assert first.tax_rate == Decimal(20)
    # Two sound lines summing to the printed subtotal: no line issue.
    assert not {"line_amount_mismatch", "lines_do_not_sum"} & set(codes(document))


def test_an_e_invoice_stores_the_xml_lines_at_full_confidence(
    clerk: User, media_root: Path, recorded_ocr: type[RecordedOcrEngine]
) -> None:
    document = processed(PHYSIO, clerk)
    lines = list(document.line_items.order_by("position"))
    assert [(line.description, line.amount) for line in lines] == [
        ("Physiotherapie", Decimal("260.0000")),
        ("Hausbesuch", Decimal("120.0000")),
    ]
    assert {(line.source, line.confidence) for line in lines} == {("xml", 1.0)}


def test_fixing_a_line_amount_is_audited_and_re_validated(
    clerk: User, media_root: Path, recorded_ocr: type[RecordedOcrEngine]
) -> None:
    document = processed(AKRETION, clerk)
    screw = document.line_items.get(position=2)
    line_item_update(
        document=document,
        line_id=screw.pk,
        column="amount",
        value="19,00",
        user=clerk,
        reason="typo test",
    )
    assert "line_amount_mismatch" in codes(document)
    issue = ValidationIssue.objects.get(document=document, code="line_amount_mismatch")
    assert issue.fields[0].startswith("line_items[1].")
    line_item_update(
        document=document, line_id=screw.pk, column="amount", value="9.00", user=clerk
    )
    assert "line_amount_mismatch" not in codes(document)
    events = AuditEvent.objects.filter(
        event_type=AuditEvent.EventType.FIELD_CHANGED,
        document_public_id=document.public_id,
    ).order_by("sequence")
    first = events.first()
    assert first is not None
    assert first.details["field"] == "line_items[1].amount"
    assert (first.details["old_value"], first.details["new_value"]) == ("9.00", "19.00")
    assert first.details["machine_confidence"] == screw.machine_confidence
    assert first.details["reason"] == "typo test"
    assert first.actor_username == "clerk" and first.actor_role
    screw.refresh_from_db()
    assert screw.set_by == LineItem.SetBy.HUMAN and screw.corrected_by == clerk


def test_reprocessing_keeps_a_grid_a_person_has_edited(
    clerk: User, media_root: Path, recorded_ocr: type[RecordedOcrEngine]
) -> None:
    document = processed(AKRETION, clerk)
    pen = document.line_items.get(position=1)
    line_item_update(
        document=document,
        line_id=pen.pk,
        column="description",
        value="Pens",
        user=clerk,
    )
    document_release(document=document, user=clerk)
    assert document_reprocess(document=document)
    jobs.process_document(document.pk)
    document.refresh_from_db()
    assert [line.description for line in document.line_items.order_by("position")] == [
        "Pens",
        "Screw",
    ]
    pen.refresh_from_db()
    assert pen.machine_description == "Whiteboard Pen"


def test_only_the_claimant_may_edit_lines(
    clerk: User, other_clerk: User, outsider: User
) -> None:
    document = make_document(uploaded_by=clerk)
    line = make_line_item(document, 1, amount="5")
    document_claim(document=document, user=clerk)
    for user in (other_clerk, outsider):
        with pytest.raises(ReviewRefused):
            line_item_update(
                document=document,
                line_id=line.pk,
                column="amount",
                value="6",
                user=user,
            )
        with pytest.raises(ReviewRefused):
            line_item_add(document=document, user=user)
    line.refresh_from_db()
    assert line.amount == Decimal(5)


def test_a_bad_number_is_refused(clerk: User) -> None:
    document = make_document(uploaded_by=clerk)
    line = make_line_item(document, 1)
    with pytest.raises(LineItemRefused):
        line_item_update(
            document=document,
            line_id=line.pk,
            column="quantity",
            value="ten",
            user=clerk,
        )
    with pytest.raises(LineItemRefused):
        line_item_update(
            document=document,
            line_id=line.pk,
            column="tax_rate",
            value="190",
            user=clerk,
        )


def test_add_split_and_delete_keep_positions_and_amounts(clerk: User) -> None:
    document = make_document(uploaded_by=clerk)
    first = make_line_item(
        document, 1, "Bolts", quantity="10", unit_price="1.50", amount="15.00"
    )
    make_line_item(document, 2, "Nuts")
    added = line_item_add(document=document, user=clerk, after_line_id=first.pk)
    assert [line.description for line in document.line_items.all()] == [
        "Bolts",
        "",
        "Nuts",
    ]
    assert added.position == 2 and added.set_by == LineItem.SetBy.HUMAN
    one, two = line_item_split(
        document=document, line_id=first.pk, user=clerk, first_quantity="4"
    )
    assert (one.quantity, one.amount) == (Decimal(4), Decimal("6.0000"))
    assert (two.quantity, two.amount) == (Decimal(6), Decimal("9.0000"))
    assert two.position == 2 and two.description == "Bolts"
    line_item_delete(document=document, line_id=added.pk, user=clerk)
    assert [line.position for line in document.line_items.all()] == [1, 2, 3]
    actions = list(
        AuditEvent.objects.filter(
            event_type=AuditEvent.EventType.LINE_ITEMS_CHANGED
        ).values_list("details__action", flat=True)
    )
    assert actions == ["add", "split", "delete"]
    split = AuditEvent.objects.get(details__action="split")
    assert split.details["old_value"][0]["quantity"] == "10"
    assert [row["amount"] for row in split.details["new_value"]] == ["6.00", "9.00"]


def test_extracted_lines_are_matched_line_by_line_with_the_purchase_order(
    clerk: User,
) -> None:
    vendor = Vendor.objects.create(number="V-9", name="Akretion France", currency="EUR")
    order = PurchaseOrder.objects.create(number="PO-77", vendor=vendor, currency="EUR")
    pen = PurchaseOrderLine.objects.create(
        purchase_order=order,
        line_number="1",
        item_code="CONS_0001",
        description="Whiteboard Pen",
        quantity=Decimal(15),
        unit_price=Decimal("90.00"),
    )
    GoodsReceipt.objects.create(
        reference="GR-1",
        line=pen,
        quantity_received=Decimal(10),
        received_on="2022-09-20",
    )
    document = make_document(
        uploaded_by=clerk,
        fields={
            "vendor_name": ("Akretion France", 0.9),
            "po_number": ("PO-77", 0.9),
            "subtotal_amount": ("1500.00", 0.9),
        },
    )
    make_line_item(
        document,
        1,
        "Whiteboard Pen",
        quantity="15",
        unit_price="100",
        amount="1500",
        item_code="CONS_0001",
    )
    document_validate(document=document)
    issues = {
        issue.code: issue for issue in ValidationIssue.objects.filter(document=document)
    }
    assert issues["po_price_mismatch"].details["ordered_price"] == "90.00"
    assert issues["goods_not_received"].details["received"] == "10"


def test_a_split_keeps_part_of_the_quantity_on_each_line(clerk: User) -> None:
    document = make_document(uploaded_by=clerk)
    line = make_line_item(document, 1, quantity="3", amount="30")
    for first in ("3", "0", "-1", "7"):
        with pytest.raises(LineItemRefused):
            line_item_split(
                document=document, line_id=line.pk, user=clerk, first_quantity=first
            )
    one, two = line_item_split(document=document, line_id=line.pk, user=clerk)
    # No unit price: the amount is shared by quantity, and still adds up.
    assert (one.quantity, two.quantity) == (Decimal(1), Decimal(2))
    assert (one.amount, two.amount) == (Decimal(10), Decimal(20))
