"""The audit log pages: export for administrators."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from asgiref.sync import sync_to_async
from django.core.exceptions import PermissionDenied
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from reviewapp.audit.export import CONTENT_TYPES, audit_export
from reviewapp.forms import AuditExportForm
from reviewapp.permissions import can_export_audit


@require_http_methods(["GET", "POST"])
def audit_log_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """GET: the filter form. POST: the file, streamed as it is read."""
    if not can_export_audit(request.user):
        raise PermissionDenied("Only administrators may export the audit log.")
    form = AuditExportForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        export_format = form.cleaned_data["format"]
        chunks = audit_export(
            filters=form.filters(),
            export_format=export_format,
            request=request,
            destination="browser download",
        )
        return streamed_download(
            request,
            chunks,
            content_type=CONTENT_TYPES[export_format],
            filename=f"vouch-audit-{{stamp}}.{export_format}",
        )
    status = 400 if request.method == "POST" else 200
    return render(request, "reviewapp/audit_export.html", {"form": form}, status=status)


def streamed_download(
    request: HttpRequest, chunks: Iterator[str], *, content_type: str, filename: str
) -> StreamingHttpResponse:
    """`chunks` as a file download, streamed as they are made; "{stamp}" in
    `filename` becomes the UTC time."""
    # Django buffers a whole iterator of the other kind than its server
    # expects: under daphne (ASGI) the chunks must come asynchronously.
    stream = _pulled_async(chunks) if isinstance(request, ASGIRequest) else chunks
    response = StreamingHttpResponse(stream, content_type=content_type)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = (
        f'attachment; filename="{filename.format(stamp=stamp)}"'
    )
    return response


async def _pulled_async(chunks: Iterator[str]) -> AsyncIterator[str]:
    """Each chunk read by the sync generator in Django's sync thread (where its
    database connection lives), one at a time."""
    pull = sync_to_async(_next_chunk, thread_sensitive=True)
    while (chunk := await pull(chunks)) is not None:
        yield chunk


def _next_chunk(chunks: Iterator[str]) -> str | None:
    return next(chunks, None)
