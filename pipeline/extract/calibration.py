"""Calibrated confidence: a field's confidence read as the probability that its
value is right.

Two stages. The finder's stage maps each field's raw heuristic score through
an increasing step function. The evidence stage (`Calibration.confirm`, run by
the pipeline after line items) combines that confidence with what the rest of
the document says about the value (`pipeline.extract.evidence`) in a logistic
model per field, fitted out-of-fold; the auto-accept thresholds then apply to
its output.

The heuristic extractor's scores rank candidates well but are not probabilities.
A calibration maps each field's raw score through an increasing step function
(isotonic regression, fitted on cross-validated folds of labelled documents by
`manage.py calibrate_confidence`) and carries the per-field confidence at which
a value may be accepted without review. The artefact is a small JSON file,
versioned by the hash of its content, loaded without network.
"""

from __future__ import annotations

import hashlib
import json
import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pipeline.einvoice import XML_EXPLANATIONS
from pipeline.extract.evidence import (
    CHECK_DIGITS,
    EVIDENCE_KINDS,
    VENDOR_MASTER,
    FieldEvidence,
)
from pipeline.extract.heuristic import HeuristicExtractor
from pipeline.extract.vendor_directory import is_from_directory
from pipeline.types import Extraction, PageText

DEFAULT_CALIBRATION = Path(__file__).with_name("calibration.json")
FORMAT = "vouch-confidence-calibration/1"
# The evidence model of a field without enough samples of its own.
POOLED = "(pooled)"
# A read value is never certain the way a value from e-invoice XML is.
MAX_CALIBRATED = 0.999
# Identifiers that are right by construction when read exactly as the vendor
# master holds them, with check digits that do not fail: a misreading that
# lands on a valid identifier, and on the very one on file, does not happen in
# practice. Like a name taken from the master, such a
# value is certain; no curve is needed (16 labelled IBANs could not give one).
ON_RECORD_FIELDS = frozenset({"iban", "vendor_vat_id"})
# The BIC of an IBAN on record is as sure when it is, by the bank registry,
# the BIC of that IBAN's bank: the bank code and the printed BIC are two
# readings that agree, on a bank the vendor master already names.
ON_RECORD_BANK = "bic"


def read_as_on_record(name: str, found: FieldEvidence | None) -> bool:
    """`name`'s value equals the matched vendor's record exactly (for a BIC:
    is the registry's BIC of an IBAN on record)."""
    if found is None or found.signals.get(VENDOR_MASTER, 0) <= 0:
        return False
    if name == ON_RECORD_BANK:
        return found.signals.get(CHECK_DIGITS, 0) > 0
    return name in ON_RECORD_FIELDS and found.signals.get(CHECK_DIGITS, 0) >= 0


# A vetoed value (a date outside the plausible window) stays below any
# threshold whatever else agrees with it.
VETO_CAP = 0.5


def evidence_features(
    finder_confidence: float, document_type: str, evidence: FieldEvidence | None
) -> dict[str, float]:
    """The evidence model's inputs: the finder's confidence on the log-odds
    scale, whether the document is a receipt, and one indicator per kind of
    evidence and direction (agreeing and contradicting weigh differently)."""
    clipped = min(max(finder_confidence, 0.001), 0.999)
    features = {
        "finder_logit": math.log(clipped / (1 - clipped)),
        "receipt": 1.0 if document_type == "receipt" else 0.0,
    }
    signals = evidence.signals if evidence is not None else {}
    for kind in EVIDENCE_KINDS:
        signal = signals.get(kind, 0)
        features[f"{kind}:agrees"] = 1.0 if signal > 0 else 0.0
        features[f"{kind}:disagrees"] = 1.0 if signal < 0 else 0.0
    return features


