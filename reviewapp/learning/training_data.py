"""Corrections as training data: what the machine read and where, what the
person chose instead and where, kept per correction (FieldCorrection) and
exported for the extractor's training (`manage.py export_training`).

Sensitive values follow the audit trail's rule: a value or OCR text that is, or
holds, a sensitive value is stored masked in its column and encrypted under
the audit key in `sealed`; only an export by someone allowed to reveal, with a
reason, decrypts it (and that is audited as a reveal).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Literal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from reviewapp.audit.log_masking import mask_sensitive_text
from reviewapp.audit.trail import (
    SENSITIVE_FIELD_NAMES,
    SecretUnavailable,
    record_event,
    roles_of,
    seal,
    unseal,
    utc_iso,
)
from reviewapp.masking import (
    PageMask,
    document_mask,
    mask_value,
    page_mask,
    sensitive_field_names,
)
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Page
from reviewapp.models.fields import Field
from reviewapp.models.learning import FieldCorrection
from reviewapp.ocr_evidence import (
    Box,
    contains,
    line_words,
    lines_under,
    text_in_box,
)
from reviewapp.permissions import can_reveal_sensitive

Source = FieldCorrection.Source
SEALED_COLUMNS = (
    "machine_value",
    "machine_ocr_text",
    "corrected_value",
    "corrected_ocr_text",
)
OTHER = "other"  # the KIE label of text that is no field
TrainingFormat = Literal["jsonl", "kie"]
FORMATS: tuple[TrainingFormat, ...] = ("jsonl", "kie")


class RevealRefused(Exception):
    """Values in clear need someone allowed to reveal them, and a reason."""


@dataclass(frozen=True)
class CorrectionEvidence:
    """How the person arrived at a value: typed it, or took the text of a line
    or word they clicked or of a box they drew (page number and box)."""

    source: str = Source.TYPED
    page_number: int | None = None
    box: Box | None = None


TYPED = CorrectionEvidence()


def sensitive_names() -> frozenset[str]:
    """Fields admins marked sensitive, and those the audit trail encrypts."""
    return sensitive_field_names() | SENSITIVE_FIELD_NAMES


def _is_secret(text: str, *, field_is_sensitive: bool, secrets: PageMask) -> bool:
    if not text:
        return False
    if field_is_sensitive:
        return True
    compact = "".join(text.split()).upper()
    return any(value in compact for value in secrets.clear_values) or (
        mask_sensitive_text(text) != text
    )


def correction_record(
    *,
    field: Field,
    evidence: CorrectionEvidence,
    user: AbstractBaseUser,
) -> FieldCorrection:
    """Store one correction of `field` (already saved with the person's value)
    with the OCR evidence of the machine's value and of the person's choice."""
    document = field.document
    machine_page, machine_box = field.page, field.box
    machine_ocr_text = ""
    if machine_page is not None and machine_box:
        machine_ocr_text = "\n".join(
            line.text for line in lines_under(machine_page.lines.all(), machine_box)
        )
    page = None
    corrected_ocr_text = ""
    corrected_box: list[int] | None = None
    if evidence.box is not None and evidence.page_number is not None:
        page = document.pages.filter(number=evidence.page_number).first()
    if page is not None and evidence.box is not None:
        # A box dragged past the image's edge ends at the edge.
        x0, y0, x1, y1 = evidence.box
        corrected_box = [
            max(0, min(x0, page.width)),
            max(0, min(y0, page.height)),
            max(0, min(x1, page.width)),
            max(0, min(y1, page.height)),
        ]
        corrected_ocr_text = text_in_box(page.lines.all(), corrected_box)
    sensitive = sensitive_names()
    secrets = document_mask(document.fields.all(), sensitive)
    texts = {
        # What the machine read, even after earlier corrections.
        "machine_value": field.machine_value,
        "machine_ocr_text": machine_ocr_text,
        "corrected_value": field.value,
        "corrected_ocr_text": corrected_ocr_text,
    }
    sealed = {
        column: seal(text)
        for column, text in texts.items()
        if _is_secret(text, field_is_sensitive=field.name in sensitive, secrets=secrets)
    }
    return FieldCorrection.objects.create(
        document=document,
        field_name=field.name,
        machine_confidence=field.machine_confidence,
        machine_page=machine_page,
        machine_box=machine_box,
        page=page,
        corrected_box=corrected_box,
        source=evidence.source if page is not None else Source.TYPED,
        sealed=sealed,
        user=user,  # type: ignore[misc]
        username=user.get_username(),
        role=roles_of(user),
        **{
            column: mask_value(text) if column in sealed else text
            for column, text in texts.items()
        },
    )


def clear_text(correction: FieldCorrection, column: str, *, reveal: bool) -> str:
    """A value or OCR text of `correction`: masked, or in clear with `reveal`
    (still masked when it was sealed under an audit key no longer in use)."""
    if reveal and column in correction.sealed:
        try:
            return unseal(correction.sealed[column])
        except SecretUnavailable:
            pass
    return str(getattr(correction, column))


# --- export ---------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingFilters:
    since: date | None = None  # from this day on (the server's time zone)
    corrected_by: str = ""  # username

    def as_details(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "corrected_by": self.corrected_by or None,
        }


def matching_corrections(filters: TrainingFilters) -> QuerySet[FieldCorrection]:
    corrections = FieldCorrection.objects.select_related(
        "document", "page", "machine_page"
    )
    if filters.since:
        start = timezone.make_aware(datetime.combine(filters.since, time.min))
        corrections = corrections.filter(created_at__gte=start)
    if filters.corrected_by:
        corrections = corrections.filter(username=filters.corrected_by)
    return corrections.order_by("created_at", "id")


def training_export(
    *,
    export_format: TrainingFormat,
    filters: TrainingFilters,
    actor: AbstractBaseUser | None,
    reveal_reason: str = "",
    destination: str = "",
) -> Iterator[str]:
    """Record the export (and, with `reveal_reason`, the reveal) as audit
    events, then return the export's lines. Values are masked unless
    `reveal_reason` is given. Raises ValueError on an unknown format and
    RevealRefused when `actor` may not reveal sensitive values."""
    if export_format not in FORMATS:
        raise ValueError(f"{export_format!r} is not a training data format")
    reveal = bool(reveal_reason.strip())
    if reveal and (actor is None or not can_reveal_sensitive(actor)):
        raise RevealRefused(
            "Only someone allowed to reveal sensitive values (an administrator "
            "or supervisor) may export them in clear."
        )
    corrections = matching_corrections(filters)
    with transaction.atomic():
        record_event(
            AuditEvent.EventType.TRAINING_EXPORTED,
            actor=actor,
            details={
                "format": export_format,
                "filters": filters.as_details(),
                "corrections": corrections.count(),
                "masked": not reveal,
                "destination": destination,
            },
        )
        if reveal:
            record_event(
                AuditEvent.EventType.SENSITIVE_REVEALED,
                actor=actor,
                details={"value_of": "training data export", "reason": reveal_reason},
            )
    if export_format == "jsonl":
        return _jsonl_lines(corrections, reveal=reveal)
    return _kie_lines(corrections, reveal=reveal)


def _page_json(page: Page | None) -> dict[str, Any] | None:
    if page is None:
        return None
    return {
        "number": page.number,
        # Relative to MEDIA_ROOT, like PaddleOCR's data_dir-relative paths.
        "image": page.image.name,
        "width": page.width,
        "height": page.height,
    }


def _evidence_json(
    correction: FieldCorrection, side: str, *, reveal: bool
) -> dict[str, str]:
    return {
        "value": clear_text(correction, f"{side}_value", reveal=reveal),
        "ocr_text": clear_text(correction, f"{side}_ocr_text", reveal=reveal),
    }


def _jsonl_lines(
    corrections: QuerySet[FieldCorrection], *, reveal: bool
) -> Iterator[str]:
    for correction in corrections.iterator(chunk_size=500):
        record = {
            "id": correction.pk,
            "document": str(correction.document.public_id),
            "document_name": correction.document.original_name,
            "field": correction.field_name,
            "machine": {
                **_evidence_json(correction, "machine", reveal=reveal),
                "confidence": correction.machine_confidence,
                "page": _page_json(correction.machine_page),
                "box": correction.machine_box,
            },
            "corrected": {
                **_evidence_json(correction, "corrected", reveal=reveal),
                "source": correction.source,
                "page": _page_json(correction.page),
                "box": correction.corrected_box,
            },
            "user": correction.username,
            "role": correction.role,
            "created_at": utc_iso(correction.created_at),
            "masked": not reveal and bool(correction.sealed),
        }
        yield json.dumps(record, ensure_ascii=False) + "\n"


def _kie_lines(
    corrections: QuerySet[FieldCorrection], *, reveal: bool
) -> Iterator[str]:
    """PaddleOCR KIE (SER) labels: one line per corrected page image,
    `image_path<TAB>[{transcription, points, label, id, linking}]`, from every
    OCR line of the page; the words inside a corrected box are a segment
    labelled with the field, the rest of the text is "other"."""
    labelled: dict[int, dict[str, Box]] = {}
    boxed = corrections.filter(page__isnull=False, corrected_box__isnull=False)
    for page_id, name, box in boxed.values_list(
        "page_id", "field_name", "corrected_box"
    ):
        # A field corrected twice on a page: the latest box wins.
        labelled.setdefault(page_id, {})[name] = box_of(box or ())
    pages = Page.objects.filter(pk__in=labelled).prefetch_related(
        "lines",
        Prefetch("document__fields", queryset=Field.objects.all()),
    )
    sensitive = sensitive_names()
    for page in pages.order_by("document_id", "number"):
        mask = page_mask(page.document.fields.all(), page.pk, sensitive)
        segments = _segments(page.lines.all(), labelled[page.pk], mask)
        annotations = []
        for number, (text, points, label, hidden) in enumerate(segments):
            secret = hidden or label in sensitive or mask_sensitive_text(text) != text
            annotations.append(
                {
                    "transcription": text if reveal or not secret else mask_value(text),
                    "points": points,
                    "label": label,
                    "id": number,
                    "linking": [],
                }
            )
        yield f"{page.image.name}\t{json.dumps(annotations, ensure_ascii=False)}\n"


Segment = tuple[str, list[list[int]], str, bool]


def _segments(
    lines: Iterable[Any], boxes: dict[str, Box], mask: PageMask
) -> list[Segment]:
    """Each line whole when no corrected box takes any of its words; else
    split into runs of words with the same label (a field's box usually holds
    the value, not its printed label)."""
    segments: list[Segment] = []
    for line in lines:
        words = line_words(line.text, line.box, line_order=line.order)
        labels = [_label_of(word.box, boxes) for word in words]
        hidden = mask.hides(line)
        if set(labels) <= {OTHER}:
            points = [[int(x), int(y)] for x, y in line.polygon]
            segments.append((line.text, points, OTHER, hidden))
            continue
        start = 0
        for end in range(1, len(words) + 1):
            if end < len(words) and labels[end] == labels[start]:
                continue
            run = words[start:end]
            (x0, y0, _, _), (_, _, x1, y1) = run[0].box, run[-1].box
            segments.append(
                (
                    " ".join(word.text for word in run),
                    [[x0, y0], [x1, y0], [x1, y1], [x0, y1]],
                    labels[start],
                    hidden,
                )
            )
            start = end
    return segments


def _label_of(word_box: Box, boxes: dict[str, Box]) -> str:
    return next((name for name, box in boxes.items() if contains(box, word_box)), OTHER)


def box_of(values: Sequence[int]) -> Box:
    x0, y0, x1, y1 = (int(value) for value in values[:4])
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
