"""Sessions end when they should: after idle time, and when a person's role changes.

Idle expiry uses Django's own session expiry: SESSION_COOKIE_AGE is the idle
limit (VOUCH_SESSION_IDLE_MINUTES) and `IdleSessionMiddleware` pushes the
expiry forward while the person is active. It saves the session at most once
a minute rather than on every request (SESSION_SAVE_EVERY_REQUEST), so a busy
reviewer does not cost a session write per click. An expired session is
refused by the session store itself; the next page is the sign-in form.

A role change (groups granted or revoked, superuser or active flag changed)
ends every open session of that person at once, so new rights or lost rights
apply from their next request, not from their next sign-in.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.contrib.sessions.models import Session
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

REFRESHED_AT = "vouch_refreshed_at"
# How stale the stored expiry may get before activity pushes it forward.
REFRESH_EVERY_SECONDS = 60


class IdleSessionMiddleware:
    """Keeps an active person's session alive; an idle one expires after
    SESSION_COOKIE_AGE. Place after SessionMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and session.session_key:
            now = time.time()
            if now - float(session.get(REFRESHED_AT, 0)) >= REFRESH_EVERY_SECONDS:
                # Modified, so SessionMiddleware saves it with a fresh expiry.
                session[REFRESHED_AT] = now
        return self.get_response(request)


def user_sessions_end(*, user_id: int) -> int:
    """Delete every unexpired session of one user; returns how many ended."""
    ended = []
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        data = session.get_decoded()
        if str(data.get("_auth_user_id")) == str(user_id):
            ended.append(session.session_key)
    Session.objects.filter(session_key__in=ended).delete()
    return len(ended)


def end_sessions_on_role_change(
    sender: Any,
    instance: Any,
    action: str,
    reverse: bool,
    pk_set: set[int] | None,
    **kwargs: Any,
) -> None:
    """m2m_changed on User.groups: end the sessions of every user whose roles
    changed, once the change commits."""
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if reverse:  # instance is a group; pk_set holds users
        user_ids = set(pk_set or ())
        if action == "post_clear":
            user_ids = set(getattr(instance, "_audit_cleared", set()))
    else:
        user_ids = {instance.pk}
    for user_id in user_ids:
        transaction.on_commit(
            lambda user_id=user_id: user_sessions_end(user_id=user_id)
        )


def end_sessions_on_user_change(sender: Any, instance: Any, **kwargs: Any) -> None:
    """User saved: a change of superuser or active flag ends their sessions."""
    update_fields = kwargs.get("update_fields")
    if instance.pk is None or kwargs.get("raw"):
        return
    # Every sign-in saves last_login alone: no flag can have changed.
    if update_fields and set(update_fields) <= {"last_login"}:
        return
    before = (
        sender.objects.filter(pk=instance.pk)
        .values("is_superuser", "is_staff", "is_active")
        .first()
    )
    if before is None:
        return
    if (
        before["is_superuser"] != instance.is_superuser
        or before["is_staff"] != instance.is_staff
        or before["is_active"] != instance.is_active
    ):
        user_id = instance.pk
        transaction.on_commit(lambda: user_sessions_end(user_id=user_id))
