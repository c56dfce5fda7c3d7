"""Running the validation rules on a document and refreshing its review columns."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from pipeline.registry import validate
from pipeline.validate.types import ValidationResult
from pipeline.validate.vendors import find_purchase_order
from reviewapp import (
    review_reasons,
    thresholds,
)
from reviewapp.extraction_fields import fields_for_type
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document
from reviewapp.models.master_data import PurchaseOrder, Vendor
from reviewapp.models.validation import DocumentValidation, ValidationIssue
from reviewapp.selectors.documents import document_type_unsure
from reviewapp.selectors.validation import (
    enabled_rules_for,
    invoice_data_for,
    validation_context_for,
)

logger = logging.getLogger(__name__)
EventType = AuditEvent.EventType


def document_refresh_review_columns(*, document: Document) -> None:
    """Copy the vendor, the review reason and the document confidence from the
    document's fields onto it. Call after any change to its fields (the queues
    read these columns)."""
    # Only the fields of its type count: a receipt's stray IBAN reading does
    # not send it to the queue as "low confidence".
    fields = list(
        document.fields.filter(
            name__in=fields_for_type(document.document_type)
        ).values_list("name", "value", "confidence")
    )
    vendor = next((value for name, value, _ in fields if name == "vendor_name"), "")
    Document.objects.filter(pk=document.pk).update(
        vendor_name=vendor[:255],
        confidence=review_reasons.document_confidence(fields),
        review_reason=review_reasons.reason_for(
            fields,
            flag_below=thresholds.review_thresholds(),
            type_unsure=document_type_unsure(document),
        ),
    )


def document_validate(
    *, document: Document, pages_just_read: bool = False
) -> ValidationResult:
    """Run the validation rules on the document's current field values and
    replace the previous run's ValidationIssue rows and DocumentValidation.
    `pages_just_read` when the page images were (re)written since the last
    run, so page 1 is fingerprinted again.

    Safe to run twice; a rule that raises propagates (and, inside
    `document_record_result`, fails the attempt) rather than leave a document
    looking clean without its checks.
    """
    with transaction.atomic():
        # One validation per document at a time: two corrections saved together
        # must not leave both runs' issues behind.
        Document.objects.select_for_update().filter(pk=document.pk).first()
        invoice = invoice_data_for(document, pages_just_read=pages_just_read)
        context = validation_context_for(invoice, document, today=timezone.localdate())
        result = validate(
            invoice,
            context,
            enabled=enabled_rules_for(invoice.document_type),
        )
        match = result.vendor_match
        order = find_purchase_order(invoice, context)
        ValidationIssue.objects.filter(document=document).delete()
        ValidationIssue.objects.bulk_create(
            ValidationIssue(
                document=document,
                rule=issue.rule,
                code=issue.code,
                severity=issue.severity,
                fields=list(issue.fields),
                message=issue.message,
                details=dict(issue.details),
                needs_supervisor=issue.needs_supervisor,
            )
            for issue in result.issues
        )
        DocumentValidation.objects.update_or_create(
            document=document,
            defaults={
                "vendor": (
                    Vendor.objects.filter(public_id=match.vendor_id).first()
                    if match
                    else None
                ),
                "vendor_match_method": match.method if match else "",
                "vendor_match_confidence": match.confidence if match else None,
                "purchase_order": (
                    PurchaseOrder.objects.filter(number=order.number).first()
                    if order
                    else None
                ),
                "document_type": invoice.document_type,
                "image_fingerprint": (
                    f"{invoice.image_fingerprint:016x}"
                    if invoice.image_fingerprint is not None
                    else ""
                ),
                "rules_run": list(result.rules_run),
                "validated_at": timezone.now(),
            },
        )
    return result
