"""Training the field scorer (see `scorer.py`) reproducibly, with k-fold
cross-validated figures only.

Documents come from the dev manifests (`../shared/datasets/*/manifest.jsonl`)
read without OCR (recorded SROIE lines, PDF text layers), plus, when a cache of
earlier OCR runs is given, the OCR lines the product itself read from the scans
and from PDFs read as scans (`manage.py evaluate --ocr-cache`), plus corrected
documents from the review app. Folds split by document id, so the recorded and
the OCR'd copy of one receipt are always held out together, and no figure
reported here comes from a document the model that produced it saw.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.classify import classify
from pipeline.classify_training import read_pdf_text
from pipeline.decode import DecodeLimits, decode_document
from pipeline.errors import UnreadableDocument
from pipeline.extract.calibration import CalibratedExtractor, FieldCalibration
from pipeline.extract.calibration_fit import Sample, fit_calibration, fold_of
from pipeline.extract.normalize import normalize_amount, normalize_date
from pipeline.extract.scorer import (
    FORMAT,
    FieldModel,
    ScoredExtractor,
    ScorerModel,
    content_hash,
    scorer_from_json,
)
from pipeline.extract.scorer_candidates import (
    SCORED_FIELDS,
    FieldCandidate,
    comparable,
    field_candidates,
)
from pipeline.extract.text_repair import (
    Respacer,
)
from pipeline.ocr.cache import CachingOcrEngine, read_cached_lines
from pipeline.ocr.recorded import page_text_from_boxes
from pipeline.preprocess import preprocess_page
from pipeline.types import Extraction, PageText

NAME = "vouch-field-scorer"
_LABEL_KEYS = {
    "vendor_name": "vendor_name",
    "company": "vendor_name",
    "address": "vendor_address",
    "vendor_address": "vendor_address",
    "invoice_date": "invoice_date",
    "date": "invoice_date",
    "total_amount": "total_amount",
    "total": "total_amount",
}


@dataclass(frozen=True)
class LabelledDocument:
    """Pages of text and the right value of some scored fields."""

    doc_id: str  # folds group by this: copies of one document share it
    source: str  # manifest folder, or "corrections"
    pages: tuple[PageText, ...]
    labels: Mapping[str, str]  # normalised, only fields in SCORED_FIELDS
    # Generated (pipeline/synthetic) or otherwise only to learn from: trained
    # on, never held out or scored, so every cross-validated figure is a real
    # document's.
    train_only: bool = False
    # Who sent it, for the gate's per-vendor comparison: the matched or
    # confirmed vendor of a corrected document; "" to go by its vendor label.
    vendor: str = ""


def normalise_label(name: str, value: str) -> str | None:
    if name == "total_amount":
        return normalize_amount(value)
    if name == "invoice_date":
        return normalize_date(value)
    text = " ".join(value.split())
    return text or None


def labels_of(entry: Mapping[str, Any]) -> dict[str, str]:
    """The scored fields a manifest entry labels, normalised; `labels` wins
    over SROIE's upstream `raw_labels`."""
    labels: dict[str, str] = {}
    for source in (entry.get("raw_labels") or {}, entry.get("labels") or {}):
        for key, value in source.items():
            name = _LABEL_KEYS.get(key)
            if name is None or value in (None, ""):
                continue
            normalised = normalise_label(name, str(value))
            if normalised is not None:
                labels[name] = normalised
    return labels


