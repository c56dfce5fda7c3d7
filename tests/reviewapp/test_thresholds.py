"""One threshold table for flags, queue reasons and routing: the override, then
an administrator's value, then the calibrated one."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings as SettingsWrapper

from reviewapp import review_reasons
from reviewapp.extraction_fields import auto_accept_threshold
from reviewapp.models.audit import AuditEvent
from reviewapp.models.configuration import FieldThreshold
from reviewapp.thresholds import is_unsure, review_thresholds

pytestmark = pytest.mark.django_db


def test_calibrated_thresholds_apply_by_default() -> None:
    thresholds = review_thresholds()
    assert thresholds["total_amount"] == auto_accept_threshold("total_amount")
    assert thresholds["invoice_date"] == auto_accept_threshold("invoice_date")


def test_an_administrator_s_threshold_replaces_the_calibrated_one() -> None:
    FieldThreshold.objects.create(name="total_amount", threshold=0.8)

    thresholds = review_thresholds()

    assert thresholds["total_amount"] == 0.8
    assert is_unsure("total_amount", 0.79, thresholds)
    assert not is_unsure("total_amount", 0.8, thresholds)
    assert not is_unsure("total_amount", None, thresholds)  # a person's value


def test_the_override_setting_wins_for_every_field(settings: SettingsWrapper) -> None:
    FieldThreshold.objects.create(name="total_amount", threshold=0.8)
    settings.VOUCH_FLAG_BELOW_CONFIDENCE = 0.6

    assert set(review_thresholds().values()) == {0.6}


def test_queue_reasons_follow_per_field_thresholds() -> None:
    fields = [
        ("vendor_name", "ACME", 0.95),
        ("invoice_date", "2026-11-02", 0.95),
        ("total_amount", "238.00", 0.95),
    ]
    relaxed = {"vendor_name": 0.9, "invoice_date": 0.9, "total_amount": 0.9}
    strict = {**relaxed, "total_amount": 0.99}

    assert review_reasons.reason_for(fields, flag_below=relaxed) == "routine"
    assert review_reasons.reason_for(fields, flag_below=strict) == "low_confidence"


def test_an_admin_changes_a_threshold_and_the_change_is_audited(
    admin_user: User,
) -> None:
    admin_user.is_staff = True
    admin_user.save()
    client = Client()
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:reviewapp_fieldthreshold_add"),
        {"name": "invoice_date", "threshold": "0.85", "note": "dates are reliable"},
    )

    assert response.status_code == 302
    assert FieldThreshold.objects.get(name="invoice_date").threshold == 0.85
    (event,) = AuditEvent.objects.filter(event_type="settings_changed")
    assert event.details["setting"] == "threshold:invoice_date"
    assert event.details["value"] == 0.85
    assert event.actor_username == "admin"
    refused = client.post(
        reverse("admin:reviewapp_fieldthreshold_add"),
        {"name": "not_a_field", "threshold": "0.5"},
    )
    assert refused.status_code == 200  # the form again, with the error
