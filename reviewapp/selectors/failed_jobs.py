"""Failed documents as the administrators' failed-jobs page lists them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from reviewapp.models.documents import Document, ProcessingRun


@dataclass(frozen=True)
class FailedJob:
    document: Document
    attempts: int  # processing runs, across retries and requeues
    worker: str  # of the last run


def failed_jobs(*, limit: int = 500) -> list[FailedJob]:
    """Failed documents, newest first, with their runs: two queries."""
    documents = list(
        Document.objects.filter(status=Document.Status.FAILED).order_by(
            "-status_changed_at", "-pk"
        )[:limit]
    )
    runs: dict[int, list[str]] = defaultdict(list)
    for document_id, worker in (
        ProcessingRun.objects.filter(document__in=documents)
        .order_by("document", "started_at", "pk")
        .values_list("document", "worker")
    ):
        runs[document_id].append(worker)
    return [FailedJob(d, len(runs[d.pk]), (runs[d.pk] or [""])[-1]) for d in documents]
