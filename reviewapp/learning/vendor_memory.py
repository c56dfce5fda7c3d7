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
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from pipeline.extract.vendor_directory import (
    DirectoryVendor,
    apply_directory,
    identify,
    why_unidentified,
)
from pipeline.extract.vendor_learning import (
    Directory,
)
from pipeline.extract.vendor_memory import MEMORY_MARK, VendorLayoutHint, learn_hint
from pipeline.types import Box, Extraction, FieldValue, OcrLine, PageText
from reviewapp.audit.trail import record_event
from reviewapp.extraction_fields import FIELD_KINDS
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document, TextLine
from reviewapp.models.fields import Field
from reviewapp.models.learning import ConfirmedVendor, VendorFieldMemory
from reviewapp.models.master_data import Vendor
from reviewapp.models.validation import DocumentValidation
from reviewapp.selectors.validation import tolerances

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


def directory_vendors() -> list[DirectoryVendor]:
    """The vendor directory: every active master vendor (with what people
    confirmed about it and its layout memory), then the vendors people
    confirmed that the master does not know."""
    confirmed = {c.vendor_id: c for c in ConfirmedVendor.objects.all()}
    hints: dict[int, list[VendorLayoutHint]] = {}
    for memory in VendorFieldMemory.objects.all():
        hints.setdefault(memory.vendor_id, []).append(memory.layout_hint)
    vendors = []
    for vendor in Vendor.objects.filter(active=True):
        learned = confirmed.get(vendor.pk)
        entry = DirectoryVendor.from_json(learned.entry) if learned else None
        remembered = {h.field_name: h for h in entry.hints} if entry else {}
        # A correction's layout memory is newer than an approval's.
        remembered.update({h.field_name: h for h in hints.get(vendor.pk, [])})
        vendors.append(
            DirectoryVendor(
                key=str(vendor.public_id),
                name=vendor.name,
                source="master",
                address=vendor.address,
                vat_ids=(vendor.vat_id,) if vendor.vat_id else (),
                ibans=tuple(vendor.ibans),
                aliases=tuple(vendor.aliases),
                texts=entry.texts if entry else (),
                hints=tuple(remembered.values()),
            )
        )
    vendors += [
        DirectoryVendor.from_json(c.entry)
        for c in confirmed.values()
        if c.vendor_id is None
    ]
    return vendors


def with_vendor_memory(
    result: PipelineResult,
) -> tuple[PipelineResult, list[dict[str, Any]]]:
    """The second pass (no OCR): the document's vendor recognised in the
    vendor directory by its strongest key, and what the directory knows of it
    applied (see pipeline.extract.vendor_directory). Returns the result and
    the notes of what was applied or not, and why, for the review page.
    Idempotent; a result read from e-invoice XML comes back as it is. Each
    layout memory that supplied a value counts one use."""
    if result.read_einvoice_xml:
        return result, []
    started = time.perf_counter()
    vendors = directory_vendors()
    pages = [page.text for page in result.pages]
    fields = {f.name: f.value for f in result.extraction.fields}
    match = identify(
        fields, pages, vendors, min_score=tolerances().vendor_name_min_score
    )
    outcome = apply_directory(
        result.extraction,
        pages,
        match,
        sure_score=tolerances().vendor_name_sure_score,
        unidentified_reason="" if match else why_unidentified(fields, vendors),
    )
    notes = [note.as_json() for note in outcome.notes]
    if not outcome.applied or match is None:
        return result, notes
    used = [
        field.name
        for field in outcome.extraction.fields
        if field.explanation.startswith(MEMORY_MARK)
    ]
    key = match.vendor.key
    VendorFieldMemory.objects.filter(
        vendor__public_id=key if match.vendor.source == "master" else None,
        field_name__in=used,
    ).update(times_used=F("times_used") + 1, last_used_at=timezone.now())
    ConfirmedVendor.objects.filter(
        Q(key=key) | Q(vendor__public_id=key)
        if match.vendor.source == "master"
        else Q(key=key)
    ).update(times_used=F("times_used") + 1)
    logger.info(
        "vendor directory (%s) supplied %s",
        match.describe(),
        ", ".join(outcome.applied),
    )
    seconds = {**result.stage_seconds}
    seconds["vendor_memory"] = round(time.perf_counter() - started, 4)
    return replace(result, extraction=outcome.extraction, stage_seconds=seconds), notes


def document_memory_notes_store(
    *, document_id: int, notes: list[dict[str, Any]]
) -> None:
    """Keep what the vendor directory did on the document's last reading."""
    Document.objects.filter(pk=document_id).update(memory_notes=notes)


def directory_learn_from_approval(*, document: Document) -> ConfirmedVendor | None:
    """What an approved document teaches the vendor directory: its vendor
    (the matched master record, else a confirmed vendor of its own, created
    on first approval), the confirmed text fields with where they are
    printed, and where the vendor prints the numbers, dates and amounts the
    machine read wrong. Every value on an approved document is a person's
    (confirmed or corrected). Call it inside the approval's transaction.
    Returns the directory entry, or None without a vendor name or pages."""
    fields = list(document.fields.all())
    confirmed = {f.name: f.value for f in fields if f.value}
    pages = page_texts(document)
    if not pages or not confirmed.get("vendor_name"):
        return None
    machine = Extraction(
        tuple(
            FieldValue(f.name, f.machine_value, f.machine_value, 0.0)
            for f in fields
            if f.machine_value
        )
    )
    master_id = (
        DocumentValidation.objects.filter(document=document)
        .values_list("vendor", flat=True)
        .first()
    )
    master = Vendor.objects.filter(pk=master_id).first() if master_id else None
    learned = Directory(directory_vendors()).approve(
        machine,
        pages,
        confirmed,
        kinds=FIELD_KINDS,
        document=document.original_name,
        day=timezone.localdate().isoformat(),
        sure_score=tolerances().vendor_name_sure_score,
        vendor_key=str(master.public_id) if master else "",
    )
    if master is None and learned is not None and learned.source == "master":
        master = Vendor.objects.filter(public_id=learned.key).first()
    if learned is None:
        return None
    entry, _ = ConfirmedVendor.objects.update_or_create(
        key=f"master:{master.public_id}" if master else learned.key,
        defaults={
            "vendor": master,
            "name": learned.name,
            "entry": learned.as_json(),
            "learned_from": document,
        },
    )
    return entry


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
