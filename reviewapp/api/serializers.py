"""How documents look in the API. Read-only: every write goes through services."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from reviewapp.models import Document, Field


class FieldSerializer(serializers.ModelSerializer[Field]):
    page = serializers.IntegerField(
        source="page.number", allow_null=True, default=None, read_only=True
    )
    box = serializers.ListField(
        child=serializers.IntegerField(),
        allow_null=True,
        read_only=True,
        help_text="[x0, y0, x1, y1] in page pixels",
    )

    class Meta:
        model = Field
        fields = [
            "name",
            "value",
            "raw_value",
            "confidence",
            "set_by",
            "page",
            "box",
            "explanation",
        ]
        read_only_fields = fields


class DocumentSerializer(serializers.ModelSerializer[Document]):
    id = serializers.UUIDField(source="public_id", read_only=True)
    name = serializers.CharField(source="original_name", read_only=True)
    pages = serializers.IntegerField(
        source="page_count", allow_null=True, read_only=True
    )
    fields = FieldSerializer(many=True, read_only=True)
    url = serializers.HyperlinkedIdentityField(
        view_name="api-document-detail", lookup_field="public_id"
    )

    class Meta:
        model = Document
        fields = [
            "id",
            "url",
            "name",
            "status",
            "failure_reason",
            "content_type",
            "size_bytes",
            "sha256",
            "pages",
            "channel",
            "created_at",
            "processed_at",
            "fields",
        ]
        read_only_fields = fields


class UploadSerializer(serializers.Serializer[Any]):
    file = serializers.FileField(
        help_text="PDF, PNG, JPEG or TIFF; the type is decided by content."
    )


class UploadResultSerializer(serializers.Serializer[Any]):
    """What an upload answers: the document (new or the one it duplicates)."""

    duplicate = serializers.BooleanField()
    message = serializers.CharField(allow_blank=True)
    document = DocumentSerializer(allow_null=True)


class ErrorSerializer(serializers.Serializer[Any]):
    error = serializers.CharField()