@dataclass(frozen=True)
class EvidenceModel:
    """Logistic regression from `evidence_features` to probability correct."""

    features: tuple[str, ...]
    coefficients: tuple[float, ...]
    intercept: float
    samples: int = 0

    def probability(self, features: Mapping[str, float]) -> float:
        score = self.intercept + sum(
            weight * features.get(name, 0.0)
            for name, weight in zip(self.features, self.coefficients, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-max(min(score, 50.0), -50.0)))

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "coefficients": list(self.coefficients),
            "intercept": self.intercept,
            "samples": self.samples,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EvidenceModel:
        return cls(
            features=tuple(str(f) for f in data["features"]),
            coefficients=tuple(float(c) for c in data["coefficients"]),
            intercept=float(data["intercept"]),
            samples=int(data.get("samples", 0)),
        )


def type_key(document_type: str, name: str) -> str:
    """The key of a field's model on one type of document: evidence weighs
    differently on a receipt than on an invoice ("largest after the total
    label" is nearly proof on one, a hint on the other)."""
    return f"{document_type}:{name}"


def recalibrated(
    models: Mapping[str, EvidenceModel],
    name: str,
    finder_confidence: float,
    document_type: str,
    evidence: FieldEvidence | None,
) -> float:
    """Field `name`'s confidence given its evidence, by the model of its
    field on this type of document, else of its field, else the pooled one;
    capped below 1.0, and at VETO_CAP when vetoed."""
    model = (
        models.get(type_key(document_type, name)) or models.get(name) or models[POOLED]
    )
    probability = model.probability(
        evidence_features(finder_confidence, document_type, evidence)
    )
    probability = min(probability, MAX_CALIBRATED)
    if evidence is not None and evidence.vetoed():
        probability = min(probability, VETO_CAP)
    return round(probability, 3)


def takes_evidence(explanation: str, confidence: float) -> bool:
    """Whether a value's confidence is the evidence model's to set: not one
    from e-invoice XML (the vendor's own data, or a disagreement already
    flagged) nor one the vendor directory supplied (the master, confirmed
    vendors, vendor memory: their own rules, applied after this stage in the
    worker, so `evaluate --cross-validate` must not refit them either)."""
    return not (
        confidence >= 1.0
        or explanation.startswith(XML_EXPLANATIONS)
        or is_from_directory(explanation)
    )


class CalibrationError(ValueError):
    """The artefact is missing, malformed or of another format."""


@dataclass(frozen=True)
class FieldCalibration:
    """An increasing step function from raw score to probability correct,
    interpolated linearly between its knots and flat beyond them."""

    raw: tuple[float, ...]
    calibrated: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.raw or len(self.raw) != len(self.calibrated):
            raise CalibrationError("a field needs as many raw as calibrated knots")
        if list(self.raw) != sorted(self.raw) or list(self.calibrated) != sorted(
            self.calibrated
        ):
            raise CalibrationError("calibration knots must be increasing")

    def apply(self, score: float) -> float:
        raw, calibrated = self.raw, self.calibrated
        if score <= raw[0]:
            return calibrated[0]
        if score >= raw[-1]:
            return calibrated[-1]
        upper = bisect_right(raw, score)
        x0, x1 = raw[upper - 1], raw[upper]
        y0, y1 = calibrated[upper - 1], calibrated[upper]
        if x1 == x0:
            return y1
        return y0 + (y1 - y0) * (score - x0) / (x1 - x0)


