"""Why a read document needs a person's look, in queue terms. One reason per
document, the most serious first; escalations come from the status instead."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# Fields without which a document cannot be booked: a gap is a review reason.
KEY_FIELDS = ("vendor_name", "invoice_date", "total_amount")

MISSING_FIELDS = "missing_fields"
LOW_CONFIDENCE = "low_confidence"
UNSURE_TYPE = "unsure_type"
ROUTINE = "routine"
ESCALATED = "escalated"
NEW_COPY = "new_copy"  # the image will not read (from the status, like escalated)
SPLIT = "split"  # several documents in one file: the split waits for a person
DECIDED = "decided"  # approved or rejected: nothing left to review (the overview)

LABELS = {
    ESCALATED: "Escalated",
    NEW_COPY: "Needs a new copy",
    SPLIT: "Split to confirm",
    MISSING_FIELDS: "Key field missing",
    UNSURE_TYPE: "Document type unsure",
    LOW_CONFIDENCE: "Low confidence",
    ROUTINE: "Routine check",
    DECIDED: "Decided",
}


def reason_for(
    fields: Iterable[tuple[str, str, float | None]],
    *,
    flag_below: float | Mapping[str, float],
    type_unsure: bool = False,
) -> str:
    """The reason for fields given as (name, value, confidence); `flag_below`
    is one threshold for all fields or one per field (reviewapp.thresholds)."""
    filled = [(name, confidence) for name, value, confidence in fields if value]
    names = {name for name, _ in filled}
    if any(name not in names for name in KEY_FIELDS):
        return MISSING_FIELDS
    if type_unsure:
        return UNSURE_TYPE
    if any(
        confidence is not None and confidence < _threshold(flag_below, name)
        for name, confidence in filled
    ):
        return LOW_CONFIDENCE
    return ROUTINE


def document_confidence(fields: Iterable[tuple[str, str, float | None]]) -> float:
    """The estimated probability that every value read from the document is
    right: the product of its fields' calibrated confidences, which treats
    their errors as independent. A value a person set or confirmed counts as
    certain (confidence 1.0, or None); a missing key field makes it 0."""
    filled = {name: confidence for name, value, confidence in fields if value}
    if any(name not in filled for name in KEY_FIELDS):
        return 0.0
    product = 1.0
    for confidence in filled.values():
        product *= 1.0 if confidence is None else confidence
    return product


def _threshold(flag_below: float | Mapping[str, float], name: str) -> float:
    if isinstance(flag_below, Mapping):
        # A field without a threshold of its own is never auto-accepted blindly.
        return flag_below.get(name, 1.0)
    return flag_below
