"""Admin pages for the master data, the validation rule switches, webhooks, the
list of sensitive fields and the record of who revealed what.

Saving through the admin runs the models' `clean`, so IBANs and VAT ids are
checked exactly as `import_master_data` checks them; each master-data list
also takes a CSV or JSON file through the same importer.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from pipeline.registry import validation_rules
from pipeline.validate.types import DOCUMENT_TYPES
from reviewapp.audit.trail import record_event
from reviewapp.extraction_fields import FIELD_LABELS, auto_accept_threshold
from reviewapp.learning.vendor_memory import memories_delete
from reviewapp.models.audit import AuditEvent
from reviewapp.models.configuration import (
    FieldThreshold,
    RetentionPolicy,
    SensitiveField,
    ValidationRuleSetting,
)
from reviewapp.models.learning import VendorFieldMemory
from reviewapp.models.master_data import (
    GoodsReceipt,
    PurchaseOrder,
    PurchaseOrderLine,
    Vendor,
)
from reviewapp.models.review import SensitiveReveal
from reviewapp.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from reviewapp.services.master_data import (
    GOODS_RECEIPT_COLUMNS,
    PURCHASE_ORDER_COLUMNS,
    VENDOR_COLUMNS,
    MasterDataFileError,
    master_data_import,
    read_master_data,
)
from reviewapp.services.retention import policy_changed


class MasterDataFileForm(forms.Form):
    file = forms.FileField(help_text="A .csv file with a header row, or a .json list")


class MasterDataImportMixin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Adds "Import CSV or JSON" to the list page, for users who may both add
    and change the model; the report lists every row's outcome."""

    import_kind = ""
    import_columns: frozenset[str] = frozenset()
    change_list_template = "admin/reviewapp/change_list_with_import.html"

    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta
        name = f"{opts.app_label}_{opts.model_name}_import"
        urls: list[URLPattern] = [
            path("import/", self.admin_site.admin_view(self.import_view), name=name)
        ]
        return urls + super().get_urls()

    def may_import(self, request: HttpRequest) -> bool:
        return self.has_add_permission(request) and self.has_change_permission(request)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {**(extra_context or {}), "can_import": self.may_import(request)}
        return super().changelist_view(request, extra_context=context)

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.may_import(request):
            raise PermissionDenied
        opts = self.model._meta
        form = MasterDataFileForm(request.POST or None, request.FILES or None)
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "opts": opts,
            "title": f"Import {opts.verbose_name_plural}",
            "changelist_url": f"admin:{opts.app_label}_{opts.model_name}_changelist",
            "columns": sorted(self.import_columns),
            "form": form,
        }
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                rows = read_master_data(upload.name, upload.read())
            except MasterDataFileError as error:
                context["file_error"] = str(error)
            else:
                context["report"] = master_data_import(kind=self.import_kind, rows=rows)
                context["file_name"] = upload.name
        return TemplateResponse(
            request, "admin/reviewapp/import_master_data.html", context
        )


class VendorFieldMemoryInline(admin.TabularInline):  # type: ignore[type-arg]
    """What was learned for this vendor, read-only: deleting goes through the
    memory's own admin page, which audits it."""

    model = VendorFieldMemory
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ["field_name", "remembered", "learned_by", "learned_at", "times_used"]
    readonly_fields = fields

    @admin.display(description="Remembered")
    def remembered(self, obj: VendorFieldMemory) -> str:
        return obj.describe()

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Vendor)
class VendorAdmin(MasterDataImportMixin):
    import_kind = "vendors"
    import_columns = VENDOR_COLUMNS
    list_display = ["name", "number", "vat_id", "country", "currency", "active"]
    list_filter = ["active", "country", "currency"]
    search_fields = ["name", "number", "vat_id", "aliases", "ibans"]
    readonly_fields = ["public_id", "created_at", "updated_at"]
    inlines = [VendorFieldMemoryInline]


