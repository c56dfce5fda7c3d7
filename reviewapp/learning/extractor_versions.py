"""Versions of the learned extractor: which one reads new documents, retraining
from people's corrections behind a gate, and rolling back.

Writes (`extractor_retrain`, `extractor_version_activate`) are services in the
house sense: each records its audit events in its own transaction. Workers ask
`extractor_for_processing` for the extractor before each document; it caches the
built extractor per process and rebuilds it when the active version changes.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import django_rq
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from rq.job import Job, JobStatus

from pipeline.extract import FieldExtractor, extractors
from pipeline.extract.base_training import read_base_training
from pipeline.extract.scorer import (
    MODEL_PATH,
    ScoredExtractor,
    ScorerModel,
    scorer_from_json,
)
from pipeline.extract.scorer_candidates import (
    SCORED_FIELDS,
)
from pipeline.extract.scorer_gate import (
    CORRECTIONS_SOURCE,
    GateDecision,
    judge,
)
from pipeline.extract.scorer_training import (
    LabelledDocument,
    load_documents,
    normalise_label,
    train,
)
from pipeline.types import OcrLine, PageText
from reviewapp.audit.log_masking import mask_sensitive_text
from reviewapp.audit.trail import EventType as audit_EventType
from reviewapp.audit.trail import record_event
from reviewapp.models.documents import Document, Page
from reviewapp.models.fields import Field
from reviewapp.models.learning import ExtractorVersion
from reviewapp.models.validation import DocumentValidation

EventType = audit_EventType
# A stage's message and how far the whole retrain is, 0..100.
Progress = Callable[[str, int], None]
# One corrected document in this many is held back from training and used
# only to judge the candidate against the live version.
HELD_BACK_ONE_IN = 5
# Documents whose every field a person has vouched for.
_VERIFIED_STATUSES = (Document.Status.APPROVED,)


# --- which extractor reads documents ---------------------------------------------


_cache_lock = threading.Lock()
_cached: dict[str, Any] = {}


def active_version() -> ExtractorVersion | None:
    return ExtractorVersion.objects.filter(is_active=True).first()


def extractor_for_processing() -> tuple[FieldExtractor, ExtractorVersion | None]:
    """The extractor for the next document and the version it comes from:
    the active trained version when there is one, else the configured
    `VOUCH_EXTRACTOR`. One small query per call; the model is rebuilt only
    when the active version changed since the last call in this process."""
    version = (
        ExtractorVersion.objects.filter(is_active=True)
        .only("pk", "name", "content_hash")
        .first()
    )
    if version is None:
        return extractors.get(settings.VOUCH_EXTRACTOR), None
    with _cache_lock:
        if _cached.get("hash") != version.content_hash:
            artefact = ExtractorVersion.objects.values_list("artefact", flat=True).get(
                pk=version.pk
            )
            _cached["hash"] = version.content_hash
            _cached["extractor"] = ScoredExtractor(scorer_from_json(artefact))
        extractor: FieldExtractor = _cached["extractor"]
    return extractor, version


def reset_cache() -> None:
    """Forget the built extractor (tests)."""
    with _cache_lock:
        _cached.clear()


# --- training data from corrections ----------------------------------------------


def _page_text(page: Page) -> PageText:
    lines = tuple(
        OcrLine(
            text=line.text,
            confidence=line.confidence,
            polygon=tuple(tuple(point) for point in line.polygon),  # type: ignore[arg-type]
            page_number=page.number,
        )
        for line in page.lines.order_by("order")
    )
    return PageText(page.number, page.width, page.height, lines, page.text_source)  # type: ignore[arg-type]


def correction_documents() -> list[LabelledDocument]:
    """Documents people corrected or approved, as training examples: their
    stored text lines, labelled with every scored field a person set, and on
    approved documents every scored field (the reviewer vouched for them)."""
    labels: dict[int, dict[str, str]] = defaultdict(dict)
    vendors = dict(
        DocumentValidation.objects.filter(vendor__isnull=False).values_list(
            "document_id", "vendor__public_id"
        )
    )
    fields = Field.objects.filter(name__in=SCORED_FIELDS).exclude(value="")
    for field in fields.filter(set_by=Field.SetBy.HUMAN).only(
        "document_id", "name", "value"
    ):
        labels[field.document_id][field.name] = field.value
    for field in fields.filter(document__status__in=_VERIFIED_STATUSES).only(
        "document_id", "name", "value"
    ):
        labels[field.document_id].setdefault(field.name, field.value)
    documents = []
    for document in (
        Document.objects.filter(pk__in=labels)
        .prefetch_related("pages")
        .order_by("public_id")
    ):
        pages = tuple(_page_text(page) for page in document.pages.order_by("number"))
        normalised = {
            name: label
            for name, value in labels[document.pk].items()
            if (label := normalise_label(name, value)) is not None
        }
        if pages and normalised:
            documents.append(
                LabelledDocument(
                    f"corrections/{document.public_id}",
                    CORRECTIONS_SOURCE,
                    pages,
                    normalised,
                    # The matched vendor, else the gate goes by the name label.
                    vendor=str(vendors.get(document.pk) or ""),
                )
            )
    return documents


def is_held_back(document: LabelledDocument) -> bool:
    """A stable one-in-five slice: the same document is held back on every
    retrain, so the slice never leaks into a later version's training data."""
    digest = hashlib.sha256(document.doc_id.encode()).hexdigest()
    return int(digest, 16) % HELD_BACK_ONE_IN == 0


