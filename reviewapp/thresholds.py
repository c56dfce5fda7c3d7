"""The confidence at or above which a machine value needs nobody's look, per
field: one table for the review page's flags, the queues' reasons, routing
(straight-through approval) and `evaluate`, so what is measured is what ships.

Where the numbers come from, strongest first:
1. `VOUCH_FLAG_BELOW_CONFIDENCE_PERCENT`, when set: one threshold for every
   field (a deliberate override, e.g. for a pilot);
2. an administrator's per-field value (Django admin → Field thresholds);
3. the calibration artefact's threshold for the target precision
   (`manage.py calibrate_confidence`), else 0.90.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings

from reviewapp.extraction_fields import (
    DEFAULT_AUTO_ACCEPT,
    FIELD_NAMES,
    auto_accept_thresholds,
)
from reviewapp.models.configuration import FieldThreshold


def review_thresholds() -> dict[str, float]:
    """Every field's threshold, in one query."""
    override = settings.VOUCH_FLAG_BELOW_CONFIDENCE
    if override is not None:
        return dict.fromkeys(FIELD_NAMES, float(override))
    thresholds = auto_accept_thresholds()
    thresholds.update(FieldThreshold.objects.values_list("name", "threshold"))
    return thresholds


def is_unsure(
    name: str, confidence: float | None, thresholds: Mapping[str, float]
) -> bool:
    """A machine value below its field's threshold; a person's value (or one
    without a confidence) never is."""
    if confidence is None:
        return False
    return confidence < thresholds.get(name, DEFAULT_AUTO_ACCEPT)
