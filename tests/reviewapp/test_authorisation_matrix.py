"""Every route of ours, for every persona, on an object they own or not: the status
code each gets. A route added without an entry here fails the first test."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from reviewapp import jobs, roles
from reviewapp.models.documents import BatchSplit, Document
from reviewapp.models.fields import Field, LineItem
from reviewapp.services.ingest import document_ingest
from reviewapp.services.review import document_claim

pytestmark = pytest.mark.django_db

PERSONAS = ("anonymous", "outsider", "clerk", "other_clerk", "supervisor", "admin")
# Django's own views, guarded by Django: the login form and friends must answer
# anonymous users; the admin sites check is_staff themselves.
EXEMPT_NAMESPACES = {"admin", "django_rq"}
EXEMPT_NAMES = {
    "login", "logout", "password_change", "password_change_done",
    "password_reset", "password_reset_done", "password_reset_confirm",
    "password_reset_complete",
}  # fmt: skip


@dataclass(frozen=True)
class Objects:
    """`own`: read by the pipeline, uploaded by clerk, waiting for review.
    `foreign`: the admin's upload that failed: outside the shared queue."""

    own: Document
    foreign: Document


@dataclass(frozen=True)
class Case:
    method: str
    url: Callable[[Document], str]
    # Expected status per persona, for the own and the foreign document.
    own: tuple[int, ...]
    foreign: tuple[int, ...]
    data: dict[str, str] | None = None


def doc_url(name: str, *extra: object) -> Callable[[Document], str]:
    return lambda document: reverse(name, args=[document.public_id, *extra])


def fixed(name: str, *args: object) -> Callable[[Document], str]:
    return lambda document: reverse(name, args=args)


def line_url(name: str) -> Callable[[Document], str]:
    """A line on the document (made inside the cell's rolled-back transaction)
    and the URL acting on it."""

    def url(document: Document) -> str:
        line = LineItem.objects.create(document=document, position=1)
        return reverse(name, args=[document.public_id, line.pk])

    return url


def approved_url(name: str, *extra: object) -> Callable[[Document], str]:
    """Exports need an approved document: the own one is approved inside the
    cell's rolled-back transaction; the foreign one stays failed."""

    def url(document: Document) -> str:
        Document.objects.filter(pk=document.pk, status="ready").update(
            status="approved", decided_at=timezone.now()
        )
        return reverse(name, args=[document.public_id, *extra])

    return url


def batch_url(name: str) -> Callable[[Document], str]:
    """The split page's routes need a batch waiting for its split: the
    document becomes one inside the cell's rolled-back transaction (a
    reviewer may then see it, like one waiting for a new copy)."""

    def url(document: Document) -> str:
        Document.objects.filter(pk=document.pk).update(
            status="split_to_confirm", page_count=1
        )
        page = {"page": 1, "starts_document": True, "confidence": 1.0, "reasons": []}
        BatchSplit.objects.create(batch=document, proposal=[page], proposed_starts=[1])
        return reverse(name, args=[document.public_id])

    return url


#                  anon outsider clerk other  super admin
SEEN_BY_ALL = (302, 404, 200, 200, 200, 200)
SEEN_BY_ALL_SEEING = (302, 404, 404, 404, 200, 200)
NOBODY = (302, 404, 404, 404, 404, 404)
ANY_USER = (302, 200, 200, 200, 200, 200)
REDIRECTS = (302, 302, 302, 302, 302, 302)
# Workflow actions redirect back with a message when refused; a document the
# user may not see is a 404 before anything else.
ACTION_OWN = (302, 404, 302, 302, 302, 302)
ACTION_FOREIGN = (302, 404, 404, 404, 302, 302)
BATCH_EXPORTERS = (302, 403, 403, 403, 200, 200)
# The REST API answers 401 instead of redirecting to the login page.
API_ANY_USER = (401, 200, 200, 200, 200, 200)
API_EXPORTERS = (401, 403, 403, 403, 200, 200)
API_MASTER_DATA = (401, 403, 403, 403, 403, 400)
ADMIN_ONLY_PAGE = (302, 403, 403, 403, 403, 200)
ADMIN_ONLY_ACTION = (302, 403, 403, 403, 403, 302)
ADMIN_ONLY_MISSING = (302, 403, 403, 403, 403, 404)
OPERATIONS = (302, 403, 403, 403, 200, 200)

