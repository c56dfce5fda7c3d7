"""Administrators' failed-jobs page: each failed document with its reason in
plain words, attempts and worker; requeue one or many, each audited."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.utils import timezone

from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document, ProcessingRun
from tests.conftest import logged_in, make_document


def failed(name: str, reason: str, workers: list[str]) -> Document:
    document = make_document(status="failed", name=name)
    Document.objects.filter(pk=document.pk).update(
        failure_reason=reason, status_changed_at=timezone.now()
    )
    for attempt, worker in enumerate(workers, start=1):
        ProcessingRun.objects.create(
            document=document, attempt=attempt, worker=worker,
            outcome=ProcessingRun.Outcome.FAILED, error="Traceback (most recent call)",
        )  # fmt: skip
    return document


def test_admins_see_each_failed_document_with_reason_attempts_and_worker(
    db: None, admin_user: User, supervisor: User
) -> None:
    failed(
        "scan.pdf", "the PDF is encrypted; send it without a password", ["host-a:w1"]
    )
    failed("big.tif", "processing took too long and was stopped",
           ["host-a:w1", "host-b:w2", "host-b:w2"])  # fmt: skip
    make_document(status="ready", name="fine.pdf")

    page = logged_in(admin_user).get("/operations/failed/")

    html = page.content.decode()
    assert page.status_code == 200
    assert "the PDF is encrypted; send it without a password" in html
    assert "Traceback" not in html  # plain words, not the stack
    assert "fine.pdf" not in html
    rows = html.split("<tr>")[2:]
    big = next(r for r in rows if "big.tif" in r)
    assert '<td class="cell-num">3</td>' in big and "host-b:w2" in big
    assert logged_in(supervisor).get("/operations/failed/").status_code == 403


def test_requeue_one_or_many_is_audited_per_document(
    db: None, admin_user: User
) -> None:
    first = failed("a.pdf", "unreadable", ["w"])
    second = failed("b.pdf", "unreadable", ["w"])
    third = failed("c.pdf", "unreadable", ["w"])
    client = logged_in(admin_user)

    # The row's own button names one document; ticked boxes do not count then.
    chosen = {"document": first.pk, "documents": [second.pk]}
    one = client.post("/operations/failed/requeue/", chosen)
    assert one.status_code == 302
    assert Document.objects.get(pk=first.pk).status == "queued"
    assert (
        Document.objects.get(pk=second.pk).status == "failed"
    )  # only the row's button

    many = client.post(
        "/operations/failed/requeue/", {"documents": [second.pk, third.pk, first.pk]},
        follow=True,
    )  # fmt: skip
    assert set(Document.objects.values_list("status", flat=True)) == {"queued"}
    html = many.content.decode()
    assert "2 documents requeued." in html
    assert "1 no longer failed" in html
    retries = AuditEvent.objects.filter(event_type=AuditEvent.EventType.DOCUMENT_RETRY)
    assert sorted(str(e.document_public_id) for e in retries) == sorted(
        str(d.public_id) for d in (first, second, third)
    )
    assert {e.actor_username for e in retries} == {"admin"}
    assert retries.first().details["failure_reason"] == "unreadable"


def test_requeue_is_for_admins_and_needs_a_choice(
    db: None, admin_user: User, supervisor: User
) -> None:
    document = failed("a.pdf", "unreadable", ["w"])
    denied = logged_in(supervisor).post(
        "/operations/failed/requeue/", {"document": document.pk}
    )
    assert denied.status_code == 403
    empty = logged_in(admin_user).post("/operations/failed/requeue/", {}, follow=True)
    assert "Tick at least one document" in empty.content.decode()
    assert Document.objects.get(pk=document.pk).status == "failed"
