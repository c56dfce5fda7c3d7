"""Admin pages for the master data and the validation rule switches.

Saving through the admin runs the models' `clean`, so IBANs and VAT ids are
checked exactly as `import_master_data` checks them.
"""

from __future__ import annotations

from django.contrib import admin

from reviewapp.models import (
    GoodsReceipt,
    PurchaseOrder,
    PurchaseOrderLine,
    ValidationRuleSetting,
    Vendor,
)


@admin.register(Vendor)
class VendorAdmin(admin.ModelAdmin):
    list_display = ["name", "number", "vat_id", "country", "currency", "active"]
    list_filter = ["active", "country", "currency"]
    search_fields = ["name", "number", "vat_id", "aliases", "ibans"]
    readonly_fields = ["public_id", "created_at", "updated_at"]


class PurchaseOrderLineInline(admin.TabularInline):
    model = PurchaseOrderLine
    extra = 0
    fields = ["line_number", "item_code", "description", "quantity", "unit_price"]


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(admin.ModelAdmin):
    list_display = ["number", "vendor", "currency", "created_at"]
    list_filter = ["currency"]
    search_fields = ["number", "vendor__name", "vendor__number"]
    list_select_related = ["vendor"]
    autocomplete_fields = ["vendor"]
    readonly_fields = ["public_id", "created_at", "updated_at"]
    inlines = [PurchaseOrderLineInline]


@admin.register(PurchaseOrderLine)
class PurchaseOrderLineAdmin(admin.ModelAdmin):
    list_display = ["purchase_order", "line_number", "description", "quantity"]
    search_fields = ["purchase_order__number", "description", "item_code"]
    list_select_related = ["purchase_order"]


@admin.register(GoodsReceipt)
class GoodsReceiptAdmin(admin.ModelAdmin):
    list_display = ["reference", "line", "quantity_received", "received_on"]
    search_fields = ["reference", "line__purchase_order__number"]
    list_select_related = ["line__purchase_order"]
    autocomplete_fields = ["line"]
    date_hierarchy = "received_on"


@admin.register(ValidationRuleSetting)
class ValidationRuleSettingAdmin(admin.ModelAdmin):
    list_display = ["rule", "document_type", "enabled"]
    list_filter = ["document_type", "enabled"]
    list_editable = ["enabled"]