def load_documents(
    manifests: Iterable[Path],
    *,
    ocr_cache: Path | None = None,
    limits: DecodeLimits | None = None,
    train_only: Iterable[Path] = (),
) -> tuple[list[LabelledDocument], Counter[str]]:
    """Every labelled document readable without running OCR, sorted by id, and
    a count of those left out and why. Documents of the `train_only`
    manifests, and synthetic ones of any manifest, are only trained on."""
    only_trained_manifests = {path.resolve() for path in train_only}
    every_manifest = {path.resolve() for path in manifests} | only_trained_manifests
    documents: list[LabelledDocument] = []
    skipped: Counter[str] = Counter()
    index = _CacheIndex(ocr_cache, limits or DecodeLimits()) if ocr_cache else None
    for manifest in sorted(every_manifest):
        folder = manifest.parent
        for raw in manifest.read_text().splitlines():
            if not raw.strip():
                continue
            entry = json.loads(raw)
            labels = labels_of(entry)
            if not labels:
                skipped[f"{folder.name}: no scored label"] += 1
                continue
            doc_id = f"{folder.name}/{entry['doc_id']}"
            variants: list[tuple[str, tuple[PageText, ...]]] = []
            file = str(entry.get("file") or "")
            boxes = entry.get("ocr_boxes_files") or [
                b for b in [entry.get("ocr_boxes_file")] if b
            ]
            if boxes:
                variants.append(("recorded", _recorded_pages(folder, boxes)))
            if file.lower().endswith(".pdf"):
                pages = read_pdf_text(folder / file)
                if pages:
                    variants.append(("pdf_text", pages))
            if index is not None and file:
                cached = index.pages(folder / file, str(entry.get("sha256", "")))
                if cached:
                    variants.append(("ocr", cached))
            if not variants:
                skipped[f"{folder.name}: no text without OCR"] += 1
            only_trained = (
                manifest in only_trained_manifests or entry.get("split") == "synthetic"
            )
            for kind, pages in variants:
                if any(page.lines for page in pages):
                    documents.append(
                        LabelledDocument(
                            doc_id, f"{folder.name}:{kind}", pages, labels, only_trained
                        )
                    )
    if index is not None:
        index.save()
    documents.sort(key=lambda d: (d.doc_id, d.source))
    return documents, skipped


def _recorded_pages(folder: Path, files: Sequence[str]) -> tuple[PageText, ...]:
    """Recorded OCR lines, one file per page (SROIE has one page, synthetic
    invoices may have several)."""
    pages = []
    for number, name in enumerate(files, start=1):
        page = page_text_from_boxes((folder / name).read_text(errors="replace"))
        lines = tuple(replace(line, page_number=number) for line in page.lines)
        pages.append(replace(page, page_number=number, lines=lines))
    return tuple(pages)


class _CacheIndex:
    """Which cached OCR pages belong to which scan: the cache is keyed by the
    page image OCR saw, decoded and preprocessed as `evaluate` does (a deskewed
    photo's bytes are not the decoded ones), so a scan is prepared once and the
    mapping kept."""

    def __init__(self, directory: Path, limits: DecodeLimits) -> None:
        self.directory = directory
        self.limits = limits
        # Named for what it maps: an older index.json mapped decoded images.
        self.path = directory / "scan-pages.json"
        try:
            self.entries: dict[str, list[str]] = json.loads(self.path.read_text())
        except (OSError, json.JSONDecodeError):
            self.entries = {}
        self.changed = False

    def pages(self, path: Path, sha256: str) -> tuple[PageText, ...] | None:
        key = sha256 or path.name
        digests = self.entries.get(key)
        if digests is None:
            try:
                # The scan as OCR saw it: a PDF's pages rendered, its text
                # layer ignored (`evaluate --ocr-only`).
                images = decode_document(
                    path.read_bytes(), replace(self.limits, use_text_layer=False)
                )
            except (OSError, UnreadableDocument):
                return None
            digests = [
                CachingOcrEngine.digest(preprocess_page(image).page.image_bytes)
                for image in images
            ]
            self.entries[key] = digests
            self.changed = True
        pages = []
        for number, digest in enumerate(digests, start=1):
            stored = read_cached_lines(self.directory / f"{digest}.json")
            if stored is None:
                return None
            lines, width, height = stored
            pages.append(PageText(number, width, height, lines, "ocr"))
        return tuple(pages)

    def save(self) -> None:
        if self.changed:
            self.path.write_text(json.dumps(self.entries, sort_keys=True))


# --- features to matrices ------------------------------------------------------


@dataclass
class _Prepared:
    """A document's heuristic extraction and its candidates, computed once."""

    document: LabelledDocument
    picked: Extraction
    document_type: str
    candidates: dict[str, list[FieldCandidate]] = field(default_factory=dict)


def build_vocabulary(documents: Sequence[LabelledDocument]) -> dict[str, int]:
    """Words of the labelled names and addresses, with the number of documents
    each occurs in; words of a single document are left out (a name seen once
    teaches nothing about the next document)."""
    seen: dict[str, set[str]] = defaultdict(set)
    for document in documents:
        for name in ("vendor_name", "vendor_address"):
            for word in re.findall(r"[A-Za-z]{2,}", document.labels.get(name, "")):
                seen[word.upper()].add(document.doc_id)
    return {word: len(ids) for word, ids in sorted(seen.items()) if len(ids) >= 2}


