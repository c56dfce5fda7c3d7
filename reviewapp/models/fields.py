"""What extraction read: header fields and line items, with confidence and source."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from reviewapp.models.documents import Document, Page


class Field(models.Model):
    """One extracted value. A machine run rewrites machine_* and, unless a person
    has set the field, value and confidence; a human value is never overwritten."""

    class SetBy(models.TextChoices):
        MACHINE = "machine", "Machine"
        HUMAN = "human", "Person"

    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="fields"
    )
    name = models.CharField(max_length=50)
    raw_value = models.TextField(blank=True)
    value = models.TextField(blank=True, help_text="Normalised")
    confidence = models.FloatField(null=True, blank=True)
    page = models.ForeignKey(Page, null=True, blank=True, on_delete=models.SET_NULL)
    box = models.JSONField(null=True, blank=True, help_text="[x0, y0, x1, y1]")
    explanation = models.TextField(blank=True)
    set_by = models.CharField(
        max_length=20, choices=SetBy.choices, default=SetBy.MACHINE
    )
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    corrected_at = models.DateTimeField(null=True, blank=True)
    machine_value = models.TextField(blank=True)
    machine_confidence = models.FloatField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["document", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "name"], name="field_name_unique_per_document"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}={self.value!r}"

    def as_payload(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "raw_value": self.raw_value,
            "confidence": self.confidence,
            "set_by": self.set_by,
        }


class LineItem(models.Model):
    """One invoice line. Like Field: a machine run rewrites machine_* and, while
    no person has touched the document's lines, the values too; a line a person
    has edited, added or split keeps its values (set_by=human)."""

    class SetBy(models.TextChoices):
        MACHINE = "machine", "Machine"
        HUMAN = "human", "Person"

    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="line_items"
    )
    position = models.PositiveIntegerField(help_text="1-based, as the grid shows it")
    description = models.TextField(blank=True)
    item_code = models.CharField(max_length=100, blank=True)
    quantity = models.DecimalField(
        max_digits=18, decimal_places=6, null=True, blank=True
    )
    unit_price = models.DecimalField(
        max_digits=18, decimal_places=6, null=True, blank=True
    )
    amount = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    tax_rate = models.DecimalField(
        max_digits=7, decimal_places=4, null=True, blank=True, help_text="Percent"
    )
    confidence = models.FloatField(null=True, blank=True)
    page = models.ForeignKey(Page, null=True, blank=True, on_delete=models.SET_NULL)
    box = models.JSONField(null=True, blank=True, help_text="[x0, y0, x1, y1]")
    source = models.CharField(max_length=20, blank=True, help_text="xml, pdf_text, ocr")
    explanation = models.TextField(blank=True)
    set_by = models.CharField(
        max_length=20, choices=SetBy.choices, default=SetBy.MACHINE
    )
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    corrected_at = models.DateTimeField(null=True, blank=True)
    machine_description = models.TextField(blank=True)
    machine_quantity = models.DecimalField(
        max_digits=18, decimal_places=6, null=True, blank=True
    )
    machine_unit_price = models.DecimalField(
        max_digits=18, decimal_places=6, null=True, blank=True
    )
    machine_amount = models.DecimalField(
        max_digits=18, decimal_places=4, null=True, blank=True
    )
    machine_tax_rate = models.DecimalField(
        max_digits=7, decimal_places=4, null=True, blank=True
    )
    machine_confidence = models.FloatField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["document", "position", "id"]

    def __str__(self) -> str:
        return f"line {self.position}: {self.description[:40]!r} {self.amount}"
