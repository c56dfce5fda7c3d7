"""Review queues and the review workflow's actions: thin adapters from HTTP to
permissions, one service or selector, and a redirect."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from reviewapp.forms import (
    BankAttestationForm,
    EscalateForm,
    QueueFilterForm,
    RejectForm,
    RevealForm,
)
from reviewapp.models.documents import Document
from reviewapp.permissions import document_for, review_rights
from reviewapp.selectors.queues import (
    DOCUMENT_TYPE_LABELS,
    EXCEPTION_QUEUE,
    MY_QUEUE,
    OVERVIEW,
    QUEUE_TITLES,
    REVIEW_REASONS,
    QueueFilters,
    next_in_queue,
    page_of,
    queue_documents,
    queue_facet_counts,
    queues_for,
)
from reviewapp.services.fields import sensitive_value_reveal
from reviewapp.services.review import ReviewRefused
from reviewapp.services.review import bank_change_attest as services_bank_change_attest
from reviewapp.services.review import document_approve as services_document_approve
from reviewapp.services.review import document_claim as services_document_claim
from reviewapp.services.review import document_escalate as services_document_escalate
from reviewapp.services.review import document_reject as services_document_reject
from reviewapp.services.review import document_release as services_document_release

QUEUE_PAGE_SIZE = 25


def _filters(request: HttpRequest) -> QueueFilters:
    form = QueueFilterForm(request.GET)
    form.is_valid()  # every field is optional; unknown values are ignored below
    data = form.cleaned_data
    return QueueFilters(
        vendor=data.get("vendor", ""),
        reason=data.get("reason", ""),
        status=data.get("status", ""),
        document_type=data.get("document_type", ""),
        sort=data.get("sort") or "oldest",
    )


@require_GET
def queue(request: HttpRequest, queue: str) -> HttpResponse:
    if queue not in queues_for(request.user):
        raise PermissionDenied("Your role does not include this queue.")
    filters = _filters(request)
    documents = queue_documents(user=request.user, queue=queue, filters=filters)
    counts = queue_facet_counts(user=request.user, queue=queue, filters=filters)
    reason_counts, type_counts = counts.reasons, counts.types
    page, rows = page_of(
        documents,
        request.GET.get("page"),
        QUEUE_PAGE_SIZE,
        # The reason counts cover the same documents, bar the reason filter.
        count=(
            reason_counts.get(filters.reason, 0)
            if filters.reason in REVIEW_REASONS
            else sum(reason_counts.values())
        ),
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "reviewapp/queue.html",
        {
            "queue": queue,
            "queue_title": QUEUE_TITLES[queue],
            "queues": [
                (name, QUEUE_TITLES[name])
                for name in queues_for(request.user)
            ],
            "filters": filters,
            "page_obj": page,
            "documents": rows,
            "reason_counts": _labelled(reason_counts),
            "status_counts": (
                [
                    (status, Document.Status(status).label, count)
                    for status, count in sorted(counts.statuses.items())
                ]
                if queue == OVERVIEW
                else []
            ),
            "type_counts": [
                (kind, label, type_counts[kind], _query_with(query, document_type=kind))
                for kind, label in DOCUMENT_TYPE_LABELS.items()
                if kind in type_counts
            ],
            "any_type_query": _query_with(query, document_type=""),
            "document_types": DOCUMENT_TYPE_LABELS,
            "reasons": REVIEW_REASONS,
            "statuses": Document.Status.choices,
            "sorts": [("oldest", "Oldest first"), ("newest", "Newest first"),
                      ("vendor", "Vendor"), ("least_sure", "Least sure first")],
            "query": query.urlencode(),
        },
    )  # fmt: skip


def _query_with(query: QueryDict, **values: str) -> str:
    """The page's query string with `values` set (or dropped when empty)."""
    changed = query.copy()
    for key, value in values.items():
        if value:
            changed[key] = value
        else:
            changed.pop(key, None)
    return changed.urlencode()


def _labelled(counts: dict[str, int]) -> list[tuple[str, str, int]]:
    return [
        (reason, label, counts[reason])
        for reason, label in REVIEW_REASONS.items()
        if reason in counts
    ]


@require_GET
def queue_row(request: HttpRequest, queue: str, public_id: UUID) -> HttpResponse:
    """One row, for the queue page to insert a document that just arrived; the
    page sends its filters, so a row it does not show is not found."""
    document = (
        queue_documents(user=request.user, queue=queue, filters=_filters(request))
        .filter(public_id=public_id)
        .first()
    )
    if document is None:
        raise Http404("Not in this queue")
    return render(
        request,
        "reviewapp/partials/queue_row.html",
        {"document": document, "queue": queue},
    )


def queue_url(queue: str) -> str:
    return reverse("queue", args=[queue])


