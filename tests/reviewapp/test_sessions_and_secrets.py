"""Sessions end after idle time and when a role changes; secrets never reach a log."""

from __future__ import annotations

import io
import logging
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from reviewapp import roles
from reviewapp.sessions_control import REFRESHED_AT
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def signed_in(user: User) -> Client:
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 302, response.content[:300]
    return client


def session_of(client: Client) -> Session:
    return Session.objects.get(
        session_key=client.cookies[settings.SESSION_COOKIE_NAME].value
    )


def is_signed_in(client: Client) -> bool:
    response = client.get("/documents/")
    return response.status_code == 200


def test_sessions_last_thirty_idle_minutes_by_default() -> None:
    assert settings.SESSION_COOKIE_AGE == 30 * 60


def test_an_idle_session_expires_and_the_next_page_asks_to_sign_in(clerk: User) -> None:
    client = signed_in(clerk)
    assert is_signed_in(client)
    Session.objects.filter(pk=session_of(client).pk).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    response = client.get("/documents/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_activity_keeps_a_session_alive_with_at_most_one_write_a_minute(
    clerk: User,
) -> None:
    client = signed_in(clerk)
    session = session_of(client)
    # Almost idle for 30 minutes: the last refresh was 29 minutes ago.
    data = session.get_decoded()
    data[REFRESHED_AT] = (timezone.now() - timedelta(minutes=29)).timestamp()
    soon = timezone.now() + timedelta(minutes=1)
    Session.objects.filter(pk=session.pk).update(
        session_data=Session.objects.encode(data), expire_date=soon
    )
    assert is_signed_in(client)
    refreshed = session_of(client).expire_date
    assert refreshed > timezone.now() + timedelta(minutes=29)
    # Straight after, another request does not write the session again.
    assert is_signed_in(client)
    assert session_of(client).expire_date == refreshed


def test_changing_a_role_ends_every_open_session_of_that_person(
    clerk: User, other_clerk: User
) -> None:
    laptop, phone = signed_in(clerk), signed_in(clerk)
    colleague = signed_in(other_clerk)
    clerk.groups.remove(Group.objects.get(name=roles.CLERK))
    clerk.groups.add(Group.objects.get(name=roles.SUPERVISOR))
    assert not is_signed_in(laptop)
    assert not is_signed_in(phone)
    assert is_signed_in(colleague)
    # Signing in again gives the new role at once.
    assert is_signed_in(signed_in(clerk))


def test_a_role_granted_from_the_group_side_ends_sessions_too(clerk: User) -> None:
    client = signed_in(clerk)
    Group.objects.get(name=roles.SUPERVISOR).user_set.add(clerk)
    assert not is_signed_in(client)


def test_deactivating_or_promoting_a_user_ends_their_sessions(
    clerk: User, other_clerk: User
) -> None:
    first, second = signed_in(clerk), signed_in(other_clerk)
    clerk.is_superuser = True
    clerk.save()
    assert not is_signed_in(first)
    other_clerk.is_active = False
    other_clerk.save()
    assert not is_signed_in(second)


def test_an_unrelated_change_keeps_the_session(clerk: User) -> None:
    client = signed_in(clerk)
    clerk.first_name = "Ada"
    clerk.save()
    assert is_signed_in(client)


def test_secrets_never_reach_the_log(clerk: User, console: io.StringIO) -> None:
    from reviewapp.services.api_tokens import token_issue

    _, key = token_issue(owner=clerk, name="erp")
    wrong_password = "hunter2-wrong-password"

    def everything() -> None:
        Client().post(
            "/accounts/login/", {"username": "clerk", "password": wrong_password}
        )
        signed_in(clerk).get("/documents/")
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        api.get("/api/v1/documents/")
        api.credentials(HTTP_AUTHORIZATION="Token wrong-token-value-123")
        api.get("/api/v1/documents/")
        log = logging.getLogger("reviewapp.test")
        # Code that logs carelessly is caught by the handler's filter.
        log.warning("calling ERP with Authorization: Token %s", key)
        log.warning("settings %s %s", settings.SECRET_KEY, settings.VOUCH_AUDIT_KEY)
        log.warning("login payload {'username': 'x', 'password': '%s'}", PASSWORD)
        try:
            raise RuntimeError(f"connect failed with password={PASSWORD}")
        except RuntimeError:
            log.exception("mail server")
        call_command("api_token", "clerk", "--list", stdout=io.StringIO())

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        everything()
    finally:
        root.setLevel(level)
    output = console.getvalue()
    assert "calling ERP" in output and "[redacted]" in output
    for secret in (
        key,
        settings.SECRET_KEY,
        settings.VOUCH_AUDIT_KEY,
        PASSWORD,
        wrong_password,
        "wrong-token-value-123",
        "horse",  # no part of a password with spaces either
    ):
        assert secret not in output


def test_passwords_are_kept_as_argon2_and_older_hashes_are_rewritten_at_sign_in(
    clerk: User,
) -> None:
    assert clerk.password.startswith("argon2$argon2id$v=19$m=47104,t=1,p=1$")
    clerk.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    clerk.save(update_fields=["password"])

    signed_in(clerk)

    clerk.refresh_from_db()
    assert clerk.password.startswith("argon2$argon2id$v=19$m=47104,t=1,p=1$")
