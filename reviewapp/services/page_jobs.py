"""Writes for documents read one page per job.

A scanned document of several pages would keep one worker busy for the sum of
its pages while others idle. Its processing job instead prepares the pages,
stores each where every worker can read it (the shared media storage), and
enqueues one page job per page. Each page job stores its page's text; the one
that finds every page read claims the assembly with a conditional update on
the run, so the rest of the pipeline runs exactly once, wherever the jobs ran.

A worker that dies mid-page leaves its document held by no live job; the
orphan recovery then requeues the whole document with a new run, and results
still arriving for the old run are dropped (its run is no longer running).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import django_rq
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from pipeline.preprocess import AppliedStep, PreprocessResult
from pipeline.run import Prepared, ProcessedPage
from pipeline.types import OcrLine, PageImage, PageText
from reviewapp.models.documents import PageReading, ProcessingRun

logger = logging.getLogger(__name__)

PAGE_JOB = "reviewapp.jobs.read_document_page"


def run_wants_page_jobs(prepared: Prepared) -> bool:
    """Whether a document is worth splitting: enough pages that need OCR
    (`VOUCH_PAGE_JOBS_MIN_PAGES`; 0 turns page jobs off)."""
    least = settings.VOUCH_PAGE_JOBS_MIN_PAGES
    return bool(least) and prepared.pages_to_read >= least


def run_split_into_pages(*, run: ProcessingRun, prepared: Prepared) -> int:
    """Store every prepared page for any worker and enqueue a job per page.
    Returns the number of page jobs. The jobs are sent when the transaction
    commits (django-rq's on_db_commit), so none looks for a page not stored."""
    queue = django_rq.get_queue("default")
    with transaction.atomic():
        for done in prepared.pages:
            page = done.page
            reading = PageReading(
                run=run,
                number=page.number,
                width=page.width,
                height=page.height,
                dpi=page.dpi,
                text_layer=(
                    None if page.text_lines is None else _lines_json(page.text_lines)
                ),
                preprocessing=[
                    {"name": step.name, "detail": step.detail} for step in done.applied
                ],
                preprocess_seconds=done.seconds,
                preprocess_cpu_seconds=done.cpu_seconds,
            )
            extension = "png" if page.image_format == "PNG" else "jpg"
            reading.image.save(
                f"page-{page.number}.{extension}",
                ContentFile(page.image_bytes),
                save=False,
            )
            reading.save()
        ProcessingRun.objects.filter(pk=run.pk).update(
            pages_expected=len(prepared.pages),
            stage_seconds={**prepared.seconds, "current": "pages"},
        )
        for done in prepared.pages:
            queue.enqueue(
                PAGE_JOB,
                run.document_id,
                run.pk,
                done.page.number,
                job_timeout=settings.VOUCH_JOB_TIMEOUT,
                description=(
                    f"read page {done.page.number} of document {run.document.public_id}"
                ),
            )
    return len(prepared.pages)


def run_is_running(run_id: int) -> bool:
    return ProcessingRun.objects.filter(
        pk=run_id, outcome=ProcessingRun.Outcome.RUNNING
    ).exists()


def page_prepared(reading: PageReading) -> PreprocessResult:
    """The stored page as preprocessing left it, for the page job's OCR."""
    with reading.image.open("rb") as stored:
        image_bytes = stored.read()
    page = PageImage(
        number=reading.number,
        width=reading.width,
        height=reading.height,
        dpi=reading.dpi,
        image_bytes=image_bytes,
        image_format="PNG" if reading.image.name.endswith(".png") else "JPEG",
        text_lines=(
            None
            if reading.text_layer is None
            else _lines_from_json(reading.text_layer, reading.number)
        ),
    )
    return PreprocessResult(
        page=page,
        applied=tuple(
            AppliedStep(step["name"], step["detail"]) for step in reading.preprocessing
        ),
        seconds=reading.preprocess_seconds,
        cpu_seconds=reading.preprocess_cpu_seconds,
    )


def page_reading_store(
    *, reading: PageReading, processed: ProcessedPage, worker: str
) -> None:
    """Keep one page's text. Storing it again replaces it."""
    PageReading.objects.filter(pk=reading.pk).update(
        lines=_lines_json(processed.text.lines),
        source=processed.text.source,
        text_seconds=processed.text_seconds,
        worker=worker,
        read_at=timezone.now(),
    )


def run_claim_assembly(*, run_id: int) -> bool:
    """True for exactly one caller once every page of the run is read.

    Each page job stores its page (committed) before it asks, so the job
    whose page was the last to be stored always sees every page; two asking
    at once race on one conditional update, which only one of them wins."""
    run = ProcessingRun.objects.get(pk=run_id)
    read = PageReading.objects.filter(run=run, read_at__isnull=False).count()
    if not run.pages_expected or read < run.pages_expected:
        return False
    claimed = ProcessingRun.objects.filter(
        pk=run_id,
        outcome=ProcessingRun.Outcome.RUNNING,
        assembled_at__isnull=True,
    ).update(assembled_at=timezone.now())
    return claimed == 1


def run_read_pages(*, run: ProcessingRun) -> tuple[ProcessedPage, ...]:
    """Every page of the run with its text, in page order, as the pipeline's
    single-job path would have them."""
    pages = []
    for reading in PageReading.objects.filter(run=run).order_by("number"):
        prepared = page_prepared(reading)
        text = PageText(
            page_number=reading.number,
            width=reading.width,
            height=reading.height,
            lines=_lines_from_json(reading.lines or [], reading.number),
            source=reading.source,  # type: ignore[arg-type]
        )
        pages.append(
            ProcessedPage(
                image=prepared.page,
                text=text,
                text_seconds=reading.text_seconds,
                preprocessing=prepared.applied,
                preprocess_seconds=prepared.seconds,
                preprocess_cpu_seconds=prepared.cpu_seconds,
            )
        )
    return tuple(pages)


def run_pages_close(*, run_id: int) -> None:
    """Once the pages have served (assembled, or the run failed): note on the
    run which worker read each page, then remove the stored page images and
    their text (the document keeps its own pages; retention must not find
    text left behind here)."""
    readings = list(PageReading.objects.filter(run_id=run_id))
    ProcessingRun.objects.filter(pk=run_id).update(
        page_workers={str(r.number): r.worker for r in readings if r.worker}
    )
    for reading in readings:
        try:
            reading.image.delete(save=False)
        except OSError:
            logger.warning("could not delete %s", reading.image.name)
    PageReading.objects.filter(run_id=run_id).delete()


def _lines_json(lines: Sequence[OcrLine]) -> list[dict[str, object]]:
    return [
        {
            "text": line.text,
            "confidence": line.confidence,
            "polygon": [list(point) for point in line.polygon],
        }
        for line in lines
    ]


def _lines_from_json(data: Sequence[dict], page_number: int) -> tuple[OcrLine, ...]:  # type: ignore[type-arg]
    return tuple(
        OcrLine(
            text=line["text"],
            confidence=float(line["confidence"]),
            polygon=tuple(tuple(point) for point in line["polygon"]),  # type: ignore[arg-type]
            page_number=page_number,
        )
        for line in data
    )
