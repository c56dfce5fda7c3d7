"""The append-only, hash-chained audit trail and the secrets and head that seal it."""

from __future__ import annotations

from typing import Any

from django.db import models


class AuditImmutable(Exception):
    """Raised on any attempt to change or delete an audit row through the ORM."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    """Audit rows are append-only: bulk update and delete are refused."""

    def update(self, **kwargs: Any) -> int:
        raise AuditImmutable("audit events cannot be changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditImmutable("audit events cannot be deleted")

    def bulk_update(self, *args: Any, **kwargs: Any) -> int:
        raise AuditImmutable("audit events cannot be changed")

    def update_or_create(self, *args: Any, **kwargs: Any) -> Any:
        raise AuditImmutable("audit events cannot be changed")


class AuditEvent(models.Model):
    """One thing that happened, append-only and hash-chained (reviewapp.audit.trail).

    Actor and document are copied in, not foreign keys: the trail must outlive
    deleted users and documents, and a cascade would have to rewrite it.
    Sensitive values in `details` are envelopes holding a keyed digest and a mask;
    their ciphertext lives in AuditSecret so it can be purged without touching
    the hashed row.
    """

    class EventType(models.TextChoices):
        LOGIN = "login", "Logged in"
        LOGOUT = "logout", "Logged out"
        LOGIN_FAILED = "login_failed", "Failed login"
        DOCUMENT_INGESTED = "document_ingested", "Document received"
        DOCUMENT_DOWNLOADED = "document_downloaded", "Original downloaded"
        DOCUMENTS_EXPORTED = "documents_exported", "Approved data exported"
        DOCUMENT_MARKED_EXPORTED = "document_marked_exported", "Marked exported"
        DOCUMENT_RETRY = "document_retry", "Retry requested"
        DOCUMENT_READ_DESPITE_QUALITY = (
            "document_read_despite_quality",
            "Read despite poor image quality",
        )
        SPLIT_PROPOSED = "split_proposed", "Split proposed"
        SPLIT_CORRECTED = "split_corrected", "Split corrected"
        SPLIT_CONFIRMED = "split_confirmed", "Split confirmed"
        DOCUMENT_REPROCESS = "document_reprocess", "Reprocess requested"
        DOCUMENT_REQUEUED = "document_requeued", "Requeued after a lost job"
        JOB_STARTED = "job_started", "Processing started"
        JOB_FINISHED = "job_finished", "Processing finished"
        JOB_FAILED = "job_failed", "Processing failed"
        FIELD_CHANGED = "field_changed", "Field changed"
        LINE_ITEMS_CHANGED = "line_items_changed", "Line items changed"
        # Review workflow; the actions themselves come in a later issue.
        DOCUMENT_CLAIMED = "document_claimed", "Claimed for review"
        DOCUMENT_RELEASED = "document_released", "Released"
        DOCUMENT_APPROVED = "document_approved", "Approved"
        DOCUMENT_REJECTED = "document_rejected", "Rejected"
        DOCUMENT_ESCALATED = "document_escalated", "Escalated"
        SENSITIVE_REVEALED = "sensitive_revealed", "Sensitive value revealed"
        AUDIT_EXPORTED = "audit_exported", "Audit log exported"
        SETTINGS_CHANGED = "settings_changed", "Settings changed"
        USER_CHANGED = "user_changed", "User changed"
        ROLE_CHANGED = "role_changed", "Role changed"
        MODEL_TRAINED = "model_trained", "Model trained"
        MODEL_PROMOTED = "model_promoted", "Model promoted"
        VENDOR_MEMORY_LEARNED = "vendor_memory_learned", "Vendor memory learned"
        VENDOR_MEMORY_DELETED = "vendor_memory_deleted", "Vendor memory deleted"
        DOCUMENT_PURGED = "document_purged", "Document purged (retention)"
        TRAINING_EXPORTED = "training_exported", "Training data exported"
        MODEL_REJECTED = "model_rejected", "Model rejected"
        MODEL_ROLLED_BACK = "model_rolled_back", "Model rolled back"
        BANK_DETAILS_ATTESTED = "bank_details_attested", "Bank details attested"

    sequence = models.PositiveBigIntegerField(unique=True)
    occurred_at = models.DateTimeField(db_index=True)
    event_type = models.CharField(
        max_length=50, choices=EventType.choices, db_index=True
    )
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_username = models.CharField(max_length=150, blank=True, db_index=True)
    actor_role = models.CharField(max_length=200, blank=True)
    ip_address = models.CharField(max_length=45, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    document_public_id = models.UUIDField(null=True, blank=True, db_index=True)
    details = models.JSONField(default=dict)
    previous_hash = models.CharField(max_length=64)
    content_hash = models.CharField(max_length=64)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["sequence"]
        default_permissions = ("view",)
        permissions = [
            ("export_auditevent", "Can export the audit log"),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.event_type}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditImmutable("audit events cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditImmutable("audit events cannot be deleted")


class AuditSecret(models.Model):
    """The encrypted form of one sensitive value in an audit event's details.

    Kept apart from the event so that retention can delete it (redaction) while
    the event, which hashes only the value's keyed digest, still verifies.
    """

    event_sequence = models.PositiveBigIntegerField()
    digest = models.CharField(max_length=64)
    ciphertext = models.TextField()

    class Meta:
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(
                fields=["event_sequence", "digest"], name="audit_secret_unique"
            )
        ]

    def __str__(self) -> str:
        return f"secret {self.digest[:8]} of #{self.event_sequence}"


class AuditChainHead(models.Model):
    """The single row that says where the chain ends. Appends lock it, so two
    writers never both extend the same event; verification compares the last
    event with it, so deleting the newest rows is noticed too."""

    singleton = models.PositiveSmallIntegerField(primary_key=True, default=1)
    sequence = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"audit chain at #{self.sequence}"
