"""API endpoints: thin adapters from HTTP to permissions, services and selectors."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, parsers, status, viewsets
from rest_framework.exceptions import ParseError, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from reviewapp.api.serializers import (
    DocumentSerializer,
    ErrorSerializer,
    UploadResultSerializer,
    UploadSerializer,
)
from reviewapp.api.throttling import ApiRateThrottle, UploadRateThrottle
from reviewapp.models.documents import Document
from reviewapp.models.fields import Field
from reviewapp.permissions import visible_documents
from reviewapp.services.ingest import (
    IngestRefused,
    document_ingest,
    unreadable_upload_reason,
)


class DocumentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Document]
):
    """Documents the caller may see, with their fields.

    Another user's document answers 404, exactly as if it did not exist.
    """

    serializer_class = DocumentSerializer
    lookup_field = "public_id"
    # Uploads (POST) count against their own, lower limit as well.
    throttle_classes = [ApiRateThrottle, UploadRateThrottle]
    parser_classes = [parsers.MultiPartParser, parsers.FormParser]

    def get_queryset(self) -> QuerySet[Document]:
        documents = visible_documents(self.request.user).prefetch_related(
            Prefetch("fields", queryset=Field.objects.select_related("page"))
        )
        wanted_status = self.request.query_params.get("status")
        if wanted_status:
            documents = documents.filter(status=wanted_status)
        return documents.order_by("-created_at", "-id")

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "status",
                str,
                enum=Document.Status.values,
                description="Only documents in this status.",
            )
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=UploadSerializer,
        responses={
            201: UploadResultSerializer,
            200: UploadResultSerializer,
            400: ErrorSerializer,
            403: ErrorSerializer,
        },
        description=(
            "Upload one file. 201 with the new document, queued for reading; 200 "
            "when the same file was uploaded before (the earlier document is "
            "returned if you may see it); 400 with a reason when it is refused."
        ),
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not request.user.has_perm("reviewapp.add_document"):
            raise PermissionDenied("You may not upload documents.")
        try:
            data = request.data
        except ParseError as error:
            reason = unreadable_upload_reason(str(error.detail))
            return Response({"error": reason}, status.HTTP_400_BAD_REQUEST)
        upload = UploadSerializer(data=data)
        if not upload.is_valid():
            return Response(
                {"error": "Send the document as multipart form field 'file'."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        sent = upload.validated_data["file"]
        try:
            result = document_ingest(
                content=sent.read(),
                original_name=sent.name,
                channel=Document.Channel.API,
                uploaded_by=request.user,
            )
        except IngestRefused as refusal:
            return Response({"error": refusal.reason}, status.HTTP_400_BAD_REQUEST)
        visible = self.get_queryset().filter(pk=result.document.pk).first()
        message = ""
        if result.duplicate:
            message = (
                f"{sent.name} was already uploaded as {result.document.original_name}"
                if visible
                else f"{sent.name} was already uploaded by someone else"
            )
        body = {
            "duplicate": result.duplicate,
            "message": message,
            "document": (
                DocumentSerializer(visible, context={"request": request}).data
                if visible
                else None
            ),
        }
        return Response(
            body,
            status=status.HTTP_200_OK if result.duplicate else status.HTTP_201_CREATED,
        )
