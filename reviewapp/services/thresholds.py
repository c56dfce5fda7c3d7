"""Administrators' per-field auto-accept thresholds: the table routing, the
queues and the review page read (reviewapp.thresholds)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from reviewapp.audit.trail import record_event
from reviewapp.extraction_fields import FIELD_NAMES, auto_accept_threshold
from reviewapp.models.audit import AuditEvent
from reviewapp.models.configuration import FieldThreshold
from reviewapp.thresholds import review_thresholds


def field_threshold_set(
    *, name: str, threshold: float | None, actor: AbstractBaseUser, note: str = ""
) -> FieldThreshold | None:
    """Set (or, with None, remove) an administrator's threshold for one field,
    the table routing, queues and the review page read; audited with the
    value it replaces and the calibrated one."""
    if name not in FIELD_NAMES:
        raise ValueError(f"unknown field {name!r}")
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise ValueError("a threshold lies between 0 and 1")
    with transaction.atomic():
        previous = review_thresholds().get(name)
        row: FieldThreshold | None = None
        if threshold is None:
            FieldThreshold.objects.filter(name=name).delete()
        else:
            row, _ = FieldThreshold.objects.update_or_create(
                name=name, defaults={"threshold": threshold, "note": note}
            )
        record_event(
            AuditEvent.EventType.SETTINGS_CHANGED,
            actor=actor,
            details={
                "setting": f"threshold:{name}",
                "value": threshold,
                "previous": previous,
                "calibrated": auto_accept_threshold(name),
                "note": note,
            },
        )
    return row
