"""`make run`'s demo, read for real: the demo documents go through real Redis, a
real worker and real PaddleOCR (or the Factur-X XML), and each lands where its
case says, to be handled by the role that case needs."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import django_rq
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from reviewapp import roles
from reviewapp.models.documents import Document
from reviewapp.services.review import ReviewRefused, document_approve
from tests.browser.demo_cases import approve_bank_change
from tests.conftest import logged_in
from tests.reviewapp.test_worker_integration import run_worker_burst

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(settings, media_root: Path, tmp_path: Path) -> dict[str, Document]:  # type: ignore[no-untyped-def]
    settings.VAR_DIR = tmp_path
    # The demo invoices carry fixed dates; they must not age out of the
    # "absurdly old" window while this test lives.
    settings.VOUCH_INVOICE_MAX_AGE_DAYS = 100 * 365
    django_rq.get_queue("default").empty()
    call_command("load_demo", stdout=io.StringIO())
    run_worker_burst()
    return {document.original_name: document for document in Document.objects.all()}


def issue_codes(document: Document) -> set[str]:
    return set(document.validation_issues.values_list("code", flat=True))


def test_the_demo_shows_each_case_handled_by_the_right_role(
    demo: dict[str, Document],
) -> None:
    clerk = User.objects.get(username=roles.CLERK)
    supervisor = User.objects.get(username=roles.SUPERVISOR)

    # The e-invoice, emailed as a Factur-X PDF, is read from its XML and
    # approved with nobody touching it.
    einvoice = demo["nordlicht-invoice-2026-0142.pdf"]
    assert einvoice.channel == Document.Channel.EMAIL
    assert einvoice.status == Document.Status.APPROVED, einvoice.failure_reason
    assert einvoice.straight_through
    assert einvoice.document_type == "invoice"
    assert einvoice.document_type_confidence == 1.0
    assert einvoice.fields.get(name="total_amount").value == "756.60"
    lines = list(einvoice.line_items.order_by("position"))
    assert [(line.quantity, line.amount) for line in lines] == [
        (12, Decimal("298.80")),
        (3, Decimal("267.00")),
        (4, Decimal("70.00")),
    ]
    assert all(line.confidence == 1.0 for line in lines)  # from the XML
    assert issue_codes(einvoice) == set()

    # The scan of the same invoice, uploaded later, is caught as its duplicate.
    scan = demo["nordlicht-invoice-2026-0142-scan.jpg"]
    assert scan.status == Document.Status.ESCALATED
    assert scan.escalation_reason == "duplicate"
    assert "duplicate_invoice_number" in issue_codes(scan)

    # The PO mismatch goes to the supervisors with the PO's figures, line by
    # line: ten cases of gloves billed, eight ordered and eight received.
    mismatch = demo["harbor-supply-invoice-88412.pdf"]
    assert mismatch.status == Document.Status.ESCALATED
    assert mismatch.escalation_reason == "po_mismatch"
    assert {"po_quantity_mismatch", "goods_not_received"} <= issue_codes(mismatch)
    quantity = mismatch.validation_issues.get(code="po_quantity_mismatch")
    assert (quantity.details["ordered"], quantity.details["invoiced"]) == ("8", "10")
    assert mismatch.line_items.count() == 2
    assert mismatch.fields.get(name="po_number").value == "PO-55120"

    # The new IBAN is a bank-detail change: a clerk cannot approve it ...
    bank_change = demo["atelier-facture-FA-2026-311.tif"]
    assert bank_change.status == Document.Status.ESCALATED
    assert bank_change.escalation_reason == "bank_details"
    assert "bank_details_changed" in issue_codes(bank_change)
    with pytest.raises(ReviewRefused):
        document_approve(document=bank_change, user=clerk)
    # ... nor can a supervisor alone: one attests how the change was
    # verified with the vendor, another approves.
    with pytest.raises(ReviewRefused, match="attest how they verified"):
        document_approve(document=bank_change, user=supervisor)
    approve_bank_change(bank_change)
    bank_change.refresh_from_db()
    assert bank_change.status == Document.Status.APPROVED
    assert bank_change.decided_by == User.objects.get(username=roles.ADMIN)

    # The receipt has fields to check and waits for a clerk.
    receipt = demo["kedai-receipt.jpg"]
    assert receipt.status == Document.Status.READY
    assert receipt.document_type == "receipt"
    assert receipt.fields.get(name="total_amount").value == "47.30"


def test_each_demo_user_sees_their_work_in_their_queue(
    demo: dict[str, Document],
) -> None:
    clerk = User.objects.get(username=roles.CLERK)
    supervisor = User.objects.get(username=roles.SUPERVISOR)
    clerk_queue = queue_text(logged_in(clerk), "/queue/mine/")
    assert "kedai-receipt.jpg" in clerk_queue
    assert "atelier-facture-FA-2026-311.tif" not in clerk_queue
    exceptions = queue_text(logged_in(supervisor), "/queue/exceptions/")
    for name in (
        "atelier-facture-FA-2026-311.tif",
        "harbor-supply-invoice-88412.pdf",
        "nordlicht-invoice-2026-0142-scan.jpg",
    ):
        assert name in exceptions
    assert "nordlicht-invoice-2026-0142.pdf" not in exceptions


def queue_text(client: Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()
