"""The ERP's side of the API: pull approved documents not exported yet, mark
them exported, and push master data (vendors, purchase orders, receipts)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reviewapp.api.serializers import (
    ErrorSerializer,
    ExportDocumentSerializer,
    ImportReportSerializer,
    MarkExportedSerializer,
    MasterDataRowSerializer,
)
from reviewapp.export_formats import as_json
from reviewapp.models.documents import Document
from reviewapp.permissions import approved_document_for, can_export_batches
from reviewapp.selectors.exports import (
    ExportFilters,
    export_documents_for,
    exportable_documents,
)
from reviewapp.services.exports import document_mark_exported, documents_export_record
from reviewapp.services.master_data import (
    MasterDataFileError,
    master_data_import,
    read_master_data,
)


class ExportPagination(PageNumberPagination):
    # An ERP may take bigger pages than the browsable default.
    page_size_query_param = "page_size"
    max_page_size = 500


class ExportViewSet(viewsets.GenericViewSet[Document]):
    """Approved documents for the ERP. Sensitive values are masked unless the
    caller may reveal them (give the ERP's user the supervisor or admin role)."""

    lookup_field = "public_id"
    serializer_class = ExportDocumentSerializer
    pagination_class = ExportPagination

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if not can_export_batches(request.user):
            raise PermissionDenied("Your role does not include exports.")

    def get_queryset(self) -> QuerySet[Document]:
        return exportable_documents(
            user=self.request.user, filters=ExportFilters(exported=False)
        )

    @extend_schema(
        responses=ExportDocumentSerializer(many=True),
        description=(
            "Approved documents not marked exported yet, oldest approval first. "
            "Take a page, store it, then mark each document exported."
        ),
    )
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset()) or []
        ordered = Document.objects.filter(pk__in=[d.pk for d in page]).order_by(
            "decided_at", "id"
        )
        items = export_documents_for(ordered, user=request.user)
        if page:
            documents_export_record(
                user=request.user,
                document_ids=[str(d.public_id) for d in page],
                export_format="json",
                via="api",
            )
        return self.get_paginated_response([as_json(item) for item in items])

    @extend_schema(
        request=None,
        responses={200: MarkExportedSerializer, 404: ErrorSerializer},
        parameters=[
            OpenApiParameter("public_id", str, OpenApiParameter.PATH, description="id")
        ],
        description=(
            "Mark an approved document exported. Idempotent: calling again "
            "answers 200 with the first exported_at. Publishes document.exported "
            "to webhooks once."
        ),
    )
    @action(detail=True, methods=["post"], url_path="mark-exported")
    def mark_exported(self, request: Request, public_id: str) -> Response:
        document = approved_document_for(request.user, public_id)
        document = document_mark_exported(document=document, user=request.user)
        return Response(
            {
                "id": str(document.public_id),
                "exported_at": document.exported_at,
                "exported_by": (
                    document.exported_by.get_username()
                    if document.exported_by
                    else None
                ),
            }
        )


class MasterDataPushView(APIView):
    """Create or update master data by its ERP key, as `import_master_data`
    does: send a JSON list of records; the answer reports each row."""

    kind = ""
    permission_model = ""

    def _push(self, request: Request) -> Response:
        app_label = "reviewapp"
        if not (
            request.user.has_perm(f"{app_label}.add_{self.permission_model}")
            and request.user.has_perm(f"{app_label}.change_{self.permission_model}")
        ):
            raise PermissionDenied("Your role does not maintain master data.")
        try:
            rows = read_master_data(
                "request body.json", json.dumps(request.data).encode()
            )
        except MasterDataFileError as error:
            return Response({"error": str(error)}, status.HTTP_400_BAD_REQUEST)
        report = master_data_import(kind=self.kind, rows=rows)
        return Response(
            {
                "kind": report.kind,
                "summary": report.summary,
                "rows": [
                    {**asdict(row), "reasons": list(row.reasons)} for row in report.rows
                ],
            }
        )

    @extend_schema(
        request=MasterDataRowSerializer(many=True),
        responses={200: ImportReportSerializer, 400: ErrorSerializer},
    )
    def post(self, request: Request) -> Response:
        return self._push(request)

    @extend_schema(
        request=MasterDataRowSerializer(many=True),
        responses={200: ImportReportSerializer, 400: ErrorSerializer},
    )
    def put(self, request: Request) -> Response:
        return self._push(request)


class VendorPushView(MasterDataPushView):
    kind = "vendors"
    permission_model = "vendor"


class PurchaseOrderPushView(MasterDataPushView):
    kind = "purchase_orders"
    permission_model = "purchaseorder"


class GoodsReceiptPushView(MasterDataPushView):
    kind = "goods_receipts"
    permission_model = "goodsreceipt"
