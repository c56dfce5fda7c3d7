"""Batches: one file holding several documents, split into one document each.

The worker reads a multi-page file's pages once and asks the splitter
(pipeline.splitting) where documents begin. One document: nothing changes.
Several: the batch keeps its pages (for the split page's thumbnails) and
waits in "split to confirm" for a person, unless every page's decision is
certain (VOUCH_SPLIT_AUTO_CONFIDENCE), when the worker confirms it at once;
a wrong split costs a clerk more than a confirmation click, so only
certainty skips the person. Confirming makes one document per part, each
with its own pages as a PDF or TIFF, queued for extraction; the parts are
read from the batch's stored page text, so no page is read twice.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from pathlib import PurePath

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from pipeline.errors import UnreadableDocument
from pipeline.filetypes import SNIFF_BYTES, sniff
from pipeline.run import ProcessedPage
from pipeline.splitting import SplitProposal, part_file, parts_from_starts
from reviewapp import broadcast
from reviewapp.audit.trail import record_event
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import BatchSplit, Document, ProcessingRun
from reviewapp.services.ingest import document_enqueue_processing, stored_name
from reviewapp.services.processing import (
    document_mark_read,
    document_pages_store,
    run_was_abandoned,
)
from reviewapp.services.retention import document_set_retention

logger = logging.getLogger(__name__)
EventType = AuditEvent.EventType


class SplitRefused(Exception):
    """The split asked for cannot be made; `reason` is for the person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def proposal_json(proposal: SplitProposal) -> list[dict[str, object]]:
    return [
        {
            "page": page.page_number,
            "starts_document": page.starts_document,
            "confidence": page.confidence,
            "reasons": list(page.reasons),
        }
        for page in proposal.pages
    ]


def batch_hold_for_split(
    *,
    run: ProcessingRun,
    pages: Sequence[ProcessedPage],
    proposal: SplitProposal,
    ocr_engine: str,
    stage_seconds: dict[str, float],
) -> Document:
    """Keep a batch's pages and the split proposed for it; the batch waits in
    "split to confirm", or, when every decision is certain, is split at once.
    Audited (the proposal, and an automatic confirmation)."""
    with transaction.atomic():
        batch = Document.objects.select_for_update().get(pk=run.document_id)
        if run_was_abandoned(run):
            return batch
        document_pages_store(document=batch, pages=pages)
        BatchSplit.objects.update_or_create(
            batch=batch,
            defaults={
                "proposal": proposal_json(proposal),
                "proposed_starts": list(proposal.starts),
                "starts": [],
                "confirmed_by": None,
                "confirmed_at": None,
                "automatic": False,
            },
        )
        now = document_mark_read(
            document=batch, status=Document.Status.SPLIT_TO_CONFIRM, pages=len(pages)
        )
        run.outcome = ProcessingRun.Outcome.SUCCEEDED
        run.ocr_engine = ocr_engine[:100]
        run.stage_seconds = stage_seconds
        run.finished_at = now
        run.save()
        broadcast.document_changed(batch)
        record_event(
            EventType.SPLIT_PROPOSED,
            document=batch,
            details={
                "parts": [list(part) for part in proposal.parts],
                "confidence": proposal.confidence,
                "boundaries": [
                    {"page": page.page_number, "reasons": list(page.reasons)}
                    for page in proposal.pages[1:]
                    if page.starts_document
                ],
            },
            request_id=run.job_id,
        )
        threshold = settings.VOUCH_SPLIT_AUTO_CONFIDENCE / 100
        if proposal.certain(threshold):
            batch_split_confirm(
                batch=batch, user=None, starts=proposal.starts, automatic=True
            )
            batch.refresh_from_db()
    logger.info("batch %s: %d documents proposed", batch.public_id, len(proposal.parts))
    return batch


