"""Labelled documents against what was read: manifests, labels, per-field results."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from rapidfuzz.distance import Levenshtein

from pipeline.extract.calibration_fit import (
    expected_calibration_error,
)
from pipeline.extract.normalize import (
    compact_identifier,
    normalize_amount,
    normalize_date,
)
from pipeline.types import Extraction
from reviewapp.extraction_fields import (
    FIELD_KINDS,
    auto_accept_support,
    auto_accept_threshold,
)
from reviewapp.review_reasons import ROUTINE, reason_for

FUZZY_THRESHOLD = 0.9
# Manifest label names that differ from ours.
LABEL_ALIASES = {"address": "vendor_address"}
# SROIE's upstream keys, for manifests that carry only `raw_labels`.
RAW_LABEL_ALIASES = {
    "company": "vendor_name",
    "address": "vendor_address",
    "date": "invoice_date",
    "total": "total_amount",
}
_IDENTIFIER_FIELDS = frozenset({"iban", "bic", "vendor_vat_id"})


@dataclass
class FieldResult:
    name: str
    label: str  # normalised
    predicted: str | None  # normalised, None when not extracted
    raw_value: str | None
    confidence: float | None
    exact: bool
    fuzzy: bool
    similarity: float  # normalised Levenshtein similarity of the compared forms
    auto_accepted: bool
    explanation: str = ""
    # Before the evidence stage, and the evidence (kind -> +1 / -1): what the
    # calibration is fitted on (`calibrate_confidence`).
    finder_confidence: float | None = None
    evidence: dict[str, int] = field(default_factory=dict)
    threshold: float | None = None
    threshold_samples: int | None = None  # held-out values behind the threshold


@dataclass
class ExtractedField:
    """A value read from the document, labelled or not: routing looks at
    every one of them, so touchless does too."""

    name: str
    value: str
    confidence: float
    threshold: float
    explanation: str = ""
    finder_confidence: float | None = None
    evidence: dict[str, int] = field(default_factory=dict)


@dataclass
class DocumentResult:
    doc_id: str
    doc_type: str
    file: str
    read_as: str = ""  # the document type the pipeline classified it as
    pages: int = 0
    seconds: float = 0.0
    text_sources: list[str] = field(default_factory=list)
    # Per page: seconds spent preprocessing, and the steps that changed it.
    preprocess_seconds: list[float] = field(default_factory=list)
    preprocess_cpu_seconds: list[float] = field(default_factory=list)
    preprocessing: list[str] = field(default_factory=list)
    error: str = ""
    fields: list[FieldResult] = field(default_factory=list)
    unevaluated_labels: list[str] = field(default_factory=list)
    unreadable_labels: list[str] = field(default_factory=list)
    extracted: list[ExtractedField] = field(default_factory=list)

    @property
    def touchless(self) -> bool:
        """Nobody would look at it: every value read passes its threshold, as
        the routing judges it (review_reasons, the same function), and every
        labelled one was right."""
        fields = [(e.name, e.value, e.confidence) for e in self.extracted]
        thresholds = {e.name: e.threshold for e in self.extracted}
        return (
            not self.error
            and bool(self.fields)
            and all(f.auto_accepted and f.exact for f in self.fields)
            and reason_for(fields, flag_below=thresholds) == ROUTINE
        )


def read_manifest(path: Path) -> list[dict[str, Any]]:
    """The manifest's entries in order. Raises CommandError for a missing file
    or a line that is not a JSON object."""
    if not path.is_file():
        raise CommandError(f"{path} is not a manifest file")
    entries = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as error:
            raise CommandError(f"{path}:{number} is not JSON ({error})") from None
        if not isinstance(entry, dict):
            raise CommandError(f"{path}:{number} is not a JSON object")
        entries.append(entry)
    return entries


@dataclass(frozen=True)
class Reading:
    """What the pipeline read from one document, with the evidence stage's
    inputs (per field: evidence signals, confidence before the evidence)."""

    extraction: Extraction
    evidence: dict[str, dict[str, int]]
    finder_confidences: dict[str, float]


def manifest_labels(
    entry: dict[str, Any],
) -> tuple[dict[str, str], list[str], list[str]]:
    """Normalised labels under our field names; the label names we do not
    extract (reported, not scored); and labels whose value cannot be read as
    its kind ("date: 31/02/2018"), reported so no label silently disappears.
    Falls back to SROIE `raw_labels` when an entry has no `labels`."""
    labels: dict[str, str] = {}
    not_extracted: list[str] = []
    unreadable: list[str] = []
    source = entry.get("labels")
    aliases = LABEL_ALIASES
    if not source:
        source, aliases = entry.get("raw_labels") or {}, RAW_LABEL_ALIASES
    for key, value in source.items():
        name = aliases.get(key, key)
        if name not in FIELD_KINDS:
            not_extracted.append(key)
            continue
        if value in (None, ""):
            continue
        normalised = normalise_label(name, str(value))
        if normalised is None:
            unreadable.append(f"{key}={value}")
            continue
        labels[name] = normalised
    return labels, not_extracted, unreadable


def normalise_label(name: str, value: str) -> str | None:
    """A label in the form extracted values take. Lenient where the product is
    strict with people: a dataset's invalid sample IBAN is still its label."""
    kind = FIELD_KINDS[name]
    if kind == "amount":
        return normalize_amount(value)
    if kind == "date":
        return normalize_date(value)
    if name in _IDENTIFIER_FIELDS:
        return compact_identifier(value)
    return " ".join(value.split())