def _heuristic_picks(
    documents: Sequence[LabelledDocument],
) -> list[tuple[Extraction, str]]:
    """Each document's calibrated heuristic extraction and classified type."""
    base = CalibratedExtractor()
    return [
        (base.extract(document.pages), classify(document.pages).document_type)
        for document in documents
    ]


def _prepare(
    documents: Sequence[LabelledDocument],
    picks: Sequence[tuple[Extraction, str]],
    vocabulary: Mapping[str, int],
) -> list[_Prepared]:
    respacer = Respacer(vocabulary)
    return [
        _Prepared(
            document,
            picked,
            document_type,
            field_candidates(document.pages, picked, respacer),
        )
        for document, (picked, document_type) in zip(documents, picks, strict=True)
    ]


def _feature_names(prepared: Sequence[_Prepared], name: str) -> tuple[str, ...]:
    names: set[str] = set()
    for item in prepared:
        for candidate in item.candidates.get(name, []):
            names.update(candidate.features)
    return tuple(sorted(names))


# Text the product's own OCR read (and people corrected) is what the model
# meets in production; annotators' typed lines are cleaner and far more
# numerous, so they would otherwise decide every weight.
PRODUCT_TEXT_WEIGHT = 4.0


# Generated invoices are many and alike; they should widen what the model has
# seen (languages, layouts, labels), not outvote the real documents.
SYNTHETIC_WEIGHT = 0.5


def _weight(document: LabelledDocument) -> float:
    if document.train_only:
        return SYNTHETIC_WEIGHT
    product_text = document.source.endswith(":ocr") or document.source == "corrections"
    return PRODUCT_TEXT_WEIGHT if product_text else 1.0


def _fit_field(
    prepared: Sequence[_Prepared], name: str, features: tuple[str, ...]
) -> FieldModel | None:
    rows: list[list[float]] = []
    targets: list[int] = []
    weights: list[float] = []
    for item in prepared:
        label = item.document.labels.get(name)
        if label is None:
            continue
        wanted = comparable(name, label)
        weight = _weight(item.document)
        for candidate in item.candidates.get(name, []):
            rows.append([candidate.features.get(f, 0.0) for f in features])
            targets.append(int(comparable(name, candidate.value) == wanted))
            weights.append(weight)
    if len(set(targets)) < 2:
        return None
    x = np.array(rows)
    # Imported here: scikit-learn costs ~200 MB and a second at import, and
    # every web process imports this module (the extractor admin pages).
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x)
    model = LogisticRegression(C=1.0, max_iter=2000).fit(
        scaler.transform(x), np.array(targets), sample_weight=np.array(weights)
    )
    return FieldModel(
        features=features,
        means=tuple(round(float(v), 8) for v in scaler.mean_),
        scales=tuple(round(float(v), 8) for v in scaler.scale_),
        coefficients=tuple(round(float(v), 8) for v in model.coef_[0]),
        intercept=round(float(model.intercept_[0]), 8),
        # Placeholders until the out-of-fold scores are known.
        calibration=FieldCalibration(raw=(0.0, 1.0), calibrated=(0.0, 1.0)),
        use_scorer=True,
    )


def _fit_all(prepared: Sequence[_Prepared]) -> dict[str, FieldModel]:
    models = {}
    for name in SCORED_FIELDS:
        model = _fit_field(prepared, name, _feature_names(prepared, name))
        if model is not None:
            models[name] = model
    return models


def _model(
    fields: Mapping[str, FieldModel], vocabulary: Mapping[str, int]
) -> ScorerModel:
    return ScorerModel(NAME, "cv", "", dict(fields), {}, {}, vocabulary)


# --- cross-validation and the artefact -------------------------------------------


@dataclass(frozen=True)
class FieldOutcome:
    """One document's field as read by the heuristic and by the scorer."""

    doc_id: str
    source: str
    document_type: str
    field: str
    heuristic_correct: bool
    scorer_correct: bool
    scorer_score: float | None
    candidate_found: bool  # some candidate had the right value