def batch_split_confirm(
    *,
    batch: Document,
    user: AbstractBaseUser | None,
    starts: Iterable[int],
    automatic: bool = False,
) -> list[Document] | None:
    """Split the batch where `starts` says documents begin (page 1 always
    does) and queue each part for extraction. A person's `starts` that differ
    from the proposal are audited as a correction first. Confirming one part
    makes the batch itself an ordinary document, read from its stored pages.

    Returns the parts' documents, or None when the batch no longer waits for
    a split (someone else confirmed it first). Raises SplitRefused for pages
    the batch does not have, or a batch whose file no longer reads."""
    page_count = batch.page_count or 0
    chosen = _checked_starts(starts, page_count)
    numbers = range(1, page_count + 1)
    parts = parts_from_starts(chosen, numbers)
    # One part left: the batch is an ordinary document after all.
    after = Document.Status.SPLIT if len(parts) > 1 else Document.Status.QUEUED
    with transaction.atomic():
        claimed = Document.objects.filter(
            pk=batch.pk, status=Document.Status.SPLIT_TO_CONFIRM
        ).update(
            status=after,
            status_changed_at=timezone.now(),
        )
        if claimed != 1:
            return None
        split = BatchSplit.objects.select_for_update().get(batch=batch)
        proposed = tuple(split.proposed_starts)
        if chosen != proposed:
            record_event(
                EventType.SPLIT_CORRECTED,
                actor=user,
                document=batch,
                details={
                    "proposed_parts": [
                        list(part)
                        for part in parts_from_starts(
                            proposed, range(1, page_count + 1)
                        )
                    ],
                    "parts": [list(part) for part in parts],
                    "split_at": sorted(set(chosen) - set(proposed)),
                    "merged_at": sorted(set(proposed) - set(chosen)),
                },
            )
        split.starts = list(chosen)
        split.confirmed_by = user  # type: ignore[assignment]
        split.confirmed_at = timezone.now()
        split.automatic = automatic
        split.save()
        batch.refresh_from_db()
        if len(parts) == 1:
            documents = [batch]
            document_enqueue_processing(batch)
        else:
            documents = _make_parts(batch, parts, actor=user)
        broadcast.document_changed(batch)
        record_event(
            EventType.SPLIT_CONFIRMED,
            actor=user,
            document=batch,
            details={
                "automatic": automatic,
                "parts": [
                    {"pages": list(part), "document": str(document.public_id)}
                    for part, document in zip(parts, documents, strict=True)
                ],
            },
        )
    return documents


def _checked_starts(starts: Iterable[int], page_count: int) -> tuple[int, ...]:
    chosen = {1, *starts}
    outside = sorted(page for page in chosen if not 1 <= page <= page_count)
    if outside:
        raise SplitRefused(
            f"The batch has {page_count} pages; it cannot be split at page "
            + ", ".join(str(page) for page in outside)
            + "."
        )
    return tuple(sorted(chosen))


def _make_parts(
    batch: Document, parts: Sequence[tuple[int, ...]], *, actor: AbstractBaseUser | None
) -> list[Document]:
    with batch.original.open("rb") as original:
        data = original.read()
    if sniff(data[:SNIFF_BYTES]) is None:
        raise SplitRefused("The batch's file no longer reads; it cannot be split.")
    stem = PurePath(batch.original_name).stem or "batch"
    documents = []
    for number, pages in enumerate(parts, start=1):
        try:
            content, extension = part_file(data, pages)
        except UnreadableDocument as unreadable:
            raise SplitRefused(unreadable.reason) from None
        documents.append(
            _part_document(
                batch,
                content=content,
                name=stored_name(
                    f"{stem} - part {number} of {len(parts)} "
                    f"({_pages_label(pages)}){extension}"
                ),
                pages=pages,
                actor=actor,
            )
        )
    return documents


def _part_document(
    batch: Document,
    *,
    content: bytes,
    name: str,
    pages: tuple[int, ...],
    actor: AbstractBaseUser | None,
) -> Document:
    """One part as a document of its own, queued; the same bytes already
    here (sent before on their own) are that document, not a second copy."""
    sha256 = hashlib.sha256(content).hexdigest()
    existing = Document.objects.filter(sha256=sha256).first()
    if existing is not None:
        return existing
    file_type = sniff(content[:SNIFF_BYTES])
    assert file_type is not None  # part_file writes a PDF or a TIFF
    document = Document(
        original_name=name,
        sha256=sha256,
        content_type=file_type.content_type,
        size_bytes=len(content),
        channel=batch.channel,
        uploaded_by=batch.uploaded_by,
        status=Document.Status.QUEUED,
        split_from=batch,
        split_pages=list(pages),
    )
    document.original.save(
        f"original{file_type.extension}", ContentFile(content), save=False
    )
    document.save()
    document_set_retention(document=document)
    document_enqueue_processing(document)
    broadcast.document_changed(document)
    record_event(
        EventType.DOCUMENT_INGESTED,
        actor=actor,
        document=document,
        details={
            "channel": batch.channel,
            "original_name": name,
            "sha256": sha256,
            "size_bytes": len(content),
            "content_type": file_type.content_type,
            "split_from": str(batch.public_id),
            "batch_name": batch.original_name,
            "batch_pages": list(pages),
        },
    )
    return document


def _pages_label(pages: Sequence[int]) -> str:
    if len(pages) == 1:
        return f"page {pages[0]}"
    return f"pages {pages[0]}-{pages[-1]}"
