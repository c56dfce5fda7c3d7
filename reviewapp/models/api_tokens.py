"""API tokens: keys for machines (an ERP, a script), each owned by one person."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiToken(models.Model):
    """One API key. Only its SHA-256 is stored: the key is shown once, when it
    is issued (`manage.py api_token USERNAME`). An administrator sees each
    token's owner, purpose, first characters and last use, and revokes it in
    Django admin (API tokens); a revoked token authenticates nothing."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True, help_text="What it is for")
    prefix = models.CharField(max_length=8, help_text="The key's first characters")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.CharField(max_length=45, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.owner})"

    @property
    def active(self) -> bool:
        return self.revoked_at is None
