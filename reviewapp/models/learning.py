"""What the machine learns from: corrections, extractor versions, vendor memory."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from pipeline.extract.scorer_candidates import (
    SCORED_FIELDS,
)
from pipeline.extract.scorer_gate import dev_data_accuracy
from pipeline.extract.vendor_memory import VendorLayoutHint
from reviewapp.models.documents import Document, Page
from reviewapp.models.master_data import Vendor


class FieldCorrection(models.Model):
    """One person's correction of one field, with the evidence on the page: the
    machine's value and box and the OCR text under it, the corrected value and
    the box the person clicked or drew and the OCR text under that. Training
    data for the extractor (`manage.py export_training`).

    Values and texts that are or hold a sensitive value are kept masked in
    their column; the clear text is only in `sealed`, encrypted under the
    audit key (reviewapp.learning.training_data)."""

    class Source(models.TextChoices):
        TYPED = "typed", "Typed"
        CLICKED_LINE = "clicked_line", "Clicked a line"
        CLICKED_WORD = "clicked_word", "Clicked a word"
        DRAWN_BOX = "drawn_box", "Drew a box"

    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="corrections"
    )
    field_name = models.CharField(max_length=50)
    machine_value = models.TextField(blank=True)
    machine_confidence = models.FloatField(null=True, blank=True)
    machine_page = models.ForeignKey(
        Page, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    machine_box = models.JSONField(null=True, blank=True, help_text="[x0, y0, x1, y1]")
    machine_ocr_text = models.TextField(
        blank=True, help_text="The OCR lines under the machine's box"
    )
    corrected_value = models.TextField(blank=True)
    source = models.CharField(
        max_length=20, choices=Source.choices, default=Source.TYPED
    )
    page = models.ForeignKey(
        Page,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="corrections",
        help_text="The page of the box the person chose",
    )
    corrected_box = models.JSONField(
        null=True, blank=True, help_text="[x0, y0, x1, y1]"
    )
    corrected_ocr_text = models.TextField(
        blank=True, help_text="The OCR words inside the chosen box"
    )
    sealed = models.JSONField(
        default=dict,
        blank=True,
        help_text="Column name -> ciphertext of its clear text (sensitive only)",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    username = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        permissions = [
            ("export_fieldcorrection", "Can export corrections as training data"),
        ]

    def __str__(self) -> str:
        return f"{self.field_name} of {self.document_id} ({self.source})"


class ExtractorVersion(models.Model):
    """One trained version of the learned field scorer, with the scores that
    decided whether it went live (see reviewapp.learning.extractor_versions).

    At most one version is active; when none is, documents are read by
    `settings.VOUCH_EXTRACTOR`. The artefact is small JSON and lives in the row,
    so every worker loads the same bytes without shared files.
    """

    class Decision(models.TextChoices):
        BASELINE = "baseline", "Checked-in model"
        PROMOTED = "promoted", "Promoted"
        REJECTED = "rejected", "Rejected by the gate"

    name = models.CharField(max_length=100)
    content_hash = models.CharField(max_length=64, unique=True)
    artefact = models.JSONField(help_text="The model as written by train_extractor")
    training_summary = models.JSONField(default=dict)
    scores = models.JSONField(default=dict, help_text="Cross-validated, per field")
    evaluation = models.JSONField(
        default=dict, help_text="The gate's comparison with the version live then"
    )
    decision = models.CharField(max_length=20, choices=Decision.choices)
    decision_reasons = models.JSONField(default=list)
    is_active = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    promoted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [
            ("manage_extractor", "Can retrain, promote and roll back the extractor"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=models.Q(is_active=True),
                name="one_active_extractor_version",
            )
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """name@hash, as processing runs record it."""
        return f"{self.name}@{self.content_hash[:12]}"

    @property
    def field_scores(self) -> list[tuple[str, dict[str, Any] | None]]:
        """Cross-validated scores per scored field, in the pipeline's order,
        each with `read_right`: the share read right on the dev data, which is
        the figure the gate shows for this version when it is live."""
        read_right = dev_data_accuracy(self.scores)
        rows: list[tuple[str, dict[str, Any] | None]] = []
        for name in SCORED_FIELDS:
            row = self.scores.get(name)
            if row is not None and name in read_right:
                share, documents = read_right[name]
                row = {
                    **row,
                    "read_right": f"{100 * share:.1f}%",  # as the gate words it
                    "read_right_documents": documents,
                }
            rows.append((name, row))
        return rows


class VendorFieldMemory(models.Model):
    """Where one vendor prints one field, learned from a person's correction.
    The hint holds the label, positions and the value's shape, never the value."""

    vendor = models.ForeignKey(
        Vendor, on_delete=models.CASCADE, related_name="field_memories"
    )
    field_name = models.CharField(max_length=50)
    hint = models.JSONField(help_text="pipeline.extract.vendor_memory hint")
    learned_from = models.ForeignKey(
        Document, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    learned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    learned_at = models.DateTimeField()
    times_used = models.PositiveIntegerField(default=0)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "reviewapp"
        ordering = ["vendor", "field_name"]
        verbose_name = "vendor field memory"
        verbose_name_plural = "vendor field memories"
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "field_name"], name="vendor_field_memory_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.field_name} of {self.vendor_id}"

    @property
    def layout_hint(self) -> VendorLayoutHint:
        return VendorLayoutHint.from_json(self.hint)

    def describe(self) -> str:
        """The hint in words, for the admin list."""
        hint = self.layout_hint
        shape = f" shaped {hint.value_shape}" if hint.value_shape else ""
        page = f"page {hint.page_number}"
        if hint.anchor_text:
            where = {"inline": "after", "right": "right of", "below": "below"}.get(
                hint.placement, "near"
            )
            return f"{hint.kind}{shape}, {where} '{hint.anchor_text}', {page}"
        x, y = hint.value_box[0], hint.value_box[1]
        return f"{hint.kind}{shape} at {x:.0%} across, {y:.0%} down {page}"


class ConfirmedVendor(models.Model):
    """What approved documents taught the vendor directory about one vendor:
    its confirmed name, keys (VAT or registration ids, IBANs), the text
    fields people confirmed with where they were printed, and layouts. Linked
    to the vendor master when the master knows the vendor; a shop the master
    does not know is a confirmed vendor of its own."""

    key = models.CharField(max_length=300, unique=True)
    vendor = models.OneToOneField(
        Vendor,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="confirmation",
    )
    name = models.CharField(max_length=300)
    entry = models.JSONField(help_text="pipeline.extract.vendor_directory vendor")
    learned_from = models.ForeignKey(
        Document, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    times_used = models.PositiveIntegerField(default=0)

    class Meta:
        app_label = "reviewapp"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
