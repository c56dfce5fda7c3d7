"""Reads for the threshold simulator: what a per-field threshold would have done
to the values the machine read, judged by what people then did with them.

The evidence is every field of every document a person approved (routing's
straight-through approvals are left out: nobody looked, so a wrong value
there was never found). A value people left as the machine read it counts as
right; one they changed, as an error the threshold would have let through.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Floor

from reviewapp import charts
from reviewapp.extraction_fields import (
    FIELD_LABELS,
    FIELD_NAMES,
    auto_accept_evidence,
    auto_accept_thresholds,
)
from reviewapp.metric_arithmetic import (
    BUCKET_EPSILON,
    CONFIDENCE_BUCKETS,
    BucketCounts,
    CurvePoint,
    candidate_thresholds,
    nearest_index,
    threshold_curve,
)
from reviewapp.models.configuration import FieldThreshold
from reviewapp.models.documents import Document
from reviewapp.models.fields import Field
from reviewapp.thresholds import review_thresholds


@dataclass(frozen=True)
class Simulation:
    field_name: str
    documents: int  # approved by a person: the denominator of "per 1,000"
    values: int  # the field's machine values with a confidence among them
    current: CurvePoint
    candidate: CurvePoint
    curve: list[CurvePoint]
    overridden: bool  # VOUCH_FLAG_BELOW_CONFIDENCE_PERCENT sets every field

    @property
    def label(self) -> str:
        return FIELD_LABELS.get(self.field_name, self.field_name)

    def share_chart(self) -> str:
        return charts.line_chart(
            title=f"{self.label}: share auto-accepted",
            description=(
                f"For each threshold from {self.curve[0].threshold:.2f} to 1.00, "
                f"the share of {self.values} recorded {self.label} values that "
                "would have needed no review. The dashed line is the current "
                f"threshold, {self.current.threshold:.3f}."
            ),
            x_labels=[f"{p.threshold:.2f}" for p in self.curve],
            series=[
                charts.Series(
                    "Auto-accepted", [p.auto_accepted_share for p in self.curve]
                )
            ],
            y_format=charts.as_percent,
            y_max=1.0,
            marker=self._marker(),
        )

    def error_chart(self) -> str:
        return charts.line_chart(
            title=f"{self.label}: expected errors per 1,000 documents",
            description=(
                "For each threshold, wrong values that would have been accepted "
                f"without review, per 1,000 of the {self.documents} documents "
                "people approved. The dashed line is the current threshold."
            ),
            x_labels=[f"{p.threshold:.2f}" for p in self.curve],
            series=[
                charts.Series(
                    "Errors per 1,000", [p.errors_per_thousand for p in self.curve]
                )
            ],
            marker=self._marker(),
        )

    def _marker(self) -> charts.Marker:
        thresholds = [p.threshold for p in self.curve]
        return charts.Marker(
            nearest_index(thresholds, self.current.threshold),
            f"now {self.current.threshold:.3f}",
        )


@dataclass(frozen=True)
class ThresholdRow:
    """One field's threshold now, where it comes from and what backs it."""

    field_name: str
    label: str
    threshold: float
    source: str  # "override", "administrator", "calibrated" or "default"
    note: str  # the administrator's reason, for their own value
    calibrated: float | None  # the calibration's own threshold
    samples: int | None  # held-out values behind it
    accepted_share: float | None  # of them, the share it auto-accepts
    error_bound: float | None  # the bound on error it was chosen under

    @property
    def evidence(self) -> str:
        """What backs the calibration's threshold, in a sentence."""
        if self.calibrated is None or not self.samples:
            return "No calibration for this field"
        if self.calibrated >= 1.0:
            return (
                f"{self.samples:,} held-out values cannot show an error of 1 % "
                "or less at any threshold: always checked"
            )
        return (
            f"Calibrated {self.calibrated:.3f} on {self.samples:,} held-out values: "
            f"{self.accepted_share or 0:.0%} accepted, error at most "
            f"{self.error_bound or 0:.1%}"
        )


