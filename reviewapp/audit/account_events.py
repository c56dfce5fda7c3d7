"""Account events in the audit trail: sign-ins, sign-outs and failed sign-ins, and
changes to users and their roles. Connected to Django's signals in
ReviewappConfig.ready, since users change through code we do not own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest

from reviewapp.audit.trail import record_event
from reviewapp.models.audit import AuditEvent

EventType = AuditEvent.EventType


# --- sign-in events (connected in ReviewappConfig.ready) -------------------------


def on_user_logged_in(
    sender: Any, request: HttpRequest | None, user: AbstractBaseUser, **kwargs: Any
) -> None:
    record_event(EventType.LOGIN, actor=user, request=request)


def on_user_logged_out(
    sender: Any,
    request: HttpRequest | None,
    user: AbstractBaseUser | None,
    **kwargs: Any,
) -> None:
    if user is not None:  # logging out while logged out changes nothing
        record_event(EventType.LOGOUT, actor=user, request=request)


def on_user_login_failed(
    sender: Any,
    credentials: Mapping[str, Any],
    request: HttpRequest | None = None,
    **kwargs: Any,
) -> None:
    # Django has already masked the password in `credentials`; only the name
    # that was tried is kept.
    attempted = str(credentials.get("username", ""))[:150]
    record_event(
        EventType.LOGIN_FAILED,
        actor=AnonymousUser(),
        request=request,
        details={"username": attempted},
    )


# --- users and roles (connected in ReviewappConfig.ready) -------------------------

_WATCHED_USER_FIELDS = (
    "username",
    "first_name",
    "last_name",
    "email",
    "is_active",
    "is_staff",
    "is_superuser",
)


def on_user_pre_save(
    sender: Any, instance: Any, raw: bool = False, **kwargs: Any
) -> None:
    update_fields = kwargs.get("update_fields")
    # Every sign-in saves last_login: not a change to the account.
    if (
        raw
        or instance.pk is None
        or (update_fields and set(update_fields) <= {"last_login"})
    ):
        instance._audit_before = None
        return
    instance._audit_before = (
        sender.objects.filter(pk=instance.pk)
        .values(*_WATCHED_USER_FIELDS, "password")
        .first()
    )


def on_user_post_save(
    sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    if raw:  # loaddata
        return
    if created:
        changes: dict[str, Any] = {
            name: getattr(instance, name)
            for name in ("is_active", "is_staff", "is_superuser")
        }
        action = "created"
    else:
        before = getattr(instance, "_audit_before", None)
        if before is None:
            return
        changes = {
            name: [before[name], getattr(instance, name)]
            for name in _WATCHED_USER_FIELDS
            if before[name] != getattr(instance, name)
        }
        if before["password"] != instance.password:
            changes["password"] = "changed"  # noqa: S105  (never the hash itself)
        if not changes:
            return
        action = "changed"
    record_event(
        EventType.USER_CHANGED,
        details={
            "user_id": instance.pk,
            "username": instance.get_username(),
            "action": action,
            "changes": changes,
        },
    )


def on_user_groups_changed(
    sender: Any,
    instance: Any,
    action: str,
    reverse: bool,
    model: Any,
    pk_set: set[int] | None,
    **kwargs: Any,
) -> None:
    """Roles granted or revoked, from either side (user.groups or
    group.user_set), one event per user."""
    if action == "pre_clear":
        related = instance.user_set if reverse else instance.groups
        instance._audit_cleared = set(related.values_list("pk", flat=True))
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if action == "post_clear":
        pk_set = getattr(instance, "_audit_cleared", set())
    if not pk_set:
        return
    verb = "granted" if action == "post_add" else "revoked"
    if reverse:  # instance is a group; pk_set are users
        changed = [
            (user, [instance.name]) for user in model.objects.filter(pk__in=pk_set)
        ]
    else:
        names = sorted(
            model.objects.filter(pk__in=pk_set).values_list("name", flat=True)
        )
        changed = [(instance, names)]
    for user, roles in changed:
        record_event(
            EventType.ROLE_CHANGED,
            details={"user_id": user.pk, "username": user.get_username(), verb: roles},
        )
