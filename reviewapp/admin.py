"""Django admin: what admins manage by hand (the list of sensitive fields) and
read (who revealed what)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from reviewapp.extraction_fields import FIELD_LABELS
from reviewapp.models import SensitiveField, SensitiveReveal


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