def _outcomes(item: _Prepared, extractor: ScoredExtractor) -> list[FieldOutcome]:
    document = item.document
    scored = extractor.pick(document.pages, item.picked, item.candidates)
    outcomes = []
    for name, label in sorted(document.labels.items()):
        if name not in SCORED_FIELDS:
            continue
        wanted = comparable(name, label)
        heuristic_value = item.picked.get(name)
        scorer_value = scored.get(name)
        outcomes.append(
            FieldOutcome(
                doc_id=document.doc_id,
                source=document.source,
                document_type=item.document_type,
                field=name,
                heuristic_correct=heuristic_value is not None
                and comparable(name, heuristic_value.value) == wanted,
                scorer_correct=scorer_value is not None
                and comparable(name, scorer_value.value) == wanted,
                scorer_score=None if scorer_value is None else scorer_value.confidence,
                candidate_found=any(
                    comparable(name, c.value) == wanted
                    for c in item.candidates.get(name, [])
                ),
            )
        )
    return outcomes


def cross_validate(
    documents: Sequence[LabelledDocument],
    picks: Sequence[tuple[Extraction, str]],
    folds: int,
) -> list[FieldOutcome]:
    """Every real document's fields read by a model (weights and vocabulary)
    built from the other folds only, plus every synthetic document."""
    outcomes: list[FieldOutcome] = []
    for fold in range(folds):
        held_out = [
            not d.train_only and fold_of(d.doc_id, folds) == fold for d in documents
        ]
        if all(held_out) or not any(held_out):
            continue
        vocabulary = build_vocabulary(
            [d for d, out in zip(documents, held_out, strict=True) if not out]
        )
        prepared = _prepare(documents, picks, vocabulary)
        train = [p for p, out in zip(prepared, held_out, strict=True) if not out]
        extractor = ScoredExtractor(_model(_fit_all(train), vocabulary))
        for item, out in zip(prepared, held_out, strict=True):
            if out:
                outcomes.extend(_outcomes(item, extractor))
    return outcomes