def comparable(name: str, value: str) -> str:
    """The form two values of field `name` are compared in."""
    kind = FIELD_KINDS[name]
    if kind == "amount":
        try:
            return str(Decimal(value).normalize())
        except InvalidOperation:
            return value
    if kind == "code":
        return "".join(value.split()).casefold()
    return " ".join(value.split()).casefold()


def score_field(name: str, label: str, read: Reading) -> FieldResult:
    found = read.extraction.get(name)
    if found is None:
        return FieldResult(name, label, None, None, None, False, False, 0.0, False)
    expected, got = comparable(name, label), comparable(name, found.value)
    exact = expected == got
    similarity = Levenshtein.normalized_similarity(expected, got)
    fuzzy = exact or (FIELD_KINDS[name] == "text" and similarity >= FUZZY_THRESHOLD)
    return FieldResult(
        name=name,
        label=label,
        predicted=found.value,
        raw_value=found.raw_value,
        confidence=found.confidence,
        exact=exact,
        fuzzy=fuzzy,
        similarity=round(similarity, 3),
        auto_accepted=found.confidence >= auto_accept_threshold(name),
        explanation=found.explanation,
        finder_confidence=read.finder_confidences.get(name),
        evidence=read.evidence.get(name, {}),
        threshold=auto_accept_threshold(name),
        threshold_samples=auto_accept_support(name),
    )


def field_metrics(results: Sequence[FieldResult]) -> dict[str, Any]:
    """Rates for one field over the documents that label it (percentages)."""
    labelled = len(results)
    found = [r for r in results if r.predicted is not None]
    accepted = [r for r in found if r.auto_accepted]

    def share(count: int, of: int) -> float | None:
        return round(100 * count / of, 1) if of else None

    ece = expected_calibration_error((r.confidence or 0.0, r.exact) for r in found)
    thresholds = sorted({r.threshold for r in found if r.threshold is not None})
    supports = [r.threshold_samples for r in found if r.threshold_samples is not None]
    return {
        "labelled": labelled,
        "found": len(found),
        "exact": share(sum(r.exact for r in results), labelled),
        "fuzzy": share(sum(r.fuzzy for r in results), labelled),
        "auto_accepted": share(len(accepted), labelled),
        "error_when_auto_accepted": share(
            sum(not r.exact for r in accepted), len(accepted)
        ),
        "ece": None if ece is None else round(ece, 3),
        # Cross-validated, each fold has its own threshold: their range.
        "threshold": [thresholds[0], thresholds[-1]] if thresholds else None,
        "threshold_samples": max(supports) if supports else None,
    }
