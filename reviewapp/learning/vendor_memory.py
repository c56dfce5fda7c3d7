"""Per-vendor memory: what a reviewer's correction teaches about where a known
vendor prints a field, used on that vendor's next document without retraining.

The layout work is plain Python (pipeline.extract.vendor_memory); this module
stores one hint per vendor and field, learns it when a person corrects a field
on a document whose vendor is matched, picks the hints for a document being
processed (its vendor matched from the first reading, see `with_vendor_memory`)
and deletes memory with an audit event.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from pipeline.extract.vendor_memory import MEMORY_MARK, learn_hint
from pipeline.types import Box, OcrLine, PageText
from pipeline.validate import types as validation
from pipeline.validate.vendors import match_vendor
from reviewapp.audit.trail import record_event
from reviewapp.extraction_fields import FIELD_KINDS
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document, TextLine
from reviewapp.models.fields import Field
from reviewapp.models.learning import VendorFieldMemory
from reviewapp.models.master_data import Vendor
from reviewapp.models.validation import DocumentValidation
from reviewapp.selectors.validation import tolerances, vendor_record

if TYPE_CHECKING:
    from pipeline.run import PipelineResult


logger = logging.getLogger(__name__)
# Layout memory is for values with a recognisable form; a name or an address
# has no shape to check a remembered place against.
LEARNABLE_KINDS = frozenset({"code", "date", "amount"})


def page_texts(document: Document) -> list[PageText]:
    """The document's stored pages and lines as the pipeline reads them."""
    pages = []
    lines = TextLine.objects.filter(page__document=document).order_by("order")
    by_page: dict[int, list[TextLine]] = {}
    for line in lines:
        by_page.setdefault(line.page_id, []).append(line)
    for page in document.pages.order_by("number"):
        pages.append(
            PageText(
                page_number=page.number,
                width=page.width,
                height=page.height,
                source="ocr",
                lines=tuple(
                    OcrLine(
                        line.text,
                        line.confidence,
                        tuple(tuple(point) for point in line.polygon),  # type: ignore[arg-type]
                        page.number,
                    )
                    for line in by_page.get(page.pk, [])
                ),
            )
        )
    return pages


def memory_learn_from_correction(
    *, field: Field, user: AbstractBaseUser, box: Box | None = None
) -> VendorFieldMemory | None:
    """Remember where the document's vendor prints `field`, from the page line
    that shows the corrected value (or the one under `box`, when the person
    pointed at it). Nothing is learned when the vendor is not matched, the
    field has no shape to check, or no line shows the value. Call it after
    validation, inside the correction's transaction."""
    if FIELD_KINDS.get(field.name) not in LEARNABLE_KINDS or not field.value:
        return None
    document = field.document
    vendor = (
        DocumentValidation.objects.filter(document=document)
        .values_list("vendor", flat=True)
        .first()
    )
    if vendor is None:
        return None
    hint = learn_hint(
        field_name=field.name,
        kind=FIELD_KINDS[field.name],  # type: ignore[arg-type]
        value=field.value,
        pages=page_texts(document),
        learned_from=document.original_name,
        learned_on=timezone.localdate().isoformat(),
        box=box,
    )
    if hint is None:
        return None
    memory, _ = VendorFieldMemory.objects.update_or_create(  # type: ignore[misc]
        vendor_id=vendor,
        field_name=field.name,
        defaults={
            "hint": hint.as_json(),
            "learned_from": document,
            "learned_by": user,
            "learned_at": timezone.now(),
            "times_used": 0,
            "last_used_at": None,
        },
    )
    record_event(
        AuditEvent.EventType.VENDOR_MEMORY_LEARNED,
        actor=user,
        document=document,
        details={
            "vendor": memory.vendor.number,
            "field": field.name,
            "anchor": hint.anchor_text,
            "shape": hint.value_shape,
        },
    )
    return memory


def vendor_for_fields(fields: dict[str, str]) -> Vendor | None:
    """The vendor master record these extracted values surely come from (VAT
    id, IBAN, or a name match at the sure score), else None."""
    vendors = list(Vendor.objects.filter(active=True))
    if not vendors:
        return None
    # Imported here: selectors imports much of the app, and this module is
    # loaded with the models.

    context = validation.ValidationContext(
        today=timezone.localdate(),
        vendors=tuple(vendor_record(vendor) for vendor in vendors),
        tolerances=tolerances(),
    )
    match = match_vendor(validation.InvoiceData("invoice", fields), context)
    if match is None:
        return None
    if match.confidence * 100 < context.tolerances.vendor_name_sure_score:
        return None  # an uncertain name match must not steer extraction
    return next((v for v in vendors if str(v.public_id) == match.vendor_id), None)


def with_vendor_memory(result: PipelineResult) -> PipelineResult:
    """The second pass: when the first reading names a vendor that has memory,
    the same text read again with its hints (no OCR). Idempotent; a result
    without a known vendor, or whose vendor has no memory, comes back as is.
    Each memory that supplied a value counts one use."""
    if not VendorFieldMemory.objects.exists():
        return result
    vendor = vendor_for_fields({f.name: f.value for f in result.extraction.fields})
    if vendor is None:
        return result
    memories = list(vendor.field_memories.all())
    if not memories:
        return result
    # Imported here: the pipeline runner pulls in every engine's libraries,
    # which the models module (and so every management command) need not load.
    from pipeline.run import with_layout_hints

    remembered = with_layout_hints(result, [m.layout_hint for m in memories])
    used = [
        field.name
        for field in remembered.extraction.fields
        if field.explanation.startswith(MEMORY_MARK)
    ]
    VendorFieldMemory.objects.filter(vendor=vendor, field_name__in=used).update(
        times_used=F("times_used") + 1, last_used_at=timezone.now()
    )
    logger.info("vendor memory of %s supplied %s", vendor.number, ", ".join(used))
    return remembered


def memories_delete(
    *, memories: Sequence[VendorFieldMemory], user: AbstractBaseUser
) -> int:
    """An administrator forgets what was learned: each deletion is audited
    with the vendor, the field and where the memory came from. Returns how
    many were deleted."""
    deleted = 0
    with transaction.atomic():
        for memory in memories:
            details = {
                "vendor": memory.vendor.number,
                "vendor_name": memory.vendor.name,
                "field": memory.field_name,
                "learned_at": memory.learned_at,
                "times_used": memory.times_used,
            }
            learned_from = memory.learned_from
            memory.delete()
            record_event(
                AuditEvent.EventType.VENDOR_MEMORY_DELETED,
                actor=user,
                document_public_id=learned_from.public_id if learned_from else None,
                details=details,
            )
            deleted += 1
    return deleted
