from __future__ import annotations

from django import forms

from reviewapp.extraction_fields import FIELD_NAMES


class UploadForm(forms.Form):
    file = forms.FileField()


class FieldCorrectionForm(forms.Form):
    value = forms.CharField(max_length=500, strip=True, required=False)

    def __init__(self, *args: object, field_name: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.field_name = field_name

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        if self.field_name not in FIELD_NAMES:
            raise forms.ValidationError(f"{self.field_name} is not a field Vouch reads")
        return cleaned
