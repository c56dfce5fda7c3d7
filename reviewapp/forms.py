from __future__ import annotations

from typing import Any

from django import forms

from reviewapp.audit.export import ExportFilters
from reviewapp.extraction_fields import (
    FIELD_LABELS,
    FIELD_NAMES,
    InvalidValue,
    normalise_human_value,
)
from reviewapp.learning.training_data import (
    TYPED,
    CorrectionEvidence,
    TrainingFilters,
    box_of,
)
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document
from reviewapp.models.learning import FieldCorrection
from reviewapp.models.review import BankChangeAttestation


class UploadForm(forms.Form):
    file = forms.FileField()
    # The file's full name, when the page sent the file under a shortened one
    # (see upload.js): a multipart part's headers may not exceed 1 KB.
    original_name = forms.CharField(required=False, strip=False)


class FieldCorrectionForm(forms.Form):
    value = forms.CharField(max_length=500, strip=True, required=False)
    # Optional: why the person changed the value; kept in the audit trail.
    reason = forms.CharField(max_length=500, strip=True, required=False)
    # Where the value came from on the page (training data): typed, or the
    # text of a clicked line or word or of a drawn box, with that box.
    source = forms.ChoiceField(choices=FieldCorrection.Source.choices, required=False)
    evidence_page = forms.IntegerField(min_value=1, required=False)
    evidence_box = forms.CharField(max_length=100, required=False)

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
        cleaned["evidence"] = self._evidence(cleaned)
        return cleaned

    def _evidence(self, cleaned: dict[str, Any]) -> CorrectionEvidence:
        source = cleaned.get("source") or FieldCorrection.Source.TYPED
        page, box_text = cleaned.get("evidence_page"), cleaned.get("evidence_box")
        if source == FieldCorrection.Source.TYPED:
            return TYPED
        try:
            edges = [round(float(edge)) for edge in (box_text or "").split(",")]
        except ValueError:
            edges = []
        if page is None or len(edges) != 4:
            self.add_error(
                "evidence_box", "A value taken from the page needs its page and box."
            )
            return TYPED
        return CorrectionEvidence(source=source, page_number=page, box=box_of(edges))


class LineItemCellForm(forms.Form):
    """One cell of the line-item grid; the service parses the value."""

    column = forms.ChoiceField(
        choices=[
            (name, name)
            for name in (
                "description",
                "item_code",
                "quantity",
                "unit_price",
                "amount",
                "tax_rate",
            )
        ]
    )
    value = forms.CharField(max_length=2000, strip=True, required=False)
    reason = forms.CharField(max_length=500, strip=True, required=False)


class LineItemRowForm(forms.Form):
    """Add, delete or split a row: an optional reason, and for a split the
    quantity the first row keeps."""

    reason = forms.CharField(max_length=500, strip=True, required=False)
    first_quantity = forms.CharField(max_length=40, strip=True, required=False)
    after = forms.IntegerField(required=False, min_value=1)


class EscalateForm(forms.Form):
    reason = forms.ChoiceField(
        choices=[("", "Choose a reason…"), *Document.EscalationReason.choices]
    )
    note = forms.CharField(max_length=2000, required=False, strip=True)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("reason") == Document.EscalationReason.OTHER and not (
            cleaned.get("note")
        ):
            self.add_error("note", "Say why you escalate this document.")
        return cleaned


class BankAttestationForm(forms.Form):
    """How the new bank details were verified with the vendor, with whom and
    when (the attester is whoever submits it)."""

    method = forms.ChoiceField(
        choices=[
            ("", "How did you verify them?"),
            *BankChangeAttestation.Method.choices,
        ]
    )
    vendor_contact = forms.CharField(
        max_length=200,
        strip=True,
        error_messages={"required": "Say who at the vendor confirmed them."},
    )
    verified_at = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        error_messages={"required": "Say when they confirmed them."},
    )
    note = forms.CharField(max_length=2000, required=False, strip=True)


class RejectForm(forms.Form):
    note = forms.CharField(
        max_length=2000,
        strip=True,
        error_messages={"required": "Say why you reject this document."},
    )