@dataclass(frozen=True)
class Calibration:
    """Per-field calibration plus the auto-accept threshold derived for each."""

    fields: dict[str, FieldCalibration]
    thresholds: dict[str, float]
    summary: dict[str, Any] = field(default_factory=dict)
    content_hash: str = ""
    # The evidence stage: one model per field plus POOLED; empty when the
    # artefact has only the finder's stage.
    evidence: dict[str, EvidenceModel] = field(default_factory=dict)
    # Per field, the held-out figures behind its threshold (samples, accepted,
    # errors, the upper bound on error, whether the field's own or pooled).
    threshold_support: dict[str, dict[str, Any]] = field(default_factory=dict)

    def apply(self, extraction: Extraction) -> Extraction:
        """Every field the calibration knows gets its calibrated confidence; the
        raw score stays in the explanation, so a reviewer can still see it."""
        calibrated = []
        for value in extraction.fields:
            mapping = self.fields.get(value.name)
            if mapping is None:
                calibrated.append(value)
                continue
            confidence = round(mapping.apply(value.confidence), 3)
            calibrated.append(
                replace(
                    value,
                    confidence=confidence,
                    explanation=f"{value.explanation} (score {value.confidence:.2f})",
                )
            )
        return Extraction(fields=tuple(calibrated))

    def confirm(
        self,
        extraction: Extraction,
        evidence: Mapping[str, FieldEvidence],
        *,
        document_type: str,
    ) -> Extraction:
        """Every value the evidence stage may judge gets the confidence its
        finder's confidence and its evidence give together; the evidence is
        added to its explanation. Unchanged without an evidence stage."""
        if not self.evidence:
            return extraction
        confirmed = []
        for value in extraction.fields:
            if not takes_evidence(value.explanation, value.confidence):
                confirmed.append(value)
                continue
            found = evidence.get(value.name)
            notes = "; ".join(found.notes) if found is not None else ""
            confirmed.append(
                replace(
                    value,
                    confidence=1.0
                    if read_as_on_record(value.name, found)
                    else recalibrated(
                        self.evidence,
                        value.name,
                        value.confidence,
                        document_type,
                        found,
                    ),
                    explanation=f"{value.explanation}; {notes}"
                    if notes
                    else value.explanation,
                )
            )
        return Extraction(fields=tuple(confirmed))

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "format": FORMAT,
            "fields": {
                name: {"raw": list(f.raw), "calibrated": list(f.calibrated)}
                for name, f in sorted(self.fields.items())
            },
            "thresholds": dict(sorted(self.thresholds.items())),
            "summary": self.summary,
        }
        if self.evidence:
            body["evidence"] = {
                name: model.to_json() for name, model in sorted(self.evidence.items())
            }
            body["threshold_support"] = dict(sorted(self.threshold_support.items()))
        return {**body, "content_hash": _hash(body)}


def _hash(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def load_calibration(path: Path = DEFAULT_CALIBRATION) -> Calibration:
    """The calibration stored at `path`. Raises CalibrationError when it is
    missing, not JSON, of another format, or altered since it was written."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise CalibrationError(f"cannot read calibration {path}: {error}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CalibrationError(f"{path} is not a {FORMAT} file")
    stored_hash = data.pop("content_hash", "")
    if stored_hash != _hash(data):
        raise CalibrationError(f"{path} was changed after it was written")
    try:
        fields = {
            name: FieldCalibration(
                raw=tuple(float(x) for x in knots["raw"]),
                calibrated=tuple(float(y) for y in knots["calibrated"]),
            )
            for name, knots in data["fields"].items()
        }
        thresholds = {name: float(t) for name, t in data["thresholds"].items()}
        evidence = {
            name: EvidenceModel.from_json(model)
            for name, model in data.get("evidence", {}).items()
        }
    except (KeyError, TypeError, ValueError) as error:
        raise CalibrationError(f"{path} is malformed: {error}") from None
    if evidence and POOLED not in evidence:
        raise CalibrationError(f"{path} has evidence models but no pooled one")
    return Calibration(
        fields=fields,
        thresholds=thresholds,
        summary=data.get("summary", {}),
        content_hash=stored_hash,
        evidence=evidence,
        threshold_support=data.get("threshold_support", {}),
    )


class CalibratedExtractor:
    """The heuristic extractor with calibrated confidences (the product
    default). Raises CalibrationError at construction when the artefact is
    unusable, so a worker fails at start rather than on every document."""

    name = "heuristic-calibrated"

    def __init__(self, calibration_path: Path = DEFAULT_CALIBRATION) -> None:
        self.inner = HeuristicExtractor()
        self.calibration = load_calibration(calibration_path)
        self.version = f"{self.inner.version}+{self.calibration.content_hash[:12]}"

    def extract(self, pages: Sequence[PageText]) -> Extraction:
        return self.calibration.apply(self.inner.extract(pages))

    def confirm(
        self,
        extraction: Extraction,
        evidence: Mapping[str, FieldEvidence],
        *,
        document_type: str,
    ) -> Extraction:
        return self.calibration.confirm(
            extraction, evidence, document_type=document_type
        )