def dev_documents(manifests: Sequence[Path] | None = None) -> list[LabelledDocument]:
    """The base training data: the manifests given (read without OCR), else
    the base training set shipped under pipeline/models/, which every
    installation has. Raises BaseTrainingError when that file is unreadable."""
    if manifests:
        documents, _ = load_documents(manifests)
        return documents
    return read_base_training()


# --- retraining behind the gate ---------------------------------------------------

RETRAIN_JOB = "reviewapp.jobs.retrain_extractor"
# A full retrain on the shipped base set took 43 min on a 2-core machine under
# heavy load (idle: far less); the job is stopped, with that reason, after 3 h.
RETRAIN_TIMEOUT = 3 * 3600


RETRAIN_QUEUE = "retrain"  # served by its own worker, so reading never waits


def extractor_retrain_enqueue(*, actor: AbstractBaseUser) -> str:
    """Queue a retrain for `actor` on the retrain queue and return the job's
    id; the job starts once the surrounding transaction commits (django-rq's
    on_db_commit mode, which is also why the id is chosen here rather than
    read from the job)."""
    job_id = f"retrain-{uuid.uuid4().hex}"
    django_rq.get_queue(RETRAIN_QUEUE).enqueue(
        RETRAIN_JOB,
        actor.pk,
        job_id=job_id,
        job_timeout=RETRAIN_TIMEOUT,
        description="retrain the extractor",
    )
    return job_id


def _failure_reason(job: Job) -> str:
    """The last line of a failed job's traceback (the exception and its
    message), masked like a log line."""
    result = job.latest_result()
    trace = (result.exc_string if result is not None else "") or ""
    lines = [line for line in trace.splitlines() if line.strip()]
    reason = lines[-1].strip() if lines else "unknown error"
    if reason.startswith(("JobTimeoutException", "rq.timeouts.JobTimeoutException")):
        reason = f"it took longer than {RETRAIN_TIMEOUT // 60} minutes and was stopped"
    return mask_sensitive_text(reason)


def retrain_status(job_id: str) -> dict[str, Any] | None:
    """Where a retrain job is: its state, stage, percentage, an estimate of
    the seconds left, and its result or the reason it failed; None for an id
    that is not a retrain job."""
    job = django_rq.get_queue(RETRAIN_QUEUE).fetch_job(job_id)
    if job is None or job.func_name != RETRAIN_JOB:
        return None
    status = job.get_status(refresh=True)
    percent = int(job.meta.get("percent", 0))
    started = job.meta.get("started")
    remaining = None
    if started and 0 < percent < 100 and status == JobStatus.STARTED:
        elapsed = time.time() - float(started)
        remaining = round(elapsed * (100 - percent) / percent)
    return {
        "id": job.id,
        "status": str(status.value if status is not None else "unknown"),
        "progress": job.meta.get("progress", ""),
        "percent": percent,
        "seconds_left": remaining,
        "result": job.return_value() if status == JobStatus.FINISHED else None,
        "error": f"training failed: {_failure_reason(job)}"
        if status == JobStatus.FAILED
        else "",
    }


def retrain_failures(limit: int = 3) -> list[dict[str, Any]]:
    """The latest failed retrains, newest first, with when and why; they stay
    listed until RQ expires them from its failed registry."""
    queue = django_rq.get_queue(RETRAIN_QUEUE)
    jobs = [
        job
        for job in Job.fetch_many(
            queue.failed_job_registry.get_job_ids(),
            connection=queue.connection,
            serializer=queue.serializer,
        )
        if job is not None and job.func_name == RETRAIN_JOB
    ]
    jobs.sort(key=lambda job: job.ended_at or job.created_at, reverse=True)
    return [
        {"id": job.id, "ended_at": job.ended_at, "reason": _failure_reason(job)}
        for job in jobs[:limit]
    ]


@dataclass(frozen=True)
class RetrainOutcome:
    version: ExtractorVersion
    decision: GateDecision | None  # None: this exact model was trained before
    created: bool


def baseline_version() -> ExtractorVersion:
    """The version reading documents now: the active one, else the checked-in
    artefact registered as the baseline (on first use)."""
    active = active_version()
    if active is not None:
        return active
    artefact = scorer_artefact(MODEL_PATH)
    version, _ = ExtractorVersion.objects.get_or_create(
        content_hash=artefact["content_hash"],
        defaults=_version_fields(artefact, ExtractorVersion.Decision.BASELINE),
    )
    return version


