"""`Authorization: Token <key>` against ApiToken: active tokens of active users.

Last use is recorded at most once a minute per token, so a busy ERP does not
cost a write per request.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.request import Request

from reviewapp.audit.trail import client_ip
from reviewapp.models.api_tokens import ApiToken
from reviewapp.services.api_tokens import token_digest

LAST_USE_EVERY = timedelta(minutes=1)


class ApiTokenAuthentication(TokenAuthentication):
    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        self._request = request
        return super().authenticate(request)

    def authenticate_credentials(self, key: str) -> tuple[Any, ApiToken]:
        token = (
            ApiToken.objects.select_related("owner")
            .filter(digest=token_digest(key), revoked_at=None)
            .first()
        )
        if token is None or not token.owner.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        now = timezone.now()
        ApiToken.objects.filter(
            Q(last_used_at=None) | Q(last_used_at__lt=now - LAST_USE_EVERY),
            pk=token.pk,
        ).update(last_used_at=now, last_used_ip=client_ip(self._request)[:45])
        return token.owner, token
