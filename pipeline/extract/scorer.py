"""Learned extraction: candidates for each field are generated from the OCR
layout, scored by a trained model and the best one is picked.

Candidates are spans of rows (vendor name, address), every printed date and
every printed amount. Each carries features from its text (patterns, company
suffixes, address words), its neighbourhood (labels on its row, the row above,
the row after it), its position on the page, a font-size proxy (box height
against the page's median) and the heuristic extractor's own verdict, so the
model can only add to the rules. Cross-field constraints take part too: an
address starts under the vendor's name, a total that equals subtotal + tax is
favoured, an invoice date after the due date is not.

The model is a logistic regression per field stored as plain JSON (weights,
feature standardisation, an isotonic confidence mapping fitted on out-of-fold
scores, and whether cross-validation showed it beats the heuristic: fields where
it does not keep the heuristic's pick). `pipeline/extract/scorer_training.py`
trains it; `manage.py train_extractor` writes `pipeline/models/field_scorer.json`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from pipeline.classify import classify
from pipeline.extract.calibration import CalibratedExtractor, FieldCalibration
from pipeline.extract.evidence import FieldEvidence
from pipeline.extract.party_repair import repair_chosen_value
from pipeline.extract.scorer_candidates import (
    SCORED_FIELDS,
    FieldCandidate,
    field_candidates,
)
from pipeline.extract.text_repair import Respacer
from pipeline.types import Extraction, FieldValue, PageText

MODEL_PATH = Path(__file__).resolve().parents[1] / "models" / "field_scorer.json"
FORMAT = "vouch-field-scorer/1"


class ScorerError(ValueError):
    """The artefact is missing, malformed, of another format or altered."""


@dataclass(frozen=True)
class FieldModel:
    """Logistic regression over standardised features, its confidence mapping
    and the gate's verdict (`use_scorer`)."""

    features: tuple[str, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    coefficients: tuple[float, ...]
    intercept: float
    calibration: FieldCalibration
    use_scorer: bool
    # Document types (as pipeline.classify names them) the scorer beat the
    # rules on in cross-validation; other types keep the rules' pick.
    use_for: tuple[str, ...] = ()

    def trusted_for(self, document_type: str) -> bool:
        return self.use_scorer and document_type in self.use_for

    def probability(self, features: Mapping[str, float]) -> float:
        score = self.intercept
        for name, mean, scale, weight in zip(
            self.features, self.means, self.scales, self.coefficients, strict=True
        ):
            score += weight * (features.get(name, 0.0) - mean) / (scale or 1.0)
        return 1.0 / (1.0 + math.exp(-max(min(score, 50.0), -50.0)))

    def best(
        self, candidates: Sequence[FieldCandidate]
    ) -> tuple[FieldCandidate, float] | None:
        """The highest-scoring candidate and its raw score, ties broken by
        value so the pick never depends on candidate order."""
        if not candidates:
            return None
        scored = [(self.probability(c.features), c) for c in candidates]
        score, best = max(scored, key=lambda item: (item[0], item[1].value))
        return best, score

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "means": list(self.means),
            "scales": list(self.scales),
            "coefficients": list(self.coefficients),
            "intercept": self.intercept,
            "calibration": {
                "raw": list(self.calibration.raw),
                "calibrated": list(self.calibration.calibrated),
            },
            "use_scorer": self.use_scorer,
            "use_for": list(self.use_for),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FieldModel:
        return cls(
            features=tuple(data["features"]),
            means=tuple(float(v) for v in data["means"]),
            scales=tuple(float(v) for v in data["scales"]),
            coefficients=tuple(float(v) for v in data["coefficients"]),
            intercept=float(data["intercept"]),
            calibration=FieldCalibration(
                raw=tuple(float(v) for v in data["calibration"]["raw"]),
                calibrated=tuple(float(v) for v in data["calibration"]["calibrated"]),
            ),
            use_scorer=bool(data["use_scorer"]),
            use_for=tuple(str(t) for t in data["use_for"]),
        )


@dataclass(frozen=True)
class ScorerModel:
    name: str
    version: str
    content_hash: str
    fields: dict[str, FieldModel]
    training: Mapping[str, Any]
    scores: Mapping[str, Any]
    vocabulary: Mapping[str, int] = field(default_factory=dict)


def content_hash(body: Mapping[str, Any]) -> str:
    """SHA-256 of the artefact's canonical JSON, without its own hash."""
    canonical = json.dumps(
        _canonical_numbers({k: v for k, v in body.items() if k != "content_hash"}),
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _canonical_numbers(value: Any) -> Any:
    """Numbers as they come back from any JSON store: PostgreSQL's jsonb keeps
    decimals exactly but has no negative zero and writes 1e+20 as an integer,
    so an artefact read back from the database must hash as it was written."""
    if isinstance(value, Mapping):
        return {key: _canonical_numbers(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical_numbers(item) for item in value]
    if isinstance(value, float):
        if value == 0.0:
            return 0.0
        if value.is_integer() and abs(value) >= 1e16:
            return int(value)
    return value


def scorer_from_json(data: Mapping[str, Any]) -> ScorerModel:
    """The model in an artefact. Raises ScorerError when it is of another
    format, malformed or altered after it was written."""
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        raise ScorerError(f"not a {FORMAT} artefact")
    if data.get("content_hash") != content_hash(data):
        raise ScorerError("the artefact was changed after it was written")
    try:
        fields = {
            name: FieldModel.from_json(model) for name, model in data["fields"].items()
        }
        return ScorerModel(
            name=str(data["name"]),
            version=str(data["version"]),
            content_hash=str(data["content_hash"]),
            fields=fields,
            training=data.get("training", {}),
            scores=data.get("scores", {}),
            vocabulary={str(w): int(c) for w, c in data["vocabulary"].items()},
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ScorerError(f"malformed artefact: {error}") from None


def load_scorer(path: Path = MODEL_PATH) -> ScorerModel:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ScorerError(f"cannot read {path}: {error}") from None
    return scorer_from_json(data)


@lru_cache(maxsize=1)
def default_scorer() -> ScorerModel:
    return load_scorer(MODEL_PATH)


class ScoredExtractor:
    """The calibrated heuristic extractor, with the fields the trained scorer
    reads better replaced by the scorer's pick (and its calibrated confidence).

    `model` defaults to the checked-in artefact; the Django side passes the
    active `ExtractorVersion`'s. Raises ScorerError at construction when the
    artefact is unusable, so a worker fails at start, not on every document.
    """

    name = "scored"

    def __init__(self, model: ScorerModel | None = None) -> None:
        self.base = CalibratedExtractor()
        self.model = model if model is not None else default_scorer()
        self.respacer = Respacer(self.model.vocabulary)
        self.version = f"{self.model.name}@{self.model.content_hash[:12]}"

    def extract(self, pages: Sequence[PageText]) -> Extraction:
        picked = self.base.extract(pages)
        document_type = classify(pages).document_type
        if not any(m.trusted_for(document_type) for m in self.model.fields.values()):
            return picked
        return self.pick(
            pages,
            picked,
            field_candidates(pages, picked, self.respacer),
            document_type=document_type,
        )

    def confirm(
        self,
        extraction: Extraction,
        evidence: Mapping[str, FieldEvidence],
        *,
        document_type: str,
    ) -> Extraction:
        """The evidence stage of the calibration this extractor's confidences
        were fitted for (see pipeline.run)."""
        return self.base.confirm(extraction, evidence, document_type=document_type)

    def pick(
        self,
        pages: Sequence[PageText],
        picked: Extraction,
        candidates: Mapping[str, list[FieldCandidate]],
        *,
        document_type: str | None = None,
    ) -> Extraction:
        """`picked` (the calibrated heuristic's extraction) with each field the
        scorer is trusted for on this type of document (every type when None)
        replaced by its best candidate."""
        active = {
            name: model
            for name, model in self.model.fields.items()
            if model.use_scorer
            and (document_type is None or model.trusted_for(document_type))
        }
        candidates = dict(candidates)
        chosen: dict[str, FieldValue] = {}
        # The vendor first: the address candidates depend on where it sits.
        for name in SCORED_FIELDS:
            model = active.get(name)
            if model is None:
                continue
            vendor = chosen.get("vendor_name")
            # Cross-field: the address sits under the vendor just chosen.
            if (
                name == "vendor_address"
                and vendor is not None
                and _differs(vendor, picked.get("vendor_name"))
            ):
                context = _with_fields(picked, {vendor.name: vendor})
                candidates[name] = field_candidates(pages, context, self.respacer)[name]
            best = model.best(candidates.get(name, []))
            if best is None:
                continue
            candidate, score = best
            chosen[name] = FieldValue(
                name=name,
                raw_value=candidate.value,
                value=repair_chosen_value(
                    name,
                    candidate.value,
                    next(
                        (p for p in pages if p.page_number == candidate.page_number),
                        None,
                    ),
                    candidate.box,
                ),
                confidence=round(model.calibration.apply(score), 3),
                page_number=candidate.page_number,
                box=candidate.box,
                explanation=f"learned scorer: {candidate.explanation} "
                f"(score {score:.2f})",
            )
        return _with_fields(picked, chosen)


def _differs(value: FieldValue, other: FieldValue | None) -> bool:
    return other is None or (value.value, value.box) != (other.value, other.box)


def _with_fields(
    extraction: Extraction, values: Mapping[str, FieldValue]
) -> Extraction:
    kept = [f for f in extraction.fields if f.name not in values]
    return Extraction(fields=(*kept, *values.values()))