def scorer_artefact(path: Path) -> dict[str, Any]:
    """The artefact at `path`; raises ScorerError when it is unusable."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    scorer_from_json(data)  # refuses an altered or malformed file
    return data


def _version_fields(artefact: dict[str, Any], decision: str) -> dict[str, Any]:
    return {
        "name": artefact["name"],
        "artefact": artefact,
        "training_summary": artefact.get("training", {}),
        "scores": artefact.get("scores", {}),
        "decision": decision,
    }


def _model(version: ExtractorVersion) -> ScorerModel:
    return scorer_from_json(version.artefact)


def extractor_retrain(
    *,
    actor: AbstractBaseUser | None,
    base_documents: Sequence[LabelledDocument] | None = None,
    progress: Progress | None = None,
    folds: int = 5,
) -> RetrainOutcome:
    """Train a candidate from the dev data plus corrections (minus the held-back
    slice), compare it with the live version on the held-back corrections and
    on the dev data's cross-validated figures, and promote it only if no field
    gets worse beyond noise (see pipeline.extract.scorer_gate).

    Records the version either way, with its scores and the gate's reasons,
    and the audit events model_trained then model_promoted or model_rejected.
    Training the same data again finds the version already recorded and
    changes nothing. Raises ValueError when there is nothing to train on.
    """
    report = progress or (lambda message, percent: None)
    report("reading the base training set", 0)
    base = list(base_documents) if base_documents is not None else dev_documents()
    report("reading corrections", 5)
    corrections = correction_documents()
    held_back = [d for d in corrections if is_held_back(d)]
    used = [d for d in corrections if not is_held_back(d)]
    if not base and not used:
        raise ValueError(
            "nothing to train on: the base training set is empty and no "
            "document was corrected or approved yet"
        )
    report(
        f"training on {len(base)} base and {len(used)} corrected documents "
        f"({len(held_back)} held back)",
        10,
    )
    artefact = train(
        [*base, *used],
        folds=folds,
        training_summary={
            "corrected_documents_used": len(used),
            "corrected_documents_held_back": len(held_back),
        },
    )
    existing = ExtractorVersion.objects.filter(
        content_hash=artefact["content_hash"]
    ).first()
    if existing is not None:
        report(f"this model was trained before: {existing.label}", 100)
        return RetrainOutcome(existing, None, created=False)

    report("comparing with the live version", 80)
    live = baseline_version()
    decision = judge(
        live.scores,
        _model(live),
        artefact,
        held_back,
        min_held_back=settings.VOUCH_GATE_MIN_HELD_BACK,
    )
    evaluation = {
        "against": live.label,
        "comparisons": [c.as_dict() for c in decision.comparisons],
        "held_back_documents": len(held_back),
    }
    with transaction.atomic():
        version = ExtractorVersion.objects.create(
            content_hash=artefact["content_hash"],
            **_version_fields(
                artefact,
                ExtractorVersion.Decision.PROMOTED
                if decision.promote
                else ExtractorVersion.Decision.REJECTED,
            ),
            evaluation=evaluation,
            decision_reasons=decision.reasons,
            created_by=actor if actor is not None and actor.is_authenticated else None,
        )
        record_event(
            EventType.MODEL_TRAINED,
            actor=actor,
            details={
                "version": version.label,
                "training": {
                    "documents": artefact["training"]["documents"],
                    "data_digest": artefact["training"]["data_digest"],
                    "corrected_documents_used": len(used),
                },
            },
        )
        if decision.promote:
            _activate(version)
        record_event(
            EventType.MODEL_PROMOTED if decision.promote else EventType.MODEL_REJECTED,
            actor=actor,
            details={
                "version": version.label,
                "previous": live.label,
                "reasons": decision.reasons,
            },
        )
    report(f"{'promoted' if decision.promote else 'rejected'}: {version.label}", 100)
    return RetrainOutcome(version, decision, created=True)


def _activate(version: ExtractorVersion) -> None:
    now = timezone.now()
    ExtractorVersion.objects.filter(is_active=True).exclude(pk=version.pk).update(
        is_active=False
    )
    version.is_active = True
    version.promoted_at = now
    version.save(update_fields=["is_active", "promoted_at"])


def extractor_version_activate(
    *, version_id: int, actor: AbstractBaseUser | None
) -> ExtractorVersion:
    """Make an earlier version the one that reads new documents (a rollback),
    whatever the gate said of it then. Safe to repeat: activating the active
    version changes nothing and records nothing. Raises
    ExtractorVersion.DoesNotExist for an unknown id."""
    with transaction.atomic():
        version = ExtractorVersion.objects.select_for_update().get(pk=version_id)
        if version.is_active:
            return version
        previous = active_version()
        _activate(version)
        record_event(
            EventType.MODEL_ROLLED_BACK,
            actor=actor,
            details={
                "version": version.label,
                "previous": previous.label if previous else settings.VOUCH_EXTRACTOR,
            },
        )
    return version