MATRIX: dict[str, list[Case]] = {
    "home": [Case("GET", fixed("home"), REDIRECTS, REDIRECTS)],
    "queue-home": [Case("GET", fixed("queue-home"), REDIRECTS, REDIRECTS)],
    "queue": [
        Case("GET", fixed("queue", "mine"), (302, 403, 200, 200, 200, 200),
             (302, 403, 200, 200, 200, 200)),
        Case("GET", fixed("queue", "exceptions"), (302, 403, 403, 403, 200, 200),
             (302, 403, 403, 403, 200, 200)),
        Case("GET", fixed("queue", "overview"), (302, 403, 403, 403, 200, 200),
             (302, 403, 403, 403, 200, 200)),
    ],
    "queue-row": [
        Case("GET", lambda d: reverse("queue-row", args=["mine", d.public_id]),
             SEEN_BY_ALL, NOBODY),
        Case("GET", lambda d: reverse("queue-row", args=["overview", d.public_id]),
             (302, 404, 404, 404, 200, 200), SEEN_BY_ALL_SEEING),
    ],
    "document-list": [Case("GET", fixed("document-list"), ANY_USER, ANY_USER)],
    "document-upload": [
        Case("GET", fixed("document-upload"), ANY_USER, ANY_USER),
        # No file: refused with a message, or for lack of the role.
        Case("POST", fixed("document-upload"), (302, 403, 400, 400, 400, 400),
             (302, 403, 400, 400, 400, 400)),
    ],
    "capture": [Case("GET", fixed("capture"), ANY_USER, ANY_USER)],
    # No photo: refused with a message, or for lack of the role.
    "capture-check": [
        Case("POST", fixed("capture-check"), (302, 403, 400, 400, 400, 400),
             (302, 403, 400, 400, 400, 400)),
    ],
    "capture-send": [
        Case("POST", fixed("capture-send"), (302, 403, 400, 400, 400, 400),
             (302, 403, 400, 400, 400, 400)),
    ],
    "document-statuses": [
        Case("GET", lambda d: reverse("document-statuses") + f"?id={d.public_id}",
             ANY_USER, ANY_USER),
    ],
    "document-detail": [Case("GET", doc_url("document-detail"), SEEN_BY_ALL,
                             SEEN_BY_ALL_SEEING)],
    "document-row": [Case("GET", doc_url("document-row"), SEEN_BY_ALL,
                          SEEN_BY_ALL_SEEING)],
    # GET: the masked PDF of the page images (the failed foreign upload has
    # none); POST with a reason: the original, for those who may reveal.
    "document-original": [
        Case("GET", doc_url("document-original"), SEEN_BY_ALL, NOBODY),
        Case("POST", doc_url("document-original"), (302, 404, 403, 403, 200, 200),
             (302, 404, 404, 404, 200, 200), {"reason": "the vendor asked for it"}),
    ],
    "page-image": [Case("GET", doc_url("page-image", 1), SEEN_BY_ALL, NOBODY)],
    "document-retry": [Case("POST", doc_url("document-retry"), ACTION_OWN,
                            ACTION_FOREIGN)],
    # Refused with a message (no bank change here) or unseen: never a 500.
    "bank-change-attest": [
        Case("POST", doc_url("bank-change-attest"), ACTION_OWN, ACTION_FOREIGN,
             {"method": "phone", "vendor_contact": "Anna",
              "verified_at": "2026-12-01T10:00"}),
    ],
    "document-claim": [Case("POST", doc_url("document-claim"), ACTION_OWN,
                            ACTION_FOREIGN)],
    "document-release": [Case("POST", doc_url("document-release"), ACTION_OWN,
                              ACTION_FOREIGN)],
    "document-approve": [Case("POST", doc_url("document-approve"), ACTION_OWN,
                              ACTION_FOREIGN)],
    "document-escalate": [Case("POST", doc_url("document-escalate"), ACTION_OWN,
                               ACTION_FOREIGN, {"reason": "other", "note": "x"})],
    "document-reject": [Case("POST", doc_url("document-reject"), ACTION_OWN,
                             ACTION_FOREIGN, {"note": "x"})],
    "field-correct": [
        Case("POST", doc_url("field-correct", "total_amount"),
             (302, 404, 200, 200, 200, 200), (302, 404, 404, 404, 409, 409),
             {"value": "99.00"}),
    ],
    # Line-item edits need the same rights as field corrections.
    "line-item-add": [
        Case("POST", doc_url("line-item-add"),
             (302, 404, 200, 200, 200, 200), (302, 404, 404, 404, 409, 409)),
    ],
    "line-item-update": [
        Case("POST", line_url("line-item-update"),
             (302, 404, 200, 200, 200, 200), (302, 404, 404, 404, 409, 409),
             {"column": "amount", "value": "5.00"}),
    ],
    "line-item-delete": [
        Case("POST", line_url("line-item-delete"),
             (302, 404, 200, 200, 200, 200), (302, 404, 404, 404, 409, 409)),
    ],
    "line-item-split": [
        Case("POST", line_url("line-item-split"),
             (302, 404, 200, 200, 200, 200), (302, 404, 404, 404, 409, 409)),
    ],
    "audit-export": [
        Case("GET", fixed("audit-export"), (302, 403, 403, 403, 403, 200),
             (302, 403, 403, 403, 403, 200)),
    ],
    "training-export": [
        Case("GET", fixed("training-export"), (302, 403, 403, 403, 403, 200),
             (302, 403, 403, 403, 403, 200)),
        Case("POST", fixed("training-export"), (302, 403, 403, 403, 403, 200),
             (302, 403, 403, 403, 403, 200), data={"format": "jsonl"}),
    ],
    # Extractor versions: administrators only. The status of an unknown job and
    # an unknown version are 404 for them, refused before the lookup for others.
    "extractor-versions": [
        Case("GET", fixed("extractor-versions"), ADMIN_ONLY_PAGE, ADMIN_ONLY_PAGE),
    ],
    "extractor-retrain": [
        Case("POST", fixed("extractor-retrain"), ADMIN_ONLY_ACTION, ADMIN_ONLY_ACTION),
    ],
    "extractor-retrain-status": [
        Case("GET", fixed("extractor-retrain-status", "no-such-job"),
             ADMIN_ONLY_MISSING, ADMIN_ONLY_MISSING),
    ],
    "extractor-version-activate": [
        Case("POST", fixed("extractor-version-activate", 999_999),
             ADMIN_ONLY_MISSING, ADMIN_ONLY_MISSING),
    ],
    # Event 1 holds no IBAN of the document: allowed revealers get 404, others
    # are refused before the event is looked up.
    "history-reveal": [
        Case("POST", doc_url("history-reveal", 1, "iban"),
             (302, 404, 403, 403, 404, 404), NOBODY,
             {"reason": "checking a bank change"}),
    ],
    "document-export": [
        Case("GET", approved_url("document-export", fmt), SEEN_BY_ALL, NOBODY)
        for fmt in ("csv", "json", "ubl")
    ],
    "export": [Case("GET", fixed("export"), BATCH_EXPORTERS, BATCH_EXPORTERS)],
    "export-batch": [
        Case("GET", fixed("export-batch", fmt), BATCH_EXPORTERS, BATCH_EXPORTERS)
        for fmt in ("csv", "json", "xlsx")
    ],
    # A document waiting for a new copy can be read anyway by whoever may edit
    # it; here it is not waiting, so the refusal comes back as a message.
    "document-read-anyway": [
        Case("POST", doc_url("document-read-anyway"), ACTION_OWN, ACTION_FOREIGN,
             {"reason": "the copy is readable"}),
    ],
    # A batch waiting for its split is seen by reviewers as well as by its
    # uploader; any reviewer may confirm (here: as one document, a redirect).
    "document-split": [
        Case("GET", batch_url("document-split"), SEEN_BY_ALL, SEEN_BY_ALL),
    ],
    "document-split-confirm": [
        Case("POST", batch_url("document-split-confirm"), ACTION_OWN,
             ACTION_OWN, {"starts": "1"}),
    ],
    # Health answers everyone and tells nothing (503: no worker runs in tests);
    # the detail is for administrators. Metrics need a token or an allowed
    # address, which no persona has here.
    "health": [Case("GET", fixed("health"), (503,) * 6, (503,) * 6)],
    # The icon browsers ask for by themselves: a redirect for everyone.
    "favicon": [Case("GET", fixed("favicon"), (301,) * 6, (301,) * 6)],
    "health-detail": [
        Case("GET", fixed("health-detail"), (302, 403, 403, 403, 403, 503),
             (302, 403, 403, 403, 403, 503)),
    ],
    "metrics": [Case("GET", fixed("metrics"), (403,) * 6, (403,) * 6)],
    "operations-dashboard": [
        Case("GET", fixed("operations-dashboard"), OPERATIONS, OPERATIONS),
    ],
    "threshold-simulator": [
        Case("GET", fixed("threshold-simulator"), OPERATIONS, OPERATIONS),
    ],
    "threshold-apply": [
        Case("POST", fixed("threshold-apply"), ADMIN_ONLY_ACTION, ADMIN_ONLY_ACTION,
             {"field": "total_amount", "threshold": "0.95", "reason": "simulated"}),
    ],
    "failed-jobs": [
        Case("GET", fixed("failed-jobs"), ADMIN_ONLY_PAGE, ADMIN_ONLY_PAGE),
    ],
    "failed-jobs-requeue": [
        Case("POST", fixed("failed-jobs-requeue"), ADMIN_ONLY_ACTION,
             ADMIN_ONLY_ACTION),
    ],
    # Review time is recorded only for a reviewer's signed page view: without
    # one it is refused (403); a document the user may not see is a 404 first.
    "review-time": [
        Case("POST", doc_url("review-time"), (302, 404, 403, 403, 403, 403),
             (302, 404, 404, 404, 403, 403)),
    ],
    "api-root": [Case("GET", fixed("api-root"), API_ANY_USER, API_ANY_USER)],
    "api-schema": [Case("GET", fixed("api-schema"), API_ANY_USER, API_ANY_USER)],
    "api-document-list": [
        Case("GET", fixed("api-document-list"), API_ANY_USER, API_ANY_USER),
        # No file: refused with a message, or for lack of the role.
        Case("POST", fixed("api-document-list"), (401, 403, 400, 400, 400, 400),
             (401, 403, 400, 400, 400, 400)),
    ],
    "api-document-detail": [
        Case("GET", doc_url("api-document-detail"), (401, 404, 200, 200, 200, 200),
             (401, 404, 404, 404, 200, 200)),
    ],
    "api-export-list": [
        Case("GET", fixed("api-export-list"), API_EXPORTERS, API_EXPORTERS),
    ],
    "api-export-mark-exported": [
        Case("POST", approved_url("api-export-mark-exported"), API_EXPORTERS,
             (401, 403, 403, 403, 404, 404)),
    ],
    # An empty body: refused with a reason, or for lack of the role.
    **{
        name: [Case("POST", fixed(name), API_MASTER_DATA, API_MASTER_DATA)]
        for name in ("api-vendors", "api-purchase-orders", "api-goods-receipts")
    },
    "field-confirm": [
        Case("POST", doc_url("field-confirm", "total_amount"),
             (302, 404, 200, 200, 200, 200), (302, 404, 404, 404, 409, 409)),
    ],
    "field-reveal": [
        Case("POST", doc_url("field-reveal", "iban"),
             (302, 404, 403, 403, 200, 200), (302, 404, 404, 404, 400, 400),
             {"reason": "checking a bank change"}),
    ],
}  # fmt: skip


