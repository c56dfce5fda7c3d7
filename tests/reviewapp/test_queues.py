"""Review queues over HTTP: who sees which queue, filters, counts, and a
constant number of SQL queries per page."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper

from reviewapp.models.documents import Document
from reviewapp.selectors.queues import next_in_queue
from reviewapp.services.fields import field_correct
from reviewapp.services.review import document_claim, document_escalate
from tests.conftest import logged_in, make_document

pytestmark = pytest.mark.django_db

CONFIDENT = {
    "vendor_name": ("ACME GmbH", 0.99),
    "invoice_date": ("2026-03-01", 0.99),
    "total_amount": ("10.00", 0.99),
}


def queue_names(client: Client, queue: str = "mine", **params: str) -> list[str]:
    response = client.get(reverse("queue", args=[queue]), params)
    assert response.status_code == 200
    return [document.original_name for document in response.context["documents"]]


def aged(document: Document, minutes: int) -> Document:
    Document.objects.filter(pk=document.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes)
    )
    return document


def test_my_queue_holds_what_waits_for_me_oldest_first(
    clerk: User, other_clerk: User
) -> None:
    aged(make_document(name="new.pdf"), 1)
    aged(make_document(name="old.pdf"), 60)
    mine = aged(make_document(name="mine.pdf"), 30)
    document_claim(document=mine, user=clerk)
    theirs = aged(make_document(name="theirs.pdf"), 20)
    document_claim(document=theirs, user=other_clerk)
    expired = aged(make_document(name="expired.pdf"), 10)
    document_claim(document=expired, user=other_clerk)
    Document.objects.filter(pk=expired.pk).update(
        claim_expires_at=timezone.now() - timedelta(minutes=1)
    )
    make_document(name="escalated.pdf", status=Document.Status.ESCALATED)
    make_document(name="approved.pdf", status=Document.Status.APPROVED)
    make_document(name="processing.pdf", status=Document.Status.PROCESSING)

    assert queue_names(logged_in(clerk)) == [
        "old.pdf",
        "mine.pdf",
        "expired.pdf",
        "new.pdf",
    ]
    assert "theirs.pdf" in queue_names(logged_in(other_clerk))
    assert queue_names(logged_in(clerk), sort="newest")[0] == "new.pdf"


def test_the_queue_filters_by_vendor_and_reason_and_counts_reasons(
    clerk: User, settings: SettingsWrapper
) -> None:
    # One threshold for all fields, so "confident" means 0.99 whatever the
    # calibration says of each field.
    settings.VOUCH_FLAG_BELOW_CONFIDENCE = 0.9
    make_document(name="acme.pdf", fields=CONFIDENT)
    make_document(
        name="unsure.pdf",
        fields={**CONFIDENT, "vendor_name": ("Globex", 0.4)},
    )
    make_document(name="no-total.pdf", fields={"vendor_name": ("Globex", 0.99)})
    client = logged_in(clerk)
    assert sorted(queue_names(client, vendor="glob")) == ["no-total.pdf", "unsure.pdf"]
    # The start of the name in any case, along the vendor index: not a part
    # from its middle.
    assert sorted(queue_names(client, vendor="GLOBEX")) == [
        "no-total.pdf",
        "unsure.pdf",
    ]
    assert queue_names(client, vendor="lobex") == []
    assert queue_names(client, reason="low_confidence") == ["unsure.pdf"]
    assert queue_names(client, reason="missing_fields") == ["no-total.pdf"]
    response = client.get(reverse("queue", args=["mine"]))
    assert response.context["reason_counts"] == [
        ("missing_fields", "Key field missing", 1),
        ("low_confidence", "Low confidence", 1),
        ("routine", "Routine check", 1),
    ]
    assert response.context["page_obj"].paginator.count == 3


def escalated(document: Document, *, by: User) -> Document:
    document_claim(document=document, user=by)
    document_escalate(
        document=document,
        user=by,
        reason=Document.EscalationReason.BANK_DETAILS,
        note="",
    )
    return document


def test_the_exception_queue_is_for_supervisors(clerk: User, supervisor: User) -> None:
    escalated(make_document(name="odd.pdf"), by=clerk)
    assert queue_names(logged_in(supervisor), "exceptions") == ["odd.pdf"]
    assert (
        logged_in(clerk).get(reverse("queue", args=["exceptions"])).status_code == 403
    )
    assert logged_in(clerk).get(reverse("queue", args=["overview"])).status_code == 403
    page = logged_in(supervisor).get(reverse("queue", args=["exceptions"]))
    assert "Bank details differ" in page.content.decode()


def test_each_row_says_its_reason_in_words(clerk: User, supervisor: User) -> None:
    unsure = make_document(name="unsure-type.pdf", fields=CONFIDENT)
    Document.objects.filter(pk=unsure.pk).update(review_reason="unsure_type")
    routed = make_document(name="po.pdf", status=Document.Status.ESCALATED)
    Document.objects.filter(pk=routed.pk).update(escalation_reason="po_mismatch")
    mine = logged_in(clerk).get(reverse("queue", args=["mine"])).content.decode()
    assert "Document type unsure" in mine
    exceptions = logged_in(supervisor).get(reverse("queue", args=["exceptions"]))
    html = exceptions.content.decode()
    assert "Does not match its purchase order" in html
    assert "po_mismatch</td>" not in html and "two_way_match" not in html


def test_the_overview_counts_every_status_for_the_admin(admin_user: User) -> None:
    make_document(name="a.pdf")
    make_document(name="b.pdf")
    make_document(name="c.pdf", status=Document.Status.APPROVED)
    make_document(name="d.pdf", status=Document.Status.FAILED)
    response = logged_in(admin_user).get(reverse("queue", args=["overview"]))
    assert response.status_code == 200
    assert {
        status: count for status, _, count in response.context["status_counts"]
    } == {
        "approved": 1,
        "failed": 1,
        "ready": 2,
    }
    assert len(response.context["documents"]) == 4
    # A decided document is not listed under a reason to review it.
    reasons = {reason: count for reason, _, count in response.context["reason_counts"]}
    assert reasons["decided"] == 1
    approved = next(
        d for d in response.context["documents"] if d.pk and d.status == "approved"
    )
    assert approved.reason_label == "Decided"


def test_a_reason_the_status_gives_wins_over_the_kept_one(
    admin_user: User, settings: SettingsWrapper
) -> None:
    settings.VOUCH_FLAG_BELOW_CONFIDENCE = 0.9
    make_document(name="waiting.pdf", fields=CONFIDENT)
    decided = make_document(name="decided.pdf", status=Document.Status.APPROVED)
    escalated_once = make_document(name="odd.pdf", status=Document.Status.ESCALATED)
    # Both were unsure when read: that reason is no longer theirs.
    Document.objects.filter(pk__in=[decided.pk, escalated_once.pk]).update(
        review_reason="low_confidence"
    )
    client = logged_in(admin_user)
    assert queue_names(client, "overview", reason="decided") == ["decided.pdf"]
    assert queue_names(client, "overview", reason="escalated") == ["odd.pdf"]
    assert queue_names(client, "overview", reason="low_confidence") == []
    response = client.get(reverse("queue", args=["overview"]), {"reason": "decided"})
    reasons = {reason: count for reason, _, count in response.context["reason_counts"]}
    assert reasons == {"escalated": 1, "routine": 1, "decided": 1}
    # The status counts, like the reason counts, leave the reason filter out.
    statuses = {status: count for status, _, count in response.context["status_counts"]}
    assert statuses == {"approved": 1, "escalated": 1, "ready": 1}
    assert response.context["page_obj"].paginator.count == 1


def test_a_claimed_document_keeps_its_place_in_the_queue(clerk: User) -> None:
    document = make_document(name="held.pdf")
    assert Document.objects.get(pk=document.pk).queue_status == "ready"
    document_claim(document=document, user=clerk)
    assert Document.objects.get(pk=document.pk).queue_status == "ready"
    assert queue_names(logged_in(clerk)) == ["held.pdf"]


def test_a_user_without_a_role_has_no_queue(outsider: User) -> None:
    assert logged_in(outsider).get(reverse("queue", args=["mine"])).status_code == 403


@pytest.mark.parametrize("queue", ["mine", "overview"])
def test_a_queue_page_costs_the_same_queries_at_any_size(
    admin_user: User, queue: str
) -> None:
    client = logged_in(admin_user)

    def queries_for_a_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("queue", args=[queue])).status_code == 200
        return len(captured.captured_queries)

    # The first request after signing in refreshes the session's idle clock (a
    # write at most once a minute): not a cost of the page.
    queries_for_a_page()
    for _ in range(2):
        make_document(fields=CONFIDENT, uploaded_by=admin_user)
    small = queries_for_a_page()
    for index in range(30):
        document = make_document(fields=CONFIDENT, uploaded_by=admin_user)
        if index % 3 == 0:
            document_claim(document=document, user=admin_user)
    large = queries_for_a_page()
    print(f"{queue} queue page: {small} queries with 2 documents, {large} with 32")
    assert small == large


def test_a_queue_row_is_served_only_while_in_that_queue(
    clerk: User, other_clerk: User
) -> None:
    document = make_document(name="row.pdf")
    url = reverse("queue-row", args=["mine", document.public_id])
    assert "row.pdf" in logged_in(other_clerk).get(url).content.decode()
    document_claim(document=document, user=clerk)
    assert logged_in(other_clerk).get(url).status_code == 404
    assert logged_in(clerk).get(url).status_code == 200


def test_next_in_queue_skips_the_current_and_claimed_documents(
    clerk: User, other_clerk: User
) -> None:
    current = aged(make_document(name="current.pdf"), 50)
    held = aged(make_document(name="held.pdf"), 40)
    document_claim(document=held, user=other_clerk)
    following = aged(make_document(name="next.pdf"), 30)
    found = next_in_queue(user=clerk, queue="mine", after=current)
    assert found == following


def test_a_correction_updates_the_reason_and_vendor_the_queue_shows(
    clerk: User,
) -> None:
    document = make_document(
        name="gap.pdf",
        fields={k: v for k, v in CONFIDENT.items() if k != "total_amount"},
    )
    client = logged_in(clerk)
    assert queue_names(client, reason="missing_fields") == ["gap.pdf"]
    field_correct(document=document, name="total_amount", value="10.00", user=clerk)
    field_correct(document=document, name="vendor_name", value="Initech", user=clerk)
    assert queue_names(client, reason="routine") == ["gap.pdf"]
    assert queue_names(client, vendor="initech") == ["gap.pdf"]


def test_the_migration_fills_the_review_columns_of_documents_read_before_it(
    clerk: User,
) -> None:
    migration = importlib.import_module("reviewapp.migrations.0004_review_workflow")
    document = make_document(fields={"vendor_name": ("Globex", 0.5)})
    Document.objects.filter(pk=document.pk).update(vendor_name="", review_reason="")
    migration.fill_review_columns(apps, None)
    document.refresh_from_db()
    assert (document.vendor_name, document.review_reason) == (
        "Globex",
        "missing_fields",
    )


def typed(document: Document, kind: str) -> Document:
    Document.objects.filter(pk=document.pk).update(document_type=kind)
    return document


def test_the_queue_filters_by_document_type_and_counts_types(clerk: User) -> None:
    typed(make_document(name="invoice-1.pdf", fields=CONFIDENT), "invoice")
    typed(make_document(name="invoice-2.pdf"), "invoice")
    typed(make_document(name="receipt.pdf"), "receipt")
    make_document(name="unknown.pdf")
    client = logged_in(clerk)
    assert queue_names(client, document_type="invoice") == [
        "invoice-1.pdf",
        "invoice-2.pdf",
    ]
    assert queue_names(client, document_type="unclassified") == ["unknown.pdf"]
    # An unknown type filters nothing out rather than hiding the queue.
    assert len(queue_names(client, document_type="poem")) == 4

    response = client.get(reverse("queue", args=["mine"]), {"document_type": "invoice"})
    counts = {kind: count for kind, _, count, _ in response.context["type_counts"]}
    # The type counts cover the whole queue; the reason counts the invoices.
    assert counts == {"invoice": 2, "receipt": 1, "unclassified": 1}
    assert sum(count for _, _, count in response.context["reason_counts"]) == 2
    assert response.context["page_obj"].paginator.count == 2
    html = response.content.decode()
    assert 'href="?document_type=receipt"' in html
    assert '<option value="invoice" selected>Invoice</option>' in html


def test_the_type_filter_keeps_the_other_filters_in_its_links(clerk: User) -> None:
    typed(make_document(name="a.pdf", fields=CONFIDENT), "receipt")
    response = logged_in(clerk).get(
        reverse("queue", args=["mine"]), {"vendor": "acme", "status": "ready"}
    )
    [(kind, label, count, query)] = response.context["type_counts"]
    assert (kind, label, count) == ("receipt", "Receipt", 1)
    assert query == "vendor=acme&status=ready&document_type=receipt"


def test_a_live_row_follows_the_page_filters(clerk: User) -> None:
    receipt = typed(make_document(name="receipt.pdf"), "receipt")
    url = reverse("queue-row", args=["mine", receipt.public_id])
    client = logged_in(clerk)
    row = client.get(url, {"document_type": "receipt"})
    assert row.status_code == 200
    assert 'data-document-type="receipt"' in row.content.decode()
    # A page filtered to invoices does not get the receipt inserted live.
    assert client.get(url, {"document_type": "invoice"}).status_code == 404
    assert client.get(url, {"vendor": "nobody"}).status_code == 404


def test_the_exception_queue_filters_by_type(clerk: User, supervisor: User) -> None:
    for name, kind in (("bank.pdf", "invoice"), ("till.pdf", "receipt")):
        escalated(typed(make_document(name=name), kind), by=clerk)
    client = logged_in(supervisor)
    assert queue_names(client, "exceptions", document_type="receipt") == ["till.pdf"]
    response = client.get(reverse("queue", args=["exceptions"]))
    assert {kind for kind, *_ in response.context["type_counts"]} == {
        "invoice",
        "receipt",
    }
