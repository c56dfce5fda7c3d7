"""What people did in review beyond editing values: reveals of sensitive
values, attestations of changed bank details, and active review time."""

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


class ReviewTime(models.Model):
    """Active review time of one opening of a document's review page: seconds
    with the page visible and the person active (idle excluded), in total and
    per field, as the page reported them (reviewapp.views.operations)."""

    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="review_times"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Kept apart from `user` so the figures outlive a deleted account.
    username = models.CharField(max_length=150, blank=True)
    page_view = models.CharField(
        max_length=32, unique=True, help_text="One per opening of the review page"
    )
    active_seconds = models.FloatField(default=0.0)
    field_seconds = models.JSONField(
        default=dict, blank=True, help_text="Field name -> active seconds"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return f"{self.username} on {self.document_id}: {self.active_seconds:.0f} s"


class BankChangeAttestation(models.Model):
    """Someone verified a document's new bank details with the vendor, outside
    Vouch: how, with whom, and when. A bank-detail change is approved only
    after one, by a supervisor other than the person who attested."""

    class Method(models.TextChoices):
        PHONE = "phone", "Phone call to the number on file"
        EMAIL = "email", "Email to the known contact on file"
        IN_PERSON = "in_person", "In person"
        LETTER = "letter", "Signed letter on the vendor's letterhead"

    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="bank_attestations"
    )
    attested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    method = models.CharField(max_length=20, choices=Method.choices)
    vendor_contact = models.CharField(
        max_length=200, help_text="Who at the vendor confirmed the new details"
    )
    verified_at = models.DateTimeField(help_text="When they confirmed them")
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.attested_by_id} attested the bank details of {self.document_id}"