class PurchaseOrderLineInline(admin.TabularInline):  # type: ignore[type-arg]
    model = PurchaseOrderLine
    extra = 0
    fields = ["line_number", "item_code", "description", "quantity", "unit_price"]


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(MasterDataImportMixin):
    import_kind = "purchase_orders"
    import_columns = PURCHASE_ORDER_COLUMNS
    list_display = ["number", "vendor", "currency", "created_at"]
    list_filter = ["currency"]
    search_fields = ["number", "vendor__name", "vendor__number"]
    list_select_related = ["vendor"]
    autocomplete_fields = ["vendor"]
    readonly_fields = ["public_id", "created_at", "updated_at"]
    inlines = [PurchaseOrderLineInline]


@admin.register(PurchaseOrderLine)
class PurchaseOrderLineAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["purchase_order", "line_number", "description", "quantity"]
    search_fields = ["purchase_order__number", "description", "item_code"]
    list_select_related = ["purchase_order"]


@admin.register(GoodsReceipt)
class GoodsReceiptAdmin(MasterDataImportMixin):
    import_kind = "goods_receipts"
    import_columns = GOODS_RECEIPT_COLUMNS
    list_display = ["reference", "line", "quantity_received", "received_on"]
    search_fields = ["reference", "line__purchase_order__number"]
    list_select_related = ["line__purchase_order"]
    autocomplete_fields = ["line"]
    date_hierarchy = "received_on"


class ValidationRuleSettingForm(forms.ModelForm):  # type: ignore[type-arg]
    """Pick the rule and document type from those the registry knows."""

    document_type = forms.ChoiceField(
        choices=[(kind, kind.replace("_", " ")) for kind in DOCUMENT_TYPES]
    )
    rule = forms.ChoiceField(
        choices=[
            (spec.code, f"{spec.code}: {spec.description}")
            for spec in validation_rules.all()
        ]
    )

    class Meta:
        model = ValidationRuleSetting
        fields = ["document_type", "rule", "enabled"]


