"""Exports of approved documents: one document as CSV, JSON or UBL 2.1 XML (from
its review page), and batches as CSV, JSON or XLSX (the Export page).
Sensitive values are masked unless the reader may reveal them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from reviewapp.export_formats import (
    ExportDocument,
    as_json,
    csv_chunks,
    ubl_xml,
    xlsx_bytes,
)
from reviewapp.forms import ExportFilterForm
from reviewapp.permissions import (
    AnyUser,
    approved_document_for,
    can_export_batches,
)
from reviewapp.selectors.exports import (
    ExportFilters,
    export_documents_for,
    export_for,
    exportable_documents,
)
from reviewapp.services.exports import documents_export_record

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
UBL_DOCUMENT_TYPES = ("invoice", "credit_note")
EXPORT_PAGE_PREVIEW = 50


def _attachment(response: HttpResponseBase, filename: str) -> HttpResponseBase:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
def document_export(
    request: HttpRequest, public_id: UUID, fmt: str
) -> HttpResponseBase:
    document = approved_document_for(request.user, public_id)
    if fmt not in ("csv", "json", "ubl"):
        raise Http404("No such export format")
    export = export_for(document, user=request.user)
    if fmt == "ubl" and export.document_type not in UBL_DOCUMENT_TYPES:
        raise Http404("UBL is for invoices and credit notes only")
    documents_export_record(
        user=request.user,
        document_ids=[str(document.public_id)],
        export_format=fmt,
        via="browser",
    )
    stem = f"vouch-{document.public_id}"
    if fmt == "csv":
        streamed = StreamingHttpResponse(csv_chunks([export]), content_type=CSV_TYPE)
        return _attachment(streamed, f"{stem}.csv")
    if fmt == "json":
        return _attachment(JsonResponse(as_json(export)), f"{stem}.json")
    xml = HttpResponse(ubl_xml(export), content_type="application/xml")
    return _attachment(xml, f"{stem}-ubl.xml")


def _batch_filters(data: ExportFilterForm) -> ExportFilters:
    cleaned = data.cleaned_data
    exported = {"yes": True, "no": False}.get(cleaned.get("exported") or "")
    return ExportFilters(
        approved_from=cleaned.get("approved_from"),
        approved_to=cleaned.get("approved_to"),
        exported=exported,
    )


def _require_batch_export(user: AnyUser) -> None:
    if not can_export_batches(user):
        raise PermissionDenied("Your role does not include batch exports.")


@require_GET
def export_page(request: HttpRequest) -> HttpResponse:
    _require_batch_export(request.user)
    form = ExportFilterForm(request.GET or {"exported": "no"})
    documents = None
    if form.is_valid():
        documents = exportable_documents(
            user=request.user, filters=_batch_filters(form)
        ).select_related("decided_by")
    return render(
        request,
        "reviewapp/export.html",
        {
            "form": form,
            "count": documents.count() if documents is not None else 0,
            "documents": documents[:EXPORT_PAGE_PREVIEW] if documents else [],
            "query": urlencode({k: v for k, v in form.data.items() if v}),
        },
    )


def _json_array(items: Iterator[ExportDocument]) -> Iterator[str]:
    yield "["
    for index, item in enumerate(items):
        yield ("," if index else "") + json.dumps(as_json(item))
    yield "]"


@require_GET
def export_batch(request: HttpRequest, fmt: str) -> HttpResponseBase:
    _require_batch_export(request.user)
    form = ExportFilterForm(request.GET)
    if not form.is_valid():
        errors = "; ".join(
            message for messages in form.errors.values() for message in messages
        )
        return HttpResponse(errors, status=400, content_type="text/plain")
    if fmt not in ("csv", "json", "xlsx"):
        raise Http404("No such export format")
    documents = exportable_documents(user=request.user, filters=_batch_filters(form))
    documents_export_record(
        user=request.user,
        document_ids=[str(i) for i in documents.values_list("public_id", flat=True)],
        export_format=fmt,
        via="browser",
    )
    items = export_documents_for(documents, user=request.user)
    stem = f"vouch-export-{timezone.localtime():%Y%m%d-%H%M}"
    response: HttpResponseBase
    if fmt == "csv":
        response = StreamingHttpResponse(csv_chunks(items), content_type=CSV_TYPE)
        return _attachment(response, f"{stem}.csv")
    if fmt == "json":
        response = StreamingHttpResponse(
            _json_array(items), content_type="application/json"
        )
        return _attachment(response, f"{stem}.json")
    response = HttpResponse(xlsx_bytes(items), content_type=XLSX_TYPE)
    return _attachment(response, f"{stem}.xlsx")
