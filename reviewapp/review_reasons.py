"""Why a read document needs a person's look, in queue terms. One reason per
document, the most serious first; escalations come from the status instead."""

from __future__ import annotations

from collections.abc import Iterable

# Fields without which a document cannot be booked: a gap is a review reason.
KEY_FIELDS = ("vendor_name", "invoice_date", "total_amount")

MISSING_FIELDS = "missing_fields"
LOW_CONFIDENCE = "low_confidence"
ROUTINE = "routine"
ESCALATED = "escalated"

LABELS = {
    ESCALATED: "Escalated",
    MISSING_FIELDS: "Key field missing",
    LOW_CONFIDENCE: "Low confidence",
    ROUTINE: "Routine check",
}


def reason_for(
    fields: Iterable[tuple[str, str, float | None]], *, flag_below: float
) -> str:
    """The reason for fields given as (name, value, confidence)."""
    filled = [(name, confidence) for name, value, confidence in fields if value]
    names = {name for name, _ in filled}
    if any(name not in names for name in KEY_FIELDS):
        return MISSING_FIELDS
    if any(
        confidence is not None and confidence < flag_below for _, confidence in filled
    ):
        return LOW_CONFIDENCE
    return ROUTINE
