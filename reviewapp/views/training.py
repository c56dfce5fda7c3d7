"""Training data download for administrators (what `export_training` writes)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from reviewapp.forms import TrainingExportForm
from reviewapp.learning.training_data import RevealRefused, training_export
from reviewapp.permissions import can_export_training
from reviewapp.views.audit import streamed_download

CONTENT_TYPES = {"jsonl": "application/jsonl", "kie": "text/plain; charset=utf-8"}
EXTENSIONS = {"jsonl": "jsonl", "kie": "txt"}


@require_http_methods(["GET", "POST"])
def training_export_page(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """GET: the form. POST: the file, streamed; masked unless the person may
    reveal and gives a reason (both recorded)."""
    if not can_export_training(request.user):
        raise PermissionDenied("Only administrators may export training data.")
    form = TrainingExportForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        export_format = form.cleaned_data["format"]
        try:
            lines = training_export(
                export_format=export_format,
                filters=form.filters(),
                actor=request.user,  # type: ignore[arg-type]
                reveal_reason=form.reveal_reason(),
                destination="browser download",
            )
        except RevealRefused as refused:
            form.add_error("reveal", str(refused))
        else:
            return streamed_download(
                request,
                lines,
                content_type=CONTENT_TYPES[export_format],
                filename=f"vouch-training-{{stamp}}.{EXTENSIONS[export_format]}",
            )
    status = 400 if request.method == "POST" else 200
    return render(
        request, "reviewapp/training_export.html", {"form": form}, status=status
    )
