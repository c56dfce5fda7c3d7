"""Calibrated confidence: a field's confidence read as the probability that its
value is right.

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
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pipeline.extract.heuristic import HeuristicExtractor
from pipeline.types import Extraction, PageText

DEFAULT_CALIBRATION = Path(__file__).with_name("calibration.json")
FORMAT = "vouch-confidence-calibration/1"


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

    def to_json(self) -> dict[str, Any]:
        body = {
            "format": FORMAT,
            "fields": {
                name: {"raw": list(f.raw), "calibrated": list(f.calibrated)}
                for name, f in sorted(self.fields.items())
            },
            "thresholds": dict(sorted(self.thresholds.items())),
            "summary": self.summary,
        }
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
    except (KeyError, TypeError, ValueError) as error:
        raise CalibrationError(f"{path} is malformed: {error}") from None
    return Calibration(
        fields=fields,
        thresholds=thresholds,
        summary=data.get("summary", {}),
        content_hash=stored_hash,
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
