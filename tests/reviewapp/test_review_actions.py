"""The review page's actions over HTTP: forms that POST with CSRF, redirects,
refusals explained, and the next document after a decision."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from reviewapp.models.documents import Document
from reviewapp.services.review import document_claim, document_escalate
from tests.conftest import logged_in, make_document

pytestmark = pytest.mark.django_db


def action(name: str, document: Document) -> str:
    return reverse(f"document-{name}", args=[document.public_id])


def detail(document: Document) -> str:
    return reverse("document-detail", args=[document.public_id])


def aged(document: Document, minutes: int) -> Document:
    Document.objects.filter(pk=document.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes)
    )
    return document


def test_the_page_offers_exactly_the_allowed_actions(
    clerk: User, other_clerk: User
) -> None:
    document = make_document()
    page = logged_in(clerk).get(detail(document)).content.decode()
    assert action("claim", document) in page
    assert action("approve", document) not in page

    logged_in(clerk).post(action("claim", document))
    page = logged_in(clerk).get(detail(document)).content.decode()
    for name in ("approve", "escalate", "release"):
        assert action(name, document) in page, name
    assert action("claim", document) not in page
    assert "claimed by you" in page

    page = logged_in(other_clerk).get(detail(document)).content.decode()
    assert "Someone else is reviewing this document" in page
    for name in ("claim", "approve", "escalate", "release"):
        assert action(name, document) not in page, name


def test_actions_need_post_and_a_csrf_token(clerk: User) -> None:
    document = make_document()
    assert logged_in(clerk).get(action("claim", document)).status_code == 405
    assert (
        logged_in(clerk, csrf=True).post(action("claim", document)).status_code == 403
    )
    assert Document.objects.get(pk=document.pk).status == Document.Status.READY


def test_approve_opens_the_next_document_in_the_queue(clerk: User) -> None:
    first = aged(make_document(name="first.pdf"), 30)
    following = aged(make_document(name="second.pdf"), 20)
    client = logged_in(clerk)
    client.post(action("claim", first))
    response = client.post(action("approve", first))
    assert response.status_code == 302
    assert response["Location"] == detail(following)
    assert Document.objects.get(pk=first.pk).status == Document.Status.APPROVED


def test_approving_the_last_one_returns_to_the_empty_queue(clerk: User) -> None:
    document = make_document()
    client = logged_in(clerk)
    client.post(action("claim", document))
    response = client.post(action("approve", document), follow=True)
    assert response.redirect_chain[-1][0] == reverse("queue", args=["mine"])
    assert "Nothing else is waiting" in response.content.decode()


def test_a_refused_action_says_why_on_the_document(
    clerk: User, other_clerk: User
) -> None:
    document = make_document(name="busy.pdf")
    document_claim(document=document, user=clerk)
    response = logged_in(other_clerk).post(action("claim", document), follow=True)
    assert response.redirect_chain[-1][0] == detail(document)
    assert "busy.pdf is being reviewed by clerk" in response.content.decode()


def test_escalating_without_a_reason_is_refused_with_a_message(clerk: User) -> None:
    document = make_document()
    client = logged_in(clerk)
    client.post(action("claim", document))
    response = client.post(action("escalate", document), {"reason": ""}, follow=True)
    assert "This field is required" in response.content.decode()
    assert Document.objects.get(pk=document.pk).status == Document.Status.CLAIMED

    client.post(
        action("escalate", document), {"reason": "over_limit", "note": "12k EUR"}
    )
    document.refresh_from_db()
    assert document.status == Document.Status.ESCALATED
    assert document.escalation_note == "12k EUR"


def test_a_supervisor_rejects_an_escalation_with_a_note(
    clerk: User, supervisor: User
) -> None:
    document = make_document()
    document_claim(document=document, user=clerk)
    document_escalate(document=document, user=clerk, reason="duplicate", note="")
    page = logged_in(supervisor).get(detail(document)).content.decode()
    assert action("reject", document) in page and action("approve", document) in page
    assert "Looks like a duplicate" in page
    response = logged_in(supervisor).post(action("reject", document), {"note": ""})
    assert Document.objects.get(pk=document.pk).status == Document.Status.ESCALATED
    response = logged_in(supervisor).post(
        action("reject", document), {"note": "paid twice"}
    )
    assert response["Location"] == reverse("queue", args=["exceptions"])
    assert Document.objects.get(pk=document.pk).status == Document.Status.REJECTED


def test_a_correction_of_a_document_someone_else_holds_is_refused(
    clerk: User, other_clerk: User
) -> None:
    document = make_document(fields={"total_amount": ("5.00", 0.5)})
    document_claim(document=document, user=clerk)
    url = reverse("field-correct", args=[document.public_id, "total_amount"])
    response = logged_in(other_clerk).post(url, {"value": "6.00"})
    assert response.status_code == 409
    assert "being reviewed by clerk" in response.json()["error"]


def test_the_help_lists_the_shortcuts(clerk: User) -> None:
    page = logged_in(clerk).get(detail(make_document())).content.decode()
    assert 'id="help-dialog"' in page
    for key in ("<kbd>a</kbd>", "<kbd>e</kbd>", "<kbd>n</kbd>", "<kbd>d</kbd>"):
        assert key in page, key
