"""Taking documents in: sniff, store the original once, and queue it for reading."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import django_rq
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from rq import Retry

from pipeline.decode import DecodeLimits, decode_document, read_image_header
from pipeline.errors import UnreadableDocument
from pipeline.filetypes import PDF, SNIFF_BYTES, XML, describe_accepted, sniff
from pipeline.photo_pages import photos_as_one_document
from pipeline.quality import DocumentQuality, Thresholds, assess_document
from reviewapp import (
    broadcast,
)
from reviewapp.audit.trail import record_event
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document
from reviewapp.services.retention import document_set_retention

logger = logging.getLogger(__name__)
EventType = AuditEvent.EventType


PROCESS_JOB = "reviewapp.jobs.process_document"
# Document.original_name's length; a longer name is shortened in the middle.
STORED_NAME_LENGTH = 255
# How much of a longer name the audit trail keeps.
AUDITED_NAME_LENGTH = 4096


class IngestRefused(Exception):
    """The file was refused at the door; `reason` is for the person who sent it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class IngestResult:
    document: Document
    duplicate: bool  # True: this exact file was already here; nothing new stored


def decode_limits(*, use_text_layer: bool = True) -> DecodeLimits:
    return DecodeLimits(
        max_pages=settings.VOUCH_MAX_PAGES,
        max_pixels=settings.VOUCH_MAX_PIXELS,
        use_text_layer=use_text_layer,
    )


def quality_thresholds() -> Thresholds:
    return Thresholds(min_score=settings.VOUCH_CAPTURE_MIN_QUALITY)


def _image_quality(content: bytes, name: str) -> DocumentQuality:
    try:
        read_image_header(content, decode_limits())
        return assess_document(
            decode_document(content, decode_limits()), quality_thresholds()
        )
    except UnreadableDocument as refusal:
        raise IngestRefused(f"{name}: {refusal.reason}") from None


def photo_quality(*, content: bytes, name: str) -> DocumentQuality:
    """The capture check of one photo, nothing stored: what the mobile capture
    page shows before the sender commits, so a bad page can be retaken.
    Raises IngestRefused for what is not a readable photo."""
    _check_photo(content, name)
    return _image_quality(content, name)


def _check_photo(content: bytes, name: str) -> None:
    """Cheap checks that `content` is a photo within the limits (no decode)."""
    if not content:
        raise IngestRefused(f"{name} is empty")
    if len(content) > settings.VOUCH_MAX_UPLOAD_BYTES:
        raise IngestRefused(
            f"{name} is {len(content) / 1048576:.1f} MB; the limit is "
            f"{settings.VOUCH_MAX_UPLOAD_BYTES / 1048576:.0f} MB"
        )
    file_type = sniff(content[:SNIFF_BYTES])
    if file_type is None or file_type in (PDF, XML):
        raise IngestRefused(f"{name} is not a photo: take a picture of the page")
    try:
        read_image_header(content, decode_limits())
    except UnreadableDocument as refusal:
        raise IngestRefused(f"{name}: {refusal.reason}") from None


def document_ingest_photos(
    *, photos: Sequence[tuple[str, bytes]], uploaded_by: AbstractBaseUser | None
) -> IngestResult:
    """The pages of one document, photographed one by one (the mobile capture
    page), stored and read as one document. Each photo is checked as a
    photo first; the capture check then judges the pages together, as for
    any upload. Raises IngestRefused naming the page at fault."""
    if not photos:
        raise IngestRefused("Take a photo of at least one page.")
    if len(photos) > settings.VOUCH_MAX_PAGES:
        raise IngestRefused(
            f"{len(photos)} pages is more than {settings.VOUCH_MAX_PAGES}; "
            "send the document in parts"
        )
    # Each photo is only checked here; the capture check reads the pages once,
    # together, in document_ingest.
    for number, (name, content) in enumerate(photos, start=1):
        _check_photo(content, f"page {number} ({name})")
    try:
        combined = photos_as_one_document([content for _, content in photos])
    except UnreadableDocument as refusal:
        raise IngestRefused(refusal.reason) from None
    first_name = photos[0][0]
    name = (
        first_name
        if len(photos) == 1
        else f"{Path(first_name).stem or 'photo'} ({len(photos)} pages).tif"
    )
    return document_ingest(
        content=combined,
        original_name=name,
        channel=Document.Channel.UPLOAD,
        uploaded_by=uploaded_by,
    )


