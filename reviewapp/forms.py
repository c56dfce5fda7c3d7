from __future__ import annotations

from typing import Any

from django import forms

from reviewapp.extraction_fields import (
    FIELD_NAMES,
    InvalidValue,
    normalise_human_value,
)


class UploadForm(forms.Form):
    file = forms.FileField()


class FieldCorrectionForm(forms.Form):
    value = forms.CharField(max_length=500, strip=True, required=False)
    # Optional: why the person changed the value; kept in the audit trail.
    reason = forms.CharField(max_length=500, strip=True, required=False)

    def __init__(self, *args: Any, field_name: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.field_name = field_name

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.field_name not in FIELD_NAMES:
            raise forms.ValidationError(f"{self.field_name} is not a field Vouch reads")
        try:
            cleaned["value"] = normalise_human_value(
                self.field_name, cleaned.get("value", "")
            )
        except InvalidValue as invalid:
            self.add_error("value", str(invalid))
        return cleaned
