"""The extractor versions page: scores of every trained version, a retrain
button (an RQ job whose progress the page polls) and rollback. Admins only."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from pipeline.extract.scorer_candidates import (
    SCORED_FIELDS,
)
from reviewapp.learning.extractor_versions import (
    extractor_retrain_enqueue,
    retrain_failures,
    retrain_status,
)
from reviewapp.learning.extractor_versions import (
    extractor_version_activate as extractor_versions_extractor_version_activate,
)
from reviewapp.models.learning import ExtractorVersion
from reviewapp.permissions import can_manage_extractor
from reviewapp.selectors.learning import extractor_versions_listed


def _require_manager(request: HttpRequest) -> None:
    if not can_manage_extractor(request.user):
        raise PermissionDenied("Only administrators manage the extractor.")


@require_GET
def extractor_versions_page(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    return render(
        request,
        "reviewapp/extractor_versions.html",
        {
            "versions": extractor_versions_listed(),
            "fields": SCORED_FIELDS,
            "job_id": request.GET.get("job", ""),
            "failures": retrain_failures(),
        },
    )


@require_POST
def extractor_retrain(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    with transaction.atomic():
        job_id = extractor_retrain_enqueue(actor=request.user)  # type: ignore[arg-type]
    messages.info(request, "Retraining started; this page shows its progress.")
    return redirect(f"{reverse('extractor-versions')}?{urlencode({'job': job_id})}")


@require_GET
def extractor_retrain_status(request: HttpRequest, job_id: str) -> JsonResponse:
    _require_manager(request)
    status = retrain_status(job_id)
    if status is None:
        raise Http404("No such retrain job")
    return JsonResponse(status)


@require_POST
def extractor_version_activate(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(request)
    try:
        version = extractor_versions_extractor_version_activate(
            version_id=pk,
            actor=request.user,  # type: ignore[arg-type]
        )
    except ExtractorVersion.DoesNotExist:
        raise Http404("No such extractor version") from None
    messages.success(request, f"{version.label} now reads new documents.")
    return redirect("extractor-versions")