def our_route_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns: list[URLPattern | URLResolver]) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace not in EXEMPT_NAMESPACES:
                    walk(pattern.url_patterns)
            elif pattern.name and pattern.name not in EXEMPT_NAMES:
                names.add(pattern.name)

    walk(get_resolver().url_patterns)
    return names


def test_every_route_has_an_entry() -> None:
    assert our_route_names() == set(MATRIX)


@pytest.fixture
def personas(db: None) -> dict[str, User | None]:
    # Logged in with force_login: no password to hash for six users per route.
    roles.sync_roles(Group, Permission)

    def persona(name: str, role: str | None) -> User:
        user = User.objects.create(username=name)
        if role is not None:
            user.groups.add(Group.objects.get(name=role))
        return user

    return {
        "anonymous": None,
        "outsider": persona("outsider", None),
        "clerk": persona("clerk", roles.CLERK),
        "other_clerk": persona("other_clerk", roles.CLERK),
        "supervisor": persona("supervisor", roles.SUPERVISOR),
        "admin": persona("admin", roles.ADMIN),
    }


@pytest.fixture
def objects(
    personas: dict[str, User | None], media_root: Path, invoice_png: bytes
) -> Objects:
    own = document_ingest(
        content=invoice_png, original_name="own.png", channel="upload",
        uploaded_by=personas["clerk"],
    ).document  # fmt: skip
    jobs.process_document(own.pk)
    Field.objects.create(document=own, name="iban", value="DE89370400440532013000")
    foreign = document_ingest(
        content=b"%PDF-1.7 broken", original_name="foreign.pdf", channel="upload",
        uploaded_by=personas["admin"],
    ).document  # fmt: skip
    jobs.process_document(foreign.pk)
    own.refresh_from_db()
    foreign.refresh_from_db()
    assert (own.status, foreign.status) == ("ready", "failed")
    return Objects(own=own, foreign=foreign)


