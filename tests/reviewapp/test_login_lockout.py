"""Password guessing is paused by django-axes, with a page that says why."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def sign_in(client: Client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_five_wrong_passwords_pause_sign_in_even_with_the_right_one(
    clerk: User,
) -> None:
    client = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(4):
        assert sign_in(client, "clerk", "guess").status_code == 200  # form again

    locked = sign_in(client, "clerk", "guess")
    after = sign_in(client, "clerk", PASSWORD)

    assert locked.status_code == 429
    assert after.status_code == 429
    page = after.content.decode()
    assert "Sign-in paused" in page
    assert "5 wrong passwords for <strong>clerk</strong>" in page
    assert "for 15 minutes" in page
    assert "_auth_user_id" not in client.session


def test_the_pause_is_per_address_so_the_user_is_not_locked_out_elsewhere(
    clerk: User,
) -> None:
    attacker = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(5):
        sign_in(attacker, "clerk", "guess")

    office = Client(REMOTE_ADDR="198.51.100.20")
    response = sign_in(office, "clerk", PASSWORD)

    assert response.status_code == 302
    assert office.session["_auth_user_id"] == str(clerk.pk)


def test_a_success_resets_the_count(clerk: User) -> None:
    client = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(4):
        sign_in(client, "clerk", "guess")
    assert sign_in(client, "clerk", PASSWORD).status_code == 302
    client.logout()

    for _ in range(4):
        assert sign_in(client, "clerk", "guess").status_code == 200