def threshold_overview() -> list[ThresholdRow]:
    """Every field's threshold as routing uses it, with its source: the
    simulator's starting point, so an admin sees which fields the machine
    may accept alone and on how much held-out evidence."""
    now = review_thresholds()
    calibrated = auto_accept_thresholds()
    overridden = settings.VOUCH_FLAG_BELOW_CONFIDENCE is not None
    chosen = {t.name: t for t in FieldThreshold.objects.all()}
    rows = []
    for name in FIELD_NAMES:
        evidence = auto_accept_evidence(name)
        samples = None if evidence is None else int(evidence["samples"])
        if overridden:
            source, note = "override", ""
        elif name in chosen:
            source, note = "administrator", chosen[name].note
        elif evidence is not None and calibrated[name] == evidence["threshold"]:
            source, note = "calibrated", ""
        else:
            source, note = "default", ""
        rows.append(
            ThresholdRow(
                field_name=name,
                label=FIELD_LABELS.get(name, name),
                threshold=now[name],
                source=source,
                note=note,
                calibrated=None if evidence is None else float(evidence["threshold"]),
                samples=samples,
                accepted_share=(
                    int(evidence["accepted"]) / samples
                    if evidence is not None and samples
                    else None
                ),
                error_bound=None if evidence is None else evidence["error_bound"],
            )
        )
    return rows


def _evidence(
    field_name: str, document_type: str
) -> tuple[QuerySet[Field], QuerySet[Document]]:
    documents = Document.objects.order_by().filter(
        status=Document.Status.APPROVED, straight_through=False
    )
    if document_type:
        documents = documents.filter(document_type=document_type)
    fields = (
        Field.objects.order_by()
        .filter(
            document__in=documents.values("pk"),
            name=field_name,
            machine_confidence__isnull=False,
        )
        .exclude(machine_value="")
    )
    return fields, documents


def confidence_buckets(
    field_name: str, *, document_type: str = ""
) -> tuple[dict[int, BucketCounts], int]:
    """The field's recorded machine values counted per confidence bucket (kept
    and changed), and how many documents people approved, in two queries."""
    fields, documents = _evidence(field_name, document_type)
    rows = (
        fields.annotate(
            bucket=Floor(F("machine_confidence") * CONFIDENCE_BUCKETS + BUCKET_EPSILON)
        )
        .values("bucket")
        .annotate(
            kept=Count("id", filter=Q(value=F("machine_value"))),
            values=Count("id"),
        )
        .values_list("bucket", "kept", "values")
    )
    buckets: dict[int, BucketCounts] = {}
    for bucket, kept, values in rows:
        index = min(CONFIDENCE_BUCKETS, max(0, int(bucket)))
        previous = buckets.get(index, BucketCounts(0, 0))
        buckets[index] = BucketCounts(
            previous.kept + kept, previous.changed + values - kept
        )
    return buckets, documents.count()


def simulate(
    field_name: str, *, candidate: float | None = None, document_type: str = ""
) -> Simulation:
    """The curve from 0.50 to 1.00 for one field, the current threshold (the
    one routing uses now) and a candidate, each evaluated exactly."""
    if field_name not in FIELD_NAMES:
        raise ValueError(f"unknown field {field_name!r}")
    current = review_thresholds()[field_name]
    buckets, documents = confidence_buckets(field_name, document_type=document_type)
    chosen = current if candidate is None else candidate
    candidates = candidate_thresholds()
    *curve, current_point, candidate_point = threshold_curve(
        buckets, documents, [*candidates, current, chosen]
    )
    return Simulation(
        field_name=field_name,
        documents=documents,
        values=sum(b.kept + b.changed for b in buckets.values()),
        current=current_point,
        candidate=candidate_point,
        curve=curve,
        overridden=settings.VOUCH_FLAG_BELOW_CONFIDENCE is not None,
    )
