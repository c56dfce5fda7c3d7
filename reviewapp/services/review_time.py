"""Active review time, reported by the review page while a person works on a
document: seconds with the page visible and the person active, idle excluded."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping

from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.db import transaction

from reviewapp.extraction_fields import FIELD_NAMES
from reviewapp.models.documents import Document
from reviewapp.models.review import ReviewTime

REVIEW_TIME_SALT = "vouch.review-time"
# A review page reports for this long after it was opened; a tab left open
# for days stops counting (its time is idle in any case).
REVIEW_TIME_MAX_AGE_SECONDS = 12 * 3600
# Slack for clocks and the last beacon's rounding.
REVIEW_TIME_SLACK_SECONDS = 5.0


class ReviewTimeRefused(Exception):
    """The report does not belong to this page view, person or document."""


def review_time_token(*, document: Document, user: AbstractBaseUser) -> str:
    """A token for one opening of the review page: which document, who, and
    when it was opened, signed so the page cannot claim more time than has
    passed since."""
    return signing.dumps(
        [document.pk, user.pk, time.time()], salt=REVIEW_TIME_SALT, compress=True
    )


def review_time_record(
    *,
    document: Document,
    user: AbstractBaseUser,
    token: str,
    active_seconds: float,
    field_seconds: Mapping[str, float],
) -> ReviewTime:
    """Store the active time one page view has counted so far. Reports are
    cumulative, so a repeated or late beacon changes nothing and a lost one
    loses nothing; the time is capped at the time since the page opened.
    Raises ReviewTimeRefused for a token of another page, person or document."""
    try:
        document_pk, user_pk, opened_at = signing.loads(
            token, salt=REVIEW_TIME_SALT, max_age=REVIEW_TIME_MAX_AGE_SECONDS
        )
    except signing.BadSignature as error:
        raise ReviewTimeRefused(
            "This review page is too old to record time."
        ) from error
    if document_pk != document.pk or user_pk != user.pk:
        raise ReviewTimeRefused("This report belongs to another page.")
    elapsed = max(0.0, time.time() - float(opened_at)) + REVIEW_TIME_SLACK_SECONDS
    active = min(max(0.0, float(active_seconds)), elapsed)
    fields = {
        name: min(max(0.0, float(seconds)), active)
        for name, seconds in field_seconds.items()
        if name in FIELD_NAMES
    }
    page_view = hashlib.sha256(token.encode()).hexdigest()[:32]
    with transaction.atomic():
        spent, created = ReviewTime.objects.select_for_update().get_or_create(  # type: ignore[misc]
            page_view=page_view,
            defaults={
                "document": document,
                "user": user,
                "username": user.get_username(),
                "active_seconds": active,
                "field_seconds": fields,
            },
        )
        if not created:
            spent.active_seconds = max(spent.active_seconds, active)
            spent.field_seconds = {
                name: max(spent.field_seconds.get(name, 0.0), fields.get(name, 0.0))
                for name in {*spent.field_seconds, *fields}
            }
            spent.save(update_fields=["active_seconds", "field_seconds", "updated_at"])
    return spent