@pytest.mark.parametrize("route", sorted(MATRIX))
def test_the_route_answers_each_persona_as_the_matrix_says(
    route: str, personas: dict[str, User | None], objects: Objects
) -> None:
    mismatches = []
    for case in MATRIX[route]:
        for which, expected in (("own", case.own), ("foreign", case.foreign)):
            document = getattr(objects, which)
            for persona, status in zip(PERSONAS, expected, strict=True):
                client = Client()
                user = personas[persona]
                if user is not None:
                    client.force_login(user)
                # Each cell starts from the same data: an action one persona
                # takes (a claim) must not decide the next persona's answer.
                with transaction.atomic():
                    url = case.url(document)
                    if case.method == "GET":
                        response = client.get(url)
                    else:
                        response = client.post(url, case.data or {})
                    transaction.set_rollback(True)
                got = response.status_code
                if persona == "anonymous" and got == 302:  # pages, not the API
                    assert response["Location"].startswith(reverse("login")), url
                if got != status:
                    mismatches.append(f"{case.method} {url} {which} {persona}: {got}")
    assert not mismatches, "\n".join(mismatches)


def test_a_refused_action_changes_nothing(
    personas: dict[str, User | None], objects: Objects
) -> None:
    client = Client()
    client.force_login(personas["other_clerk"])  # type: ignore[arg-type]
    document_claim(document=objects.own, user=personas["clerk"])  # type: ignore[arg-type]
    for name in ("document-approve", "document-release", "document-claim"):
        client.post(reverse(name, args=[objects.own.public_id]))
    objects.own.refresh_from_db()
    assert objects.own.status == Document.Status.CLAIMED
    assert objects.own.claimed_by == personas["clerk"]