def _next_url(request: HttpRequest, document: Document, queue: str) -> str:
    following = next_in_queue(user=request.user, queue=queue, after=document)
    if following is None:
        messages.info(request, "Nothing else is waiting in this queue.")
        return queue_url(queue)
    return reverse("document-detail", args=[following.public_id])


def _act(
    request: HttpRequest,
    public_id: UUID,
    action: Callable[[Document], str | None],
) -> HttpResponse:
    """Run one workflow action; go where it says, or back to the document with
    the refusal explained."""
    document, _ = document_for(request.user, public_id)
    try:
        target = action(document)
    except ReviewRefused as refusal:
        messages.error(request, refusal.reason)
        target = None
    if target is None:
        return redirect("document-detail", public_id=document.public_id)
    return redirect(target)


@require_POST
def document_claim(request: HttpRequest, public_id: UUID) -> HttpResponse:
    def claim(document: Document) -> None:
        services_document_claim(document=document, user=request.user)  # type: ignore[arg-type]
        messages.success(request, f"You are reviewing {document.original_name}.")

    return _act(request, public_id, claim)


@require_POST
def document_release(request: HttpRequest, public_id: UUID) -> HttpResponse:
    def release(document: Document) -> str:
        services_document_release(document=document, user=request.user)  # type: ignore[arg-type]
        messages.info(request, f"{document.original_name} is back in the queue.")
        return queue_url(MY_QUEUE)

    return _act(request, public_id, release)


@require_POST
def document_approve(request: HttpRequest, public_id: UUID) -> HttpResponse:
    def approve(document: Document) -> str:
        was_exception = document.status == Document.Status.ESCALATED
        services_document_approve(document=document, user=request.user)  # type: ignore[arg-type]
        messages.success(request, f"Approved {document.original_name}.")
        queue = EXCEPTION_QUEUE if was_exception else MY_QUEUE
        return _next_url(request, document, queue)

    return _act(request, public_id, approve)


@require_POST
def document_escalate(request: HttpRequest, public_id: UUID) -> HttpResponse:
    form = EscalateForm(request.POST)

    def escalate(document: Document) -> str | None:
        if not form.is_valid():
            raise ReviewRefused(form_errors(form))
        services_document_escalate(
            document=document,
            user=request.user,  # type: ignore[arg-type]
            reason=form.cleaned_data["reason"],
            note=form.cleaned_data["note"],
        )
        messages.success(
            request, f"Escalated {document.original_name} to the supervisors."
        )
        return _next_url(request, document, MY_QUEUE)

    return _act(request, public_id, escalate)


@require_POST
def document_reject(request: HttpRequest, public_id: UUID) -> HttpResponse:
    form = RejectForm(request.POST)

    def reject(document: Document) -> str | None:
        if not form.is_valid():
            raise ReviewRefused(form_errors(form))
        services_document_reject(
            document=document,
            user=request.user,  # type: ignore[arg-type]
            note=form.cleaned_data["note"],
        )
        messages.success(request, f"Rejected {document.original_name}.")
        return _next_url(request, document, EXCEPTION_QUEUE)

    return _act(request, public_id, reject)


@require_POST
def field_reveal(request: HttpRequest, public_id: UUID, name: str) -> JsonResponse:
    """The clear value of one sensitive field, for this answer only."""
    document, _ = document_for(request.user, public_id)
    if not review_rights(request.user, document).can_reveal:
        return JsonResponse({"error": "Your role may not reveal values."}, status=403)
    form = RevealForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"error": form_errors(form)}, status=400)
    try:
        value = sensitive_value_reveal(
            document=document,
            name=name,
            user=request.user,  # type: ignore[arg-type]
            reason=form.cleaned_data["reason"],
        )
    except ReviewRefused as refusal:
        return JsonResponse({"error": refusal.reason}, status=400)
    response = JsonResponse({"name": name, "value": value})
    response["Cache-Control"] = "no-store"
    return response


def form_errors(form: forms.Form) -> str:
    """A form's errors as one sentence for a message."""
    return " ".join(str(error) for errors in form.errors.values() for error in errors)


@require_POST
def bank_change_attest(request: HttpRequest, public_id: UUID) -> HttpResponse:
    form = BankAttestationForm(request.POST)

    def attest(document: Document) -> None:
        if not form.is_valid():
            raise ReviewRefused(form_errors(form))
        services_bank_change_attest(
            document=document,
            user=request.user,  # type: ignore[arg-type]
            **form.cleaned_data,
        )
        messages.success(
            request,
            "Your attestation is recorded: another supervisor can now approve "
            "the new bank details.",
        )

    return _act(request, public_id, attest)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Where each role starts: supervisors on the exceptions, clerks on their
    queue, anyone else on their documents."""
    queues = queues_for(request.user)
    for queue in (EXCEPTION_QUEUE, MY_QUEUE):
        if queue in queues:
            return redirect("queue", queue=queue)
    return redirect("document-list")
