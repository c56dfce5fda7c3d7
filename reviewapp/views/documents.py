"""Document pages: thin adapters from HTTP to permissions, services and selectors."""

from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from reviewapp.api.throttling import upload_wait_seconds
from reviewapp.audit.trail import (
    SecretUnavailable,
    record_event,
    sensitive_reveal,
)
from reviewapp.extraction_fields import FIELD_NAMES
from reviewapp.forms import (
    BankAttestationForm,
    EscalateForm,
    FieldCorrectionForm,
    RevealForm,
    UploadForm,
)
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document
from reviewapp.permissions import (
    can_export_audit,
    can_reveal_sensitive,
    document_for,
    is_reviewer,
    review_rights,
    visible_documents,
)
from reviewapp.selectors.documents import (
    document_for_review,
    documents_for,
    status_payload,
)
from reviewapp.selectors.exceptions import (
    duplicate_comparison,
    purchase_order_comparison,
)
from reviewapp.selectors.history import document_timeline
from reviewapp.selectors.line_items import line_grid
from reviewapp.selectors.queues import MY_QUEUE, next_in_queue
from reviewapp.selectors.review_page import (
    approval_refusal,
    bank_change_for,
    field_payload,
    issues_by_field,
    masked_page_image,
    masked_rendition,
    review_page,
    validation_issues_for,
    validation_of,
)
from reviewapp.services.capture import document_read_despite_quality
from reviewapp.services.fields import document_original_reveal
from reviewapp.services.fields import field_confirm as services_field_confirm
from reviewapp.services.fields import field_correct as services_field_correct
from reviewapp.services.ingest import IngestRefused, document_ingest
from reviewapp.services.processing import document_retry as services_document_retry
from reviewapp.services.review import ReviewRefused
from reviewapp.services.review_time import review_time_token
from reviewapp.views.exports import UBL_DOCUMENT_TYPES
from reviewapp.views.review import form_errors

# Statuses in which time on the review page is review work.
REVIEWABLE = (
    Document.Status.READY,
    Document.Status.CLAIMED,
    Document.Status.ESCALATED,
)

PAGE_SIZE = 50


@require_GET
def document_list(request: HttpRequest) -> HttpResponse:
    documents = documents_for(user=request.user)
    page = Paginator(documents, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "reviewapp/document_list.html",
        {"page_obj": page, "documents": page.object_list},
    )


def upload_refused(request: HttpRequest) -> JsonResponse | None:
    """The JSON refusal of an upload by someone who may not upload, or who is
    over the upload rate (with Retry-After); None when it may go on."""
    if not request.user.has_perm("reviewapp.add_document"):
        return JsonResponse({"error": "You may not upload documents."}, status=403)
    wait = upload_wait_seconds(request)
    if wait is None:
        return None
    refused = JsonResponse(
        {"error": f"Too many uploads at once; try again in {wait} s."}, status=429
    )
    refused["Retry-After"] = str(wait)
    return refused


@require_http_methods(["GET", "POST"])
def document_upload(request: HttpRequest) -> HttpResponse:
    """GET: the drop zone. POST: one file (the page sends each file on its own
    request, for per-file progress); answers JSON."""
    if request.method == "GET":
        return render(request, "reviewapp/upload.html", {"form": UploadForm()})
    refused = upload_refused(request)
    if refused is not None:
        return refused
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return JsonResponse({"error": "Choose a file to upload."}, status=400)
    upload = form.cleaned_data["file"]
    name = form.cleaned_data["original_name"] or upload.name
    try:
        result = document_ingest(
            content=upload.read(),
            original_name=name,
            channel=Document.Channel.UPLOAD,
            uploaded_by=request.user,  # type: ignore[arg-type]
        )
    except IngestRefused as refusal:
        return JsonResponse({"error": refusal.reason}, status=400)
    document = result.document
    body = status_payload(document)
    body["url"] = reverse("document-detail", args=[document.public_id])
    if result.duplicate:
        visible = visible_documents(request.user).filter(pk=document.pk).exists()
        body = body if visible else {}
        body["duplicate"] = True
        body["message"] = (
            f"{name} was already uploaded as {document.original_name}"
            if visible
            else f"{name} was already uploaded by someone else"
        )
    return JsonResponse(body, status=200 if result.duplicate else 201)


@require_GET
def document_statuses(request: HttpRequest) -> JsonResponse:
    """Cheap refresh for pages whose websocket dropped: statuses of the given ids."""
    ids = []
    for raw in request.GET.getlist("id")[:200]:
        try:
            ids.append(UUID(raw))
        except ValueError:
            continue
    documents = (
        visible_documents(request.user)
        .filter(public_id__in=ids)
        .select_related("claimed_by")
    )
    return JsonResponse(
        {"documents": [status_payload(document) for document in documents]}
    )


