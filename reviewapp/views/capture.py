"""The mobile capture page: photograph a document page by page, see at once
whether each photo will read, retake what will not, then send the pages as
one document."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from reviewapp.permissions import visible_documents
from reviewapp.selectors.documents import status_payload
from reviewapp.services.ingest import (
    IngestRefused,
    document_ingest_photos,
    photo_quality,
)
from reviewapp.views.documents import upload_refused


@require_GET
def capture_page(request: HttpRequest) -> HttpResponse:
    return render(request, "reviewapp/capture.html")


@require_POST
def capture_check(request: HttpRequest) -> JsonResponse:
    """One photo's capture check, nothing stored: {score, acceptable, advice}."""
    refused = upload_refused(request)
    if refused is not None:
        return refused
    photo = request.FILES.get("photo")
    if photo is None:
        return JsonResponse({"error": "Take a photo of the page."}, status=400)
    try:
        quality = photo_quality(content=photo.read(), name=photo.name or "the photo")
    except IngestRefused as refusal:
        return JsonResponse({"error": refusal.reason}, status=400)
    return JsonResponse(
        {
            "score": round(quality.score),
            "acceptable": quality.acceptable,
            "advice": list(quality.advice),
        }
    )


@require_POST
def capture_send(request: HttpRequest) -> JsonResponse:
    """The pages, in order (form field "page", repeated), as one document."""
    refused = upload_refused(request)
    if refused is not None:
        return refused
    pages = request.FILES.getlist("page")
    try:
        result = document_ingest_photos(
            photos=[(page.name or "photo.jpg", page.read()) for page in pages],
            uploaded_by=request.user,  # type: ignore[arg-type]
        )
    except IngestRefused as refusal:
        return JsonResponse({"error": refusal.reason}, status=400)
    document = result.document
    if result.duplicate and not (
        visible_documents(request.user).filter(pk=document.pk).exists()
    ):
        # Someone else's document: say only that these photos were sent before.
        return JsonResponse(
            {
                "duplicate": True,
                "message": "These photos were already sent by someone else.",
            }
        )
    body = status_payload(document)
    body["url"] = reverse("document-detail", args=[document.public_id])
    body["duplicate"] = result.duplicate
    if result.duplicate:
        body["message"] = f"These photos were already sent as {document.original_name}."
    return JsonResponse(body, status=200 if result.duplicate else 201)
