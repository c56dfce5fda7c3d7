"""A sign-in's writes (last sign-in time, audit event, failed attempts cleared)
commit together: on SQLite each transaction waits for the one writer."""

from __future__ import annotations

from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import user_logged_in
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.urls import reverse

from reviewapp.models.audit import AuditEvent
from tests.conftest import PASSWORD

# Outside the test's own transaction, or every write would seem to share one.
pytestmark = pytest.mark.django_db(transaction=True)


def test_a_sign_in_writes_in_one_transaction_and_records_each_write(
    clerk: User,
) -> None:
    client = Client(REMOTE_ADDR="203.0.113.11")
    client.post(reverse("login"), {"username": "clerk", "password": "guess"})
    assert AccessAttempt.objects.filter(username="clerk").count() == 1
    seen: list[bool] = []

    def inside_a_transaction(**kwargs: Any) -> None:
        seen.append(connection.in_atomic_block)

    user_logged_in.connect(inside_a_transaction, dispatch_uid="test-sign-in")
    try:
        response = client.post(
            reverse("login"), {"username": "clerk", "password": PASSWORD}
        )
    finally:
        user_logged_in.disconnect(dispatch_uid="test-sign-in")

    assert response.status_code == 302
    assert seen == [True]
    clerk.refresh_from_db()
    assert clerk.last_login is not None
    assert not AccessAttempt.objects.filter(username="clerk").exists()
    assert AuditEvent.objects.filter(
        event_type=AuditEvent.EventType.LOGIN, actor_id=clerk.pk
    ).exists()