@require_GET
def document_detail(request: HttpRequest, public_id: UUID) -> HttpResponse:
    document, can_change = document_for(request.user, public_id)
    document = document_for_review(document=document)
    issues = validation_issues_for(document)
    rights = review_rights(request.user, document)
    following = next_in_queue(user=request.user, queue=MY_QUEUE, after=document)
    validation = validation_of(document)
    return render(
        request,
        "reviewapp/document_detail.html",
        {
            "document": document,
            **review_page(document, issues_by_field=issues_by_field(issues)),
            "issues": issues,
            "validation": validation,
            "export_ubl": validation is not None
            and validation.document_type in UBL_DOCUMENT_TYPES,
            "rights": rights,
            # Said up front, instead of a refused Approve (services check again).
            "approval_refusal": (
                approval_refusal(
                    document.pk,
                    request.user,
                    escalated=document.status == Document.Status.ESCALATED,
                )
                if rights.can_approve
                else ""
            ),
            "can_write": rights.can_edit_fields,
            # Outside the review workflow: have a poor image read anyway.
            "can_change": can_change,
            "line_grid": line_grid(document),
            "next_document": following,
            "escalate_form": EscalateForm(),
            # Job ids, hashes and raw details are for auditors only.
            "history": document_timeline(
                document=document, technical=can_export_audit(request.user)
            ),
            "show_technical": can_export_audit(request.user),
            "document_type_label": document.document_type.replace(
                "_", " "
            ).capitalize(),
            "type_min_confidence": settings.VOUCH_CLASSIFY_MIN_CONFIDENCE,
            "can_reveal": can_reveal_sensitive(request.user),
            "review_time_token": _review_time_token(request, document),
            "bank_change": bank_change_for(document, validation),
            "duplicate": duplicate_comparison(document=document, user=request.user),
            "po_match": purchase_order_comparison(document=document),
            "can_attest": is_reviewer(request.user)
            and document.status
            not in (Document.Status.APPROVED, Document.Status.REJECTED),
            "attest_form": BankAttestationForm(
                initial={"verified_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")}
            ),
        },
    )


def _review_time_token(request: HttpRequest, document: Document) -> str:
    """The review page counts active time while the document waits for a
    decision and the viewer is a reviewer; otherwise it sends nothing."""
    if not is_reviewer(request.user) or document.status not in REVIEWABLE:
        return ""
    return review_time_token(document=document, user=request.user)  # type: ignore[arg-type]


@require_GET
def document_row(request: HttpRequest, public_id: UUID) -> HttpResponse:
    document, _ = document_for(request.user, public_id)
    return render(
        request, "reviewapp/partials/document_row.html", {"document": document}
    )


@require_http_methods(["GET", "POST"])
def document_original(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """GET: the document as a PDF of its masked page images, for anyone who
    may see it. POST, with a reason: the original file, for those allowed to
    reveal sensitive values (an audited reveal)."""
    document, _ = document_for(request.user, public_id)
    if document.purged_at is not None:
        raise Http404("This document was purged under the retention policy")
    if request.method == "POST":
        form = RevealForm(request.POST)
        if not form.is_valid():
            messages.error(request, form_errors(form))
            return redirect("document-detail", public_id=document.public_id)
        try:
            document_original_reveal(
                document=document,
                user=request.user,  # type: ignore[arg-type]
                reason=form.cleaned_data["reason"],
            )
        except ReviewRefused as refusal:
            raise PermissionDenied(refusal.reason) from None
        response: HttpResponse = FileResponse(
            document.original.open("rb"),
            as_attachment=True,
            filename=document.original_name,
            content_type=document.content_type,
        )
        response["Cache-Control"] = "no-store"
        return response
    rendition = masked_rendition(document)
    if rendition is None:
        raise Http404("This document has no page images yet")
    record_event(
        AuditEvent.EventType.DOCUMENT_DOWNLOADED,
        request=request,
        document=document,
        details={"original_name": document.original_name, "original": False},
    )
    response = HttpResponse(rendition, content_type="application/pdf")
    stem = document.original_name.rsplit(".", 1)[0]
    response["Content-Disposition"] = f'attachment; filename="{stem}-masked.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def page_image(
    request: HttpRequest, public_id: UUID, number: int
) -> HttpResponse | FileResponse:
    document, _ = document_for(request.user, public_id)
    page = get_object_or_404(document.pages, number=number)
    if not page.image:
        raise Http404("This page has no image")
    masked = masked_page_image(page)
    response: HttpResponse | FileResponse
    if masked is not None:
        response = HttpResponse(masked, content_type="image/jpeg")
    else:
        response = FileResponse(page.image.open("rb"), content_type="image/jpeg")
    # The redaction list can change (an admin marks a field sensitive): keep it
    # private and short-lived.
    response["Cache-Control"] = "private, max-age=60"
    return response


