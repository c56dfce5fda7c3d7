"""The operations dashboard's counts, summed per day ahead of the page.

`reviewapp.selectors.operation_figures` says what each document adds to which
day; `reviewapp.services.operations.operations_rollup` keeps these rows equal to
the sum of it, so a year on the dashboard reads one row per day and type
instead of every document in it.
"""

from __future__ import annotations

from django.db import models

from reviewapp.models.documents import Document


class OperationsDay(models.Model):
    """Per day and document type: how many documents count under each figure
    that day ({"approved": 41, "cycle:1:412": 3, ...})."""

    day = models.DateField()
    document_type = models.CharField(max_length=30, blank=True)
    figures = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "document_type"], name="operations_day_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.document_type or '(no type)'}"


class DocumentFigures(models.Model):
    """What one document added to the day rows when last rolled up: taken back
    out when it changes, so the sums never need recounting from scratch."""

    document = models.OneToOneField(
        Document, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    document_type = models.CharField(max_length=30, blank=True)
    # [[day as ISO text, figure], ...]: each pair counts one.
    figures = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"figures of document {self.document_id}"


class OperationsRollup(models.Model):
    """How far the day rows reach (one row). Every document up to
    `through_document_id` is in them as it was at audit event
    `through_sequence`; documents created after it, or with a later event, are
    counted live. `rules` fingerprints the settings the figures depend on
    (thresholds, time zone ...): when it differs, nothing here is used."""

    singleton = models.PositiveSmallIntegerField(primary_key=True, default=1)
    rules = models.CharField(max_length=64, blank=True)
    through_sequence = models.PositiveBigIntegerField(default=0)
    through_document_id = models.PositiveBigIntegerField(default=0)
    # /metrics' stage histograms of the successful runs up to this run id
    # (every run up to it finished): {stage: {"counts": [per bucket of
    # selectors.metrics.STAGE_BUCKETS, then +Inf], "seconds": sum}}. Later
    # runs are counted at scrape time. Independent of `rules`.
    through_run_id = models.PositiveBigIntegerField(default=0)
    stage_histograms = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return (
            f"operations rollup through document {self.through_document_id}, "
            f"event {self.through_sequence}"
        )