class AuditExportForm(forms.Form):
    """Filters and format of an audit export; the page and `export_audit` share it."""

    format = forms.ChoiceField(
        choices=[("csv", "CSV"), ("jsonl", "JSON Lines")], initial="csv"
    )
    since = forms.DateField(
        label="From",
        required=False,
        help_text="First day, UTC",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    until = forms.DateField(
        label="To",
        required=False,
        help_text="Last day, UTC, included",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    user = forms.CharField(max_length=150, required=False, help_text="Username")
    document = forms.UUIDField(
        required=False, help_text="Document id, as in its page address"
    )
    event_type = forms.ChoiceField(
        choices=[("", "Any"), *AuditEvent.EventType.choices], required=False
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", "The last day cannot be before the first day.")
        return cleaned

    def filters(self) -> ExportFilters:
        data = self.cleaned_data
        return ExportFilters(
            since=data["since"],
            until=data["until"],
            username=data["user"],
            document_public_id=data["document"],
            event_type=data["event_type"],
        )


class TrainingExportForm(forms.Form):
    """What the training data download holds; values in clear need a reason."""

    format = forms.ChoiceField(
        choices=[("jsonl", "JSON Lines"), ("kie", "PaddleOCR KIE (SER) labels")],
        initial="jsonl",
    )
    since = forms.DateField(
        label="Corrected from",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    corrected_by = forms.CharField(max_length=150, required=False, help_text="Username")
    reveal = forms.BooleanField(
        label="Sensitive values in clear", required=False, help_text="Recorded"
    )
    reason = forms.CharField(
        label="Why in clear?", max_length=500, required=False, strip=True
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("reveal") and len(cleaned.get("reason", "")) < 5:
            self.add_error("reason", "Say why you need the values in clear.")
        return cleaned

    def filters(self) -> TrainingFilters:
        return TrainingFilters(
            since=self.cleaned_data["since"],
            corrected_by=self.cleaned_data["corrected_by"],
        )

    def reveal_reason(self) -> str:
        return self.cleaned_data["reason"] if self.cleaned_data["reveal"] else ""


class RevealForm(forms.Form):
    """A reason to see a masked value, on the review page or in the history;
    recorded with the reveal."""

    reason = forms.CharField(
        min_length=5,
        max_length=500,
        strip=True,
        error_messages={"required": "Say why you need to see this value."},
    )


class QueueFilterForm(forms.Form):
    vendor = forms.CharField(max_length=200, required=False, strip=True)
    reason = forms.CharField(max_length=30, required=False)
    status = forms.CharField(max_length=30, required=False)
    document_type = forms.CharField(max_length=30, required=False)
    sort = forms.CharField(max_length=20, required=False)


class ExportFilterForm(forms.Form):
    """Which approved documents a batch export holds."""

    EXPORTED_CHOICES = [
        ("", "Exported or not"),
        ("no", "Not exported yet"),
        ("yes", "Already exported"),
    ]

    approved_from = forms.DateField(
        required=False, label="Approved from", widget=forms.DateInput({"type": "date"})
    )
    approved_to = forms.DateField(
        required=False, label="Approved until", widget=forms.DateInput({"type": "date"})
    )
    exported = forms.ChoiceField(
        required=False, choices=EXPORTED_CHOICES, label="Exported"
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("approved_from"), cleaned.get("approved_to")
        if start and end and start > end:
            raise forms.ValidationError(
                "“Approved from” is after “Approved until”: swap the dates."
            )
        return cleaned


class DashboardFilterForm(forms.Form):
    """The dashboard's date range (days, both included) and document type."""

    start = forms.DateField(label="From", widget=forms.DateInput({"type": "date"}))
    end = forms.DateField(label="Until", widget=forms.DateInput({"type": "date"}))
    document_type = forms.ChoiceField(label="Document type", required=False)

    MAX_DAYS = 732

    def __init__(self, *args: Any, document_types: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["document_type"].choices = [  # type: ignore[attr-defined]
            ("", "Every type"),
            *((name, name.replace("_", " ").capitalize()) for name in document_types),
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            raise forms.ValidationError("“From” is after “Until”: swap the dates.")
        if start and end and (end - start).days >= self.MAX_DAYS:
            raise forms.ValidationError("Choose at most two years at a time.")
        return cleaned


class SimulatorForm(forms.Form):
    """Which field to simulate, and a candidate threshold to compare."""

    field = forms.ChoiceField(label="Field", choices=list(FIELD_LABELS.items()))
    threshold = forms.FloatField(
        label="Candidate threshold",
        required=False,
        min_value=0.0,
        max_value=1.0,
        widget=forms.NumberInput({"step": "0.001", "min": "0", "max": "1"}),
    )
    document_type = forms.CharField(required=False, widget=forms.HiddenInput)


class ThresholdApplyForm(forms.Form):
    field = forms.ChoiceField(choices=list(FIELD_LABELS.items()))
    threshold = forms.FloatField(min_value=0.0, max_value=1.0)
    note = forms.CharField(max_length=300, strip=True)


class SplitForm(forms.Form):
    """Where the documents of a batch begin: the pages ticked (page 1 always)."""

    starts = forms.TypedMultipleChoiceField(coerce=int, required=False)

    def __init__(self, *args: Any, page_count: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["starts"].choices = [  # type: ignore[attr-defined]
            (str(number), f"page {number}") for number in range(1, page_count + 1)
        ]
        self.fields["starts"].error_messages["invalid_choice"] = (
            "The batch has no page %(value)s to split at."
        )