@require_POST
def document_retry(request: HttpRequest, public_id: UUID) -> HttpResponse:
    document, can_write = document_for(request.user, public_id)
    if not can_write:
        raise Http404("No such document")
    if services_document_retry(document=document, user=request.user):  # type: ignore[arg-type]
        messages.success(request, f"{document.original_name} is queued again.")
    else:
        messages.info(request, f"{document.original_name} was not failed any more.")
    return redirect("document-detail", public_id=document.public_id)


@require_POST
def document_read_anyway(request: HttpRequest, public_id: UUID) -> HttpResponse:
    document, can_write = document_for(request.user, public_id)
    if not can_write:
        raise Http404("No such document")
    reason = request.POST.get("reason", "").strip()[:2000]
    if not reason:
        messages.error(request, "Say why it should be read as it is.")
    elif document_read_despite_quality(
        document=document,
        user=request.user,  # type: ignore[arg-type]
        reason=reason,
    ):
        messages.success(request, f"{document.original_name} will be read as it is.")
    else:
        messages.info(request, f"{document.original_name} no longer waits for a copy.")
    return redirect("document-detail", public_id=document.public_id)


@require_POST
def field_correct(request: HttpRequest, public_id: UUID, name: str) -> HttpResponse:
    document, can_write = document_for(request.user, public_id)
    if not can_write:
        return JsonResponse({"error": "You may not change this document."}, status=403)
    form = FieldCorrectionForm(request.POST, field_name=name)
    if not form.is_valid():
        messages_ = [error for errors in form.errors.values() for error in errors]
        return JsonResponse({"error": " ".join(messages_)}, status=400)
    try:
        field = services_field_correct(
            document=document,
            name=name,
            value=form.cleaned_data["value"],
            user=request.user,  # type: ignore[arg-type]
            reason=form.cleaned_data["reason"],
            evidence=form.cleaned_data["evidence"],
        )
    except ReviewRefused as refusal:
        return JsonResponse({"error": refusal.reason}, status=409)
    # The correction re-ran the checks: send them back so the page shows them.
    return JsonResponse({**field_payload(field), **checks_payload(request, document)})


def checks_payload(request: HttpRequest, document: Document) -> dict[str, object]:
    """The document's checks as the review page updates them after a change:
    the panel re-rendered, and each field's own messages."""
    issues = validation_issues_for(document)
    return {
        "issues_html": render_to_string(
            "reviewapp/partials/validation_issues.html",
            {"issues": issues, "validation": validation_of(document)},
            request=request,
        ),
        "field_issues": {
            name: [
                {"severity": issue.severity, "message": issue.message}
                for issue in field_issues
            ]
            for name, field_issues in issues_by_field(issues).items()
        },
    }


@require_POST
def history_reveal(
    request: HttpRequest, public_id: UUID, sequence: int, name: str
) -> HttpResponse:
    """Show one sensitive value from the document's history to someone allowed
    to reveal it, with a reason that is itself audited."""
    document, _ = document_for(request.user, public_id)
    if not can_reveal_sensitive(request.user):
        raise PermissionDenied("You may not see sensitive values unmasked.")
    event = get_object_or_404(
        AuditEvent, document_public_id=document.public_id, sequence=sequence
    )
    form = RevealForm(request.POST)
    context = {"document": document, "event": event, "name": name, "form": form}
    if not form.is_valid():
        return render(request, "reviewapp/history_reveal.html", context, status=400)
    try:
        context["value"] = sensitive_reveal(
            event=event,
            name=name,
            user=request.user,  # type: ignore[arg-type]
            reason=form.cleaned_data["reason"],
            request=request,
        )
    except KeyError:
        raise Http404("That event holds no such sensitive value") from None
    except SecretUnavailable as unavailable:
        context["unavailable"] = str(unavailable)
    response = render(request, "reviewapp/history_reveal.html", context)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def field_confirm(request: HttpRequest, public_id: UUID, name: str) -> HttpResponse:
    document, can_write = document_for(request.user, public_id)
    if not can_write:
        return JsonResponse({"error": "You may not change this document."}, status=403)
    if name not in FIELD_NAMES:
        return JsonResponse({"error": f"{name} is not a field Vouch reads"}, status=400)
    try:
        field = services_field_confirm(
            document=document,
            name=name,
            user=request.user,  # type: ignore[arg-type]
        )
    except ReviewRefused as refusal:
        return JsonResponse({"error": refusal.reason}, status=409)
    payload = field_payload(field)
    payload.pop("matches_read_value", None)  # nothing was typed
    return JsonResponse(payload)
