"""Django admin: where administrators look after configuration and deliveries."""

from __future__ import annotations

from django.contrib import admin

from reviewapp.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


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
