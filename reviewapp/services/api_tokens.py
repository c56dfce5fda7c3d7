"""Issue and revoke API tokens (reviewapp.models.api_tokens)."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from reviewapp.audit.trail import record_event
from reviewapp.models.api_tokens import ApiToken
from reviewapp.models.audit import AuditEvent

EventType = AuditEvent.EventType


def token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def token_issue(*, owner: AbstractBaseUser, name: str = "") -> tuple[ApiToken, str]:
    """A new token for `owner`; returns it and its key, which is never stored
    and cannot be shown again."""
    key = secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            owner=owner, name=name, prefix=key[:8], digest=token_digest(key)
        )
        record_event(
            EventType.USER_CHANGED,
            actor=owner,
            details={"api_token": "issued", "prefix": token.prefix, "name": name},
        )
    return token, key


def token_revoke(*, token: ApiToken, by: AbstractBaseUser | None) -> bool:
    """Revoke a token; False when it already was."""
    with transaction.atomic():
        updated = ApiToken.objects.filter(pk=token.pk, revoked_at=None).update(
            revoked_at=timezone.now(), revoked_by=by
        )
        if updated != 1:
            return False
        record_event(
            EventType.USER_CHANGED,
            actor=by,
            details={
                "api_token": "revoked",
                "prefix": token.prefix,
                "owner": token.owner.get_username(),
            },
        )
    return True
