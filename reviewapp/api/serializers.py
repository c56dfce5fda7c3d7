"""How documents look in the API. Read-only: every write goes through services."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from reviewapp.masking import (
    document_secrets,
    mask_text,
    mask_value,
    sensitive_field_names,
)
from reviewapp.models.documents import Document
from reviewapp.models.fields import Field
from reviewapp.selectors.documents import quality_advice


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
    quality_advice = serializers.SerializerMethodField(
        help_text="What the capture check asks of the sender (images only)"
    )

    def get_quality_advice(self, instance: Document) -> list[str]:
        return quality_advice(instance)

    def to_representation(self, instance: Document) -> dict[str, Any]:
        """Sensitive values are masked for every reader, as on the review page
        (clear values go only through a recorded reveal, or the ERP export)."""
        data = super().to_representation(instance)
        sensitive = sensitive_field_names()
        everywhere = document_secrets(instance.fields.all(), sensitive)
        for field in data["fields"]:
            secrets = everywhere
            if field["name"] in sensitive:
                # Its explanation may quote it as read, a real secret or not.
                secrets = everywhere.with_values([field["value"], field["raw_value"]])
            for key in ("value", "raw_value", "explanation"):
                text = field[key] or ""
                if field["name"] in sensitive and key != "explanation":
                    field[key] = mask_value(text)
                else:
                    field[key] = mask_text(text, secrets)
        return data

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
            "quality_score",
            "quality_advice",
            "channel",
            "created_at",
            "processed_at",
            "fields",
        ]
        read_only_fields = fields


class UploadSerializer(serializers.Serializer[Any]):
    file = serializers.FileField(
        help_text=(
            "PDF, PNG, JPEG, TIFF, WebP, HEIC or e-invoice XML (UBL 2.1, CII); "
            "the type is decided by content."
        )
    )


class UploadResultSerializer(serializers.Serializer[Any]):
    """What an upload answers: the document (new or the one it duplicates)."""

    duplicate = serializers.BooleanField()
    message = serializers.CharField(allow_blank=True)
    document = DocumentSerializer(allow_null=True)


class ErrorSerializer(serializers.Serializer[Any]):
    error = serializers.CharField()


# --- exports (what exports.as_json writes) ------------------------------------


class ExportLineSerializer(serializers.Serializer[Any]):
    description = serializers.CharField()
    quantity = serializers.CharField(allow_blank=True)
    unit_price = serializers.CharField(allow_blank=True)
    amount = serializers.CharField(allow_blank=True)
    tax_rate = serializers.CharField(allow_blank=True)
    item_code = serializers.CharField(allow_blank=True)


class MatchedVendorSerializer(serializers.Serializer[Any]):
    id = serializers.CharField(help_text="The ERP's vendor number")
    name = serializers.CharField()


class ExportDocumentSerializer(serializers.Serializer[Any]):
    """An approved document as `reviewapp.export_formats.as_json` writes it."""

    id = serializers.UUIDField()
    file_name = serializers.CharField()
    document_type = serializers.CharField()
    approved_at = serializers.DateTimeField()
    approved_by = serializers.CharField(
        help_text='The approver\'s username, or "straight-through"'
    )
    exported_at = serializers.DateTimeField(allow_null=True)
    masked = serializers.BooleanField(
        help_text="True when sensitive values (IBAN ...) are masked for this caller"
    )
    fields = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        help_text="Header fields by name, normalised (ISO dates, plain decimals)",
    )
    lines = ExportLineSerializer(many=True)
    matched_vendor = MatchedVendorSerializer(allow_null=True)
    matched_purchase_order = serializers.CharField(allow_null=True)


class MarkExportedSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    exported_at = serializers.DateTimeField()
    exported_by = serializers.CharField(allow_null=True)


# --- master data push -----------------------------------------------------------


class MasterDataRowSerializer(serializers.Serializer[Any]):
    """One record, with the columns of `reviewapp.services.master_data` (see the
    import_master_data command); a purchase order may nest its "lines"."""

    number = serializers.CharField(required=False)


class ImportRowSerializer(serializers.Serializer[Any]):
    row = serializers.IntegerField(help_text="1-based position in the list sent")
    key = serializers.CharField()
    outcome = serializers.ChoiceField(
        choices=["created", "updated", "unchanged", "rejected"]
    )
    reasons = serializers.ListField(child=serializers.CharField())


class ImportReportSerializer(serializers.Serializer[Any]):
    kind = serializers.CharField()
    summary = serializers.CharField()
    rows = ImportRowSerializer(many=True)