def document_ingest(
    *,
    content: bytes,
    original_name: str,
    channel: str,
    uploaded_by: AbstractBaseUser | None,
) -> IngestResult:
    """Store a file and queue it for processing, or say why it was refused.

    Cheap checks happen here (size, type by content, image pixel count); PDFs
    and e-invoice XML are parsed only in the worker, which fails a file that
    will not read (XML that is hostile or not an invoice) with the reason. An
    image's quality is assessed here, so the sender hears at once: one that
    will not read is kept, marked "needs a new copy" with the advice, and not
    read. The same bytes sent twice are recognised by SHA-256 and return the
    first document with `duplicate=True`. A name longer than 255 characters
    is stored shortened in the middle (`stored_name`); the audit event keeps
    it in full. Raises IngestRefused.
    """
    full_name = (original_name or "unnamed").replace("\x00", "")
    name = stored_name(full_name)
    if not content:
        raise IngestRefused(f"{name} is empty")
    limit = settings.VOUCH_MAX_UPLOAD_BYTES
    if len(content) > limit:
        raise IngestRefused(
            f"{name} is {len(content) / 1048576:.1f} MB; "
            f"the limit is {limit / 1048576:.0f} MB"
        )
    file_type = sniff(content[:SNIFF_BYTES])
    if file_type is None:
        raise IngestRefused(
            f"{name} is not a file Vouch can read: send {describe_accepted(last='or')}"
        )
    quality = None if file_type in (PDF, XML) else _image_quality(content, name)
    needs_new_copy = quality is not None and not quality.acceptable

    sha256 = hashlib.sha256(content).hexdigest()
    existing = Document.objects.filter(sha256=sha256).first()
    if existing is not None:
        return IngestResult(document=existing, duplicate=True)
    try:
        with transaction.atomic():
            document = Document(
                original_name=name,
                sha256=sha256,
                content_type=file_type.content_type,
                size_bytes=len(content),
                channel=channel,
                uploaded_by=uploaded_by,
                quality_score=None if quality is None else quality.score,
                quality_issues=[] if quality is None else list(quality.issues),
                status=(
                    Document.Status.NEEDS_NEW_COPY
                    if needs_new_copy
                    else Document.Status.QUEUED
                ),
                failure_reason=(
                    "Needs a new copy: " + "; ".join(quality.advice)
                    if quality is not None and needs_new_copy
                    else ""
                ),
            )
            document.original.save(
                f"original{file_type.extension}", ContentFile(content), save=False
            )
            document.save()
            document_set_retention(document=document)
            if not needs_new_copy:
                document_enqueue_processing(document)
            broadcast.document_changed(document)
            record_event(
                EventType.DOCUMENT_INGESTED,
                actor=uploaded_by,
                document=document,
                details={
                    "channel": channel,
                    "original_name": name,
                    **(
                        {"full_name": full_name[:AUDITED_NAME_LENGTH]}
                        if name != full_name
                        else {}
                    ),
                    "sha256": sha256,
                    "size_bytes": len(content),
                    "content_type": file_type.content_type,
                    "quality_score": None if quality is None else quality.score,
                    "quality_advice": [] if quality is None else list(quality.advice),
                },
            )
    except IntegrityError:
        # Two uploads of the same bytes raced; the other one won.
        document.original.delete(save=False)
        return IngestResult(Document.objects.get(sha256=sha256), duplicate=True)
    logger.info("ingested %s via %s as %s", name, channel, document.public_id)
    return IngestResult(document=document, duplicate=False)


# Django refuses a multipart part whose headers exceed this (a file name is the
# only part of them a sender controls).
PART_HEADER_LIMIT = 1024


def unreadable_upload_reason(parser_error: str) -> str:
    """What to tell the sender of an upload Django's multipart parser refused,
    given the parser's own message."""
    if "header size" in parser_error:
        return (
            "The file name is too long to upload: a name of more than about "
            f"{PART_HEADER_LIMIT - 100:,} bytes does not fit in an upload's "
            f"{PART_HEADER_LIMIT:,}-byte part header. Rename the file to a "
            "shorter name (Vouch keeps up to 255 characters) and send it again, "
            "or use the upload page, which sends long names separately."
        )
    return (
        "The upload could not be read: it is not a well-formed form upload "
        f"({parser_error})."
    )


def stored_name(name: str) -> str:
    """The name as stored: unchanged up to 255 characters, else its start and
    its end (the extension and any number there) around an ellipsis, which is
    what a person recognises a file by."""
    if len(name) <= STORED_NAME_LENGTH:
        return name
    tail = 60
    return name[: STORED_NAME_LENGTH - tail - 1] + "…" + name[-tail:]


def document_enqueue_processing(document: Document) -> None:
    # django-rq's on_db_commit mode sends this only when the transaction commits,
    # so a worker never looks for a row that does not exist yet.
    django_rq.get_queue("default").enqueue(
        PROCESS_JOB,
        document.pk,
        job_timeout=settings.VOUCH_JOB_TIMEOUT,
        retry=Retry(
            max=settings.VOUCH_JOB_MAX_ATTEMPTS - 1,
            interval=settings.VOUCH_JOB_RETRY_DELAYS,
        ),
        description=f"process document {document.public_id}",
    )
