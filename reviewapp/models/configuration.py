"""Administrators' settings: rules, sensitive fields, thresholds and retention."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from pipeline.registry import validation_rules

# --- validation ----------------------------------------------------------------


class ValidationRuleSetting(models.Model):
    """An admin's switch for one rule on one document type. Rules without a row
    run (see `pipeline.registry.validation_rules`)."""

    document_type = models.CharField(max_length=30)
    rule = models.CharField(max_length=60)
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["document_type", "rule"]
        constraints = [
            models.UniqueConstraint(
                fields=["document_type", "rule"], name="rule_setting_unique"
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.rule} for {self.document_type}: {'on' if self.enabled else 'off'}"
        )

    def clean(self) -> None:
        known = {spec.code for spec in validation_rules.all()}
        if self.rule not in known:
            raise ValidationError(
                {
                    "rule": f"No rule is called “{self.rule}”; "
                    f"known: {', '.join(sorted(known))}."
                }
            )


class SensitiveField(models.Model):
    """A field whose value is masked for everyone until someone allowed to
    reveals it with a reason. Admins edit the list in Django admin."""

    name = models.CharField(max_length=50, unique=True)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class FieldThreshold(models.Model):
    """An administrator's auto-accept threshold for one field, replacing the
    calibrated one (see reviewapp.thresholds)."""

    name = models.CharField(max_length=50, unique=True)
    threshold = models.FloatField(
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="0 to 1: machine values at or above it need no review",
    )
    note = models.CharField(
        max_length=300, blank=True, help_text="Why it differs from the calibrated one"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} >= {self.threshold:.3f}"


class RetentionPolicy(models.Model):
    """An administrator's retention period for one document type, replacing
    the default from settings (VOUCH_RETENTION_DAYS)."""

    document_type = models.CharField(max_length=30, unique=True)
    days = models.PositiveIntegerField(
        validators=[MinValueValidator(1)],
        help_text="Days a document is kept after it arrived",
    )
    note = models.CharField(max_length=300, blank=True, help_text="Legal basis")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "reviewapp"
        ordering = ["document_type"]
        verbose_name = "retention policy"
        verbose_name_plural = "retention policies"

    def __str__(self) -> str:
        return f"{self.document_type}: {self.days} days"
