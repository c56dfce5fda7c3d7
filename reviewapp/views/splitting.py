"""The split page of a batch (several documents in one file): the pages in
order with where documents begin, corrected and confirmed by a reviewer."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from reviewapp.forms import SplitForm
from reviewapp.models.documents import Document
from reviewapp.permissions import batch_for_split
from reviewapp.selectors.splitting import split_review
from reviewapp.services.splitting import SplitRefused, batch_split_confirm
from reviewapp.views.review import form_errors


@require_GET
def document_split(request: HttpRequest, public_id: UUID) -> HttpResponse:
    batch, can_split = batch_for_split(request.user, public_id)
    review = split_review(batch)
    if review is None:
        raise Http404("This document was never found to hold several documents")
    waiting = batch.status == Document.Status.SPLIT_TO_CONFIRM
    return render(
        request,
        "reviewapp/document_split.html",
        {
            "document": batch,
            "review": review,
            "can_split": can_split and waiting and not batch.purged_at,
            "waiting": waiting,
        },
    )


@require_POST
def document_split_confirm(request: HttpRequest, public_id: UUID) -> HttpResponse:
    batch, can_split = batch_for_split(request.user, public_id)
    if not can_split:
        raise PermissionDenied("You may not split documents.")
    form = SplitForm(request.POST, page_count=batch.page_count or 0)
    if not form.is_valid():
        messages.error(request, form_errors(form))
        return redirect("document-split", public_id=batch.public_id)
    try:
        documents = batch_split_confirm(
            batch=batch,
            user=request.user,  # type: ignore[arg-type]
            starts=form.cleaned_data["starts"],
        )
    except SplitRefused as refusal:
        messages.error(request, refusal.reason)
        return redirect("document-split", public_id=batch.public_id)
    if documents is None:
        messages.info(request, f"{batch.original_name} no longer waits for a split.")
    elif documents == [batch]:
        messages.success(request, f"{batch.original_name} is read as one document.")
        return redirect("document-detail", public_id=batch.public_id)
    else:
        messages.success(
            request,
            f"{batch.original_name} is split into {len(documents)} documents; "
            "each is being read.",
        )
    return redirect("document-split", public_id=batch.public_id)
