"""What validation found on a document: the run's outcome and each issue."""

from __future__ import annotations

from django.db import models

from reviewapp.models.documents import Document
from reviewapp.models.master_data import PurchaseOrder, Vendor


class DocumentValidation(models.Model):
    """The latest validation of a document: whom it is from, which PO it bills,
    and what duplicate detection needs of it. Replaced on every run."""

    class MatchMethod(models.TextChoices):
        CONFIRMED = "confirmed", "Confirmed by a person"
        VAT_ID = "vat_id", "VAT id"
        IBAN = "iban", "IBAN"
        NAME = "name", "Name and address"

    document = models.OneToOneField(
        Document, on_delete=models.CASCADE, related_name="validation"
    )
    vendor = models.ForeignKey(
        Vendor, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    vendor_match_method = models.CharField(
        max_length=20, choices=MatchMethod.choices, blank=True
    )
    vendor_match_confidence = models.FloatField(null=True, blank=True)
    purchase_order = models.ForeignKey(
        PurchaseOrder,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    document_type = models.CharField(max_length=30)
    image_fingerprint = models.CharField(
        max_length=16, blank=True, help_text="64-bit difference hash of page 1, hex"
    )
    rules_run = models.JSONField(default=list)
    validated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"validation of {self.document_id}"


class ValidationIssue(models.Model):
    """One failing rule on a document, from the latest validation run."""

    class Severity(models.TextChoices):
        ERROR = "error", "Error"
        WARNING = "warning", "Warning"

    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="validation_issues"
    )
    rule = models.CharField(max_length=60)
    code = models.CharField(max_length=60, db_index=True)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    fields = models.JSONField(default=list, help_text="Field names involved")
    message = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    needs_supervisor = models.BooleanField(
        default=False,
        help_text="Only a supervisor other than the handler may approve",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["document", "id"]

    def __str__(self) -> str:
        return f"{self.code} on {self.document_id}"