def _rate(flags: Sequence[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def scorer_types(outcomes: Sequence[FieldOutcome], name: str) -> tuple[str, ...]:
    """The document types on which the scorer's cross-validated accuracy for
    field `name` beat the heuristic's (the gate in miniature)."""
    group = [o for o in outcomes if o.field == name]
    return tuple(
        sorted(
            document_type
            for document_type in {o.document_type for o in group}
            if sum(o.scorer_correct for o in group if o.document_type == document_type)
            > sum(
                o.heuristic_correct for o in group if o.document_type == document_type
            )
        )
    )


def field_scores(outcomes: Sequence[FieldOutcome]) -> dict[str, dict[str, Any]]:
    """Per field: documents, heuristic accuracy, cross-validated scorer
    accuracy, the share of documents where some candidate was right, which
    document types the scorer is used for, and the accuracy of what the
    extractor then reads ("effective"), overall, per source and per type."""
    scores: dict[str, dict[str, Any]] = {}
    for name in SCORED_FIELDS:
        group = [o for o in outcomes if o.field == name]
        if not group:
            continue
        use_for = scorer_types(outcomes, name)

        def figures(
            part: list[FieldOutcome], use_for: tuple[str, ...] = use_for
        ) -> dict[str, Any]:
            return {
                "documents": len(part),
                "heuristic": _rate([o.heuristic_correct for o in part]),
                "scorer_cv": _rate([o.scorer_correct for o in part]),
                "effective": _rate(
                    [
                        o.scorer_correct
                        if o.document_type in use_for
                        else o.heuristic_correct
                        for o in part
                    ]
                ),
            }

        scores[name] = {
            **figures(group),
            "candidate_recall": _rate([o.candidate_found for o in group]),
            "use_scorer": bool(use_for),
            "use_for": list(use_for),
            "by_source": {
                source: figures([o for o in group if o.source == source])
                for source in sorted({o.source for o in group})
            },
            "by_type": {
                kind: figures([o for o in group if o.document_type == kind])
                for kind in sorted({o.document_type for o in group})
            },
        }
    return scores


def train(
    documents: Sequence[LabelledDocument],
    *,
    folds: int = 5,
    training_summary: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Fit a model per field on every document; cross-validate by document
    id; keep the scorer only for fields where its cross-validated accuracy
    beats the heuristic's; calibrate confidence on out-of-fold scores.
    Returns the artefact (JSON-ready). Raises ValueError without documents."""
    if not documents:
        raise ValueError("no labelled documents to train on")
    picks = _heuristic_picks(documents)
    outcomes = cross_validate(documents, picks, folds)
    if not outcomes:
        raise ValueError(
            f"too few documents for {folds}-fold cross-validation: every fold "
            "needs documents both to train on and to hold out"
        )
    vocabulary = build_vocabulary(documents)
    prepared = _prepare(documents, picks, vocabulary)
    scores = field_scores(outcomes)
    calibration, _ = fit_calibration(
        [
            Sample(o.doc_id, o.field, o.scorer_score, o.scorer_correct)
            for o in outcomes
            if o.scorer_score is not None
        ],
        folds=folds,
    )
    fields: dict[str, Any] = {}
    for name, model in _fit_all(prepared).items():
        figures = scores.get(name, {})
        use_for = tuple(figures.get("use_for", ()))
        fields[name] = FieldModel(
            features=model.features,
            means=model.means,
            scales=model.scales,
            coefficients=model.coefficients,
            intercept=model.intercept,
            calibration=calibration.fields.get(name, model.calibration),
            use_scorer=bool(use_for),
            use_for=use_for,
        ).to_json()
    body: dict[str, Any] = {
        "format": FORMAT,
        "name": NAME,
        "fields": fields,
        "vocabulary": vocabulary,
        "training": {
            "documents": len(documents),
            "by_source": dict(sorted(Counter(d.source for d in documents).items())),
            "train_only_documents": sum(d.train_only for d in documents),
            "labelled_fields": dict(
                sorted(Counter(n for d in documents for n in d.labels).items())
            ),
            "data_digest": data_digest(documents),
            "folds": folds,
            "method": "logistic regression per field over candidate features, "
            f"{folds}-fold cross-validated by document id (train-only documents, "
            "such as synthetic invoices, are in every training fold and never "
            "scored); used per field and "
            "document type only where its cross-validated accuracy beat the "
            "rules'; isotonic confidence fitted on out-of-fold scores",
            **(training_summary or {}),
        },
        "scores": scores,
    }
    body["version"] = content_hash(body)[:12]
    body["content_hash"] = content_hash(body)
    return body


def data_digest(documents: Sequence[LabelledDocument]) -> str:
    """A hash of the training data (text and labels), so two artefacts say
    whether they were trained on the same documents."""
    digest = hashlib.sha256()
    for document in documents:
        digest.update(document.doc_id.encode())
        digest.update(json.dumps(dict(sorted(document.labels.items()))).encode())
        for page in document.pages:
            for line in page.lines:
                digest.update(line.text.encode())
    return digest.hexdigest()[:16]


def fields_read_right(
    model: ScorerModel | None, documents: Sequence[LabelledDocument]
) -> list[dict[str, bool]]:
    """Per document, per labelled scored field: whether an extractor reads it
    right (the scored extractor with `model`, or the calibrated heuristic
    alone when None)."""
    extractor = CalibratedExtractor() if model is None else ScoredExtractor(model)
    outcomes = []
    for document in documents:
        extraction = extractor.extract(document.pages)
        read: dict[str, bool] = {}
        for name, label in document.labels.items():
            if name not in SCORED_FIELDS:
                continue
            found = extraction.get(name)
            read[name] = found is not None and comparable(
                name, found.value
            ) == comparable(name, label)
        outcomes.append(read)
    return outcomes


def counts_of(outcomes: Iterable[Mapping[str, bool]]) -> dict[str, dict[str, int]]:
    """Per-document outcomes summed per field: {"right": n, "labelled": n}."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"right": 0, "labelled": 0})
    for read in outcomes:
        for name, right in read.items():
            counts[name]["labelled"] += 1
            counts[name]["right"] += int(right)
    return {name: counts[name] for name in SCORED_FIELDS if name in counts}


def accuracy_by_field(
    model: ScorerModel | None, documents: Sequence[LabelledDocument]
) -> dict[str, dict[str, int]]:
    """How many labelled fields an extractor reads right (see
    `fields_read_right`). Per field: {"right": n, "labelled": n}."""
    return counts_of(fields_read_right(model, documents))


def artefact_model(artefact: Mapping[str, Any]) -> ScorerModel:
    return scorer_from_json(artefact)