@admin.register(ValidationRuleSetting)
class ValidationRuleSettingAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = ValidationRuleSettingForm
    list_display = ["rule", "document_type", "enabled"]
    list_filter = ["document_type", "enabled"]
    list_editable = ["enabled"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["name", "url", "events", "active", "created_at"]
    list_filter = ["active"]


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    readonly_fields = [
        "number",
        "attempted_at",
        "status_code",
        "error",
        "response_excerpt",
        "duration_ms",
    ]

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """Read-only: a delivery log is evidence, not configuration."""

    list_display = [
        "public_id",
        "event",
        "endpoint",
        "status",
        "attempts",
        "created_at",
    ]
    list_filter = ["status", "event", "endpoint"]
    readonly_fields = [
        "public_id",
        "endpoint",
        "event",
        "payload",
        "status",
        "attempts",
        "created_at",
        "finished_at",
    ]
    inlines = [WebhookAttemptInline]

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


class SensitiveFieldForm(forms.ModelForm):  # type: ignore[type-arg]
    # Only fields Vouch reads, plus any already listed (e.g. bank_account,
    # masked before an extractor reads it).
    name = forms.ChoiceField()

    class Meta:
        model = SensitiveField
        fields = ["name"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = dict(FIELD_LABELS)
        if self.instance.pk:
            choices.setdefault(self.instance.name, self.instance.name)
        self.fields["name"].choices = sorted(choices.items())  # type: ignore[attr-defined]


@admin.register(SensitiveField)
class SensitiveFieldAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = SensitiveFieldForm
    list_display = ["name", "added_at"]


@admin.register(SensitiveReveal)
class SensitiveRevealAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only: a reveal is a record, never edited."""

    list_display = ["revealed_at", "user", "document", "field_name", "reason"]
    list_filter = ["field_name"]
    list_select_related = ["user", "document"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: SensitiveReveal | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: SensitiveReveal | None = None
    ) -> bool:
        return False


class FieldThresholdForm(forms.ModelForm):  # type: ignore[type-arg]
    name = forms.ChoiceField(choices=sorted(FIELD_LABELS.items()))

    class Meta:
        model = FieldThreshold
        fields = ["name", "threshold", "note"]


@admin.register(FieldThreshold)
class FieldThresholdAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Per-field auto-accept thresholds that replace the calibrated ones; each
    change is recorded in the audit trail."""

    form = FieldThresholdForm
    list_display = ["name", "threshold", "calibrated", "note", "updated_at"]

    @admin.display(description="Calibrated")
    def calibrated(self, obj: FieldThreshold) -> str:
        return f"{auto_accept_threshold(obj.name):.3f}"

    def save_model(
        self, request: HttpRequest, obj: FieldThreshold, form: Any, change: bool
    ) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            record_event(
                AuditEvent.EventType.SETTINGS_CHANGED,
                actor=request.user,
                details={
                    "setting": f"threshold:{obj.name}",
                    "value": obj.threshold,
                    "calibrated": auto_accept_threshold(obj.name),
                    "note": obj.note,
                },
            )

    def delete_model(self, request: HttpRequest, obj: FieldThreshold) -> None:
        with transaction.atomic():
            super().delete_model(request, obj)
            record_event(
                AuditEvent.EventType.SETTINGS_CHANGED,
                actor=request.user,
                details={
                    "setting": f"threshold:{obj.name}",
                    "value": None,
                    "calibrated": auto_accept_threshold(obj.name),
                },
            )


@admin.register(VendorFieldMemory)
class VendorFieldMemoryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """What reviewers' corrections taught per vendor: inspect it, or delete it
    (audited) when it reads a vendor's documents wrongly. Never edited."""

    list_display = [
        "vendor",
        "field_name",
        "remembered",
        "learned_from",
        "learned_by",
        "learned_at",
        "times_used",
        "last_used_at",
    ]
    list_filter = ["vendor", "field_name"]
    list_select_related = ["vendor", "learned_from", "learned_by"]
    search_fields = ["vendor__name", "vendor__number", "field_name"]
    readonly_fields = [
        "vendor",
        "field_name",
        "remembered",
        "hint",
        "learned_from",
        "learned_by",
        "learned_at",
        "times_used",
        "last_used_at",
    ]

    @admin.display(description="Remembered")
    def remembered(self, obj: VendorFieldMemory) -> str:
        return obj.describe()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: VendorFieldMemory | None = None
    ) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: VendorFieldMemory) -> None:
        memories_delete(memories=[obj], user=request.user)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        memories_delete(
            memories=list(queryset.select_related("vendor", "learned_from")),
            user=request.user,  # type: ignore[arg-type]
        )


class RetentionPolicyForm(forms.ModelForm):  # type: ignore[type-arg]
    document_type = forms.ChoiceField(
        choices=[(kind, kind.replace("_", " ")) for kind in DOCUMENT_TYPES]
    )

    class Meta:
        model = RetentionPolicy
        fields = ["document_type", "days", "note"]


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Retention periods per document type, replacing the settings' defaults;
    a change is audited and moves the retain-until day of the type's documents."""

    form = RetentionPolicyForm
    list_display = ["document_type", "days", "years", "note", "updated_at"]

    @admin.display(description="Years")
    def years(self, obj: RetentionPolicy) -> str:
        return f"{obj.days / 365.25:.1f}"

    def save_model(
        self,
        request: HttpRequest,
        obj: RetentionPolicy,
        form: Any,
        change: bool,
    ) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            policy_changed(
                document_type=obj.document_type,
                user=request.user,  # type: ignore[arg-type]
                days=obj.days,
                note=obj.note,
            )

    def delete_model(self, request: HttpRequest, obj: RetentionPolicy) -> None:
        with transaction.atomic():
            super().delete_model(request, obj)
            policy_changed(
                document_type=obj.document_type,
                user=request.user,  # type: ignore[arg-type]
                days=None,
            )

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for policy in list(queryset):
            self.delete_model(request, policy)
