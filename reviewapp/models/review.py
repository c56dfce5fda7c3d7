"""What people did in review beyond editing values: reveals of sensitive values."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from reviewapp.models.documents import Document


class SensitiveReveal(models.Model):
    """One person saw one sensitive value in clear, and said why."""

    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="reveals"
    )
    field_name = models.CharField(max_length=50)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    reason = models.TextField()
    revealed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-revealed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user_id} revealed {self.field_name} of {self.document_id}"
