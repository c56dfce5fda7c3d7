"""Training the document classifier from dataset manifests (see
`../shared/datasets/README.md`), reproducibly, with cross-validated scores.

Text comes from where the product would get it without OCR: the recorded OCR
lines of the SROIE receipts (`ocr_boxes/`) and the text layer of the PDFs.
Scanned PDFs without a text layer are left out of training (and counted).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pypdfium2 as pdfium

from pipeline.classify import (
    CREDIT_NOTE,
    FEATURE_NAMES,
    INVOICE,
    RECEIPT,
    TITLE_PATTERNS,
    ClassifierModel,
    features,
    titles,
)
from pipeline.extract.calibration_fit import expected_calibration_error
from pipeline.ocr.recorded import page_text_from_boxes
from pipeline.pdftext import text_layer_lines
from pipeline.types import PageText

if TYPE_CHECKING:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

MAX_PDF_PAGES = 5


@dataclass(frozen=True)
class Sample:
    source: str
    doc_id: str
    doc_type: str
    pages: tuple[PageText, ...]


def read_pdf_text(path: Path) -> tuple[PageText, ...] | None:
    """The text layer of the first pages, or None for a scan."""
    document = pdfium.PdfDocument(path.read_bytes())
    try:
        pages = []
        for index in range(min(len(document), MAX_PDF_PAGES)):
            page = document[index]
            width, height = page.get_size()
            lines = text_layer_lines(page, 1.0, index + 1)
            if lines is None:
                return None
            pages.append(
                PageText(index + 1, int(width), int(height), tuple(lines), "pdf_text")
            )
        return tuple(pages)
    finally:
        document.close()


def load_samples(manifests: Iterable[Path]) -> tuple[list[Sample], Counter[str]]:
    """Every usable document of the manifests, and what was skipped and why."""
    samples: list[Sample] = []
    skipped: Counter[str] = Counter()
    for manifest in manifests:
        folder = manifest.parent
        for raw in manifest.read_text().splitlines():
            entry = json.loads(raw)
            doc_type = entry["doc_type"]
            pages: tuple[PageText, ...] | None = None
            file = entry.get("file", "")
            if entry.get("ocr_boxes_file"):
                pages = (
                    page_text_from_boxes(
                        (folder / entry["ocr_boxes_file"]).read_text(errors="replace")
                    ),
                )
            elif file.lower().endswith((".jpg", ".jpeg", ".png")):
                boxes = folder / "ocr_boxes" / (Path(file).stem + ".txt")
                if boxes.is_file():
                    pages = (page_text_from_boxes(boxes.read_text(errors="replace")),)
            elif file.lower().endswith(".pdf"):
                pages = read_pdf_text(folder / file)
            if not pages or not any(page.lines for page in pages):
                skipped[f"{folder.name}: no text without OCR"] += 1
                continue
            samples.append(Sample(folder.name, entry["doc_id"], doc_type, pages))
    return samples, skipped


def _matrix(samples: Sequence[Sample]) -> tuple[np.ndarray, np.ndarray]:
    rows = [features(sample.pages) for sample in samples]
    x = np.array([[row[name] for name in FEATURE_NAMES] for row in rows])
    y = np.array([sample.doc_type == RECEIPT for sample in samples], dtype=int)
    return x, y


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[StandardScaler, LogisticRegression]:
    # scikit-learn is imported only to train: web processes import this module
    # (through the extractor pages) and need not carry its ~200 MB.
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x)
    # Balanced: the dev data holds four receipts per invoice, a supplier-invoice
    # product sees the opposite; neither share should become the model's prior.
    model = LogisticRegression(C=1.0, max_iter=1000, class_weight="balanced").fit(
        scaler.transform(x), y
    )
    return scaler, model


def title_reliability(samples: Sequence[Sample]) -> tuple[float, int, int]:
    """How often a printed heading names an invoice-like document's type
    correctly (credit note heading on a credit note, invoice heading on an
    invoice), Laplace-smoothed: (rate, right, seen)."""
    right = seen = 0
    for sample in samples:
        if sample.doc_type not in (INVOICE, CREDIT_NOTE):
            continue
        found = titles(sample.pages)
        claimed = [t for t in TITLE_PATTERNS if t in found and t != RECEIPT]
        if not claimed:
            continue
        seen += 1
        right += claimed[0] == sample.doc_type
    return (right + 1) / (seen + 2), right, seen


def train(manifests: Sequence[Path], *, folds: int = 5) -> dict[str, Any]:
    """Fit on every usable document; report k-fold and leave-one-source-out
    scores computed without the held-out documents. Returns the artefact."""
    samples, skipped = load_samples(manifests)
    x, y = _matrix(samples)
    if len(set(y)) < 2:
        raise ValueError("training needs receipts and invoices")

    out_of_fold = np.zeros(len(y))
    from sklearn.model_selection import StratifiedKFold

    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    for train_index, test_index in splitter.split(x, y):
        scaler, model = _fit(x[train_index], y[train_index])
        out_of_fold[test_index] = model.predict_proba(scaler.transform(x[test_index]))[
            :, 1
        ]
    predicted = (out_of_fold >= 0.5).astype(int)
    confidence = np.where(predicted == 1, out_of_fold, 1 - out_of_fold)
    correct = (predicted == y).astype(float)

    sources = sorted({sample.source for sample in samples})
    by_source: dict[str, dict[str, float]] = {}
    source_of = np.array([sample.source for sample in samples])
    for source in sources:
        held_out = source_of == source
        if len(set(y[~held_out])) < 2:
            continue
        scaler, model = _fit(x[~held_out], y[~held_out])
        guess = model.predict(scaler.transform(x[held_out]))
        by_source[source] = {
            "documents": int(held_out.sum()),
            "accuracy_when_unseen": round(float((guess == y[held_out]).mean()), 4),
        }

    scaler, model = _fit(x, y)
    reliability, right, seen = title_reliability(samples)
    body = {
        "features": list(FEATURE_NAMES),
        "means": [round(float(v), 8) for v in scaler.mean_],
        "scales": [round(float(v), 8) for v in scaler.scale_],
        "coefficients": [round(float(v), 8) for v in model.coef_[0]],
        "intercept": round(float(model.intercept_[0]), 8),
        "title_reliability": round(reliability, 4),
    }
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    return {
        "name": "vouch-document-classifier",
        "version": digest[:12],
        **body,
        "training": {
            "documents": Counter(f"{s.source}:{s.doc_type}" for s in samples),
            "skipped": dict(skipped),
            "manifests": [f"{m.parent.name}/{m.name}" for m in manifests],
        },
        "scores": {
            f"{folds}_fold_accuracy": round(float(correct.mean()), 4),
            f"{folds}_fold_receipt_recall": round(float(correct[y == 1].mean()), 4),
            f"{folds}_fold_invoice_recall": round(float(correct[y == 0].mean()), 4),
            f"{folds}_fold_expected_calibration_error": round(
                expected_calibration_error(
                    zip(confidence.tolist(), correct.astype(bool).tolist(), strict=True)
                )
                or 0.0,
                4,
            ),
            "leave_one_source_out": by_source,
            "title_reliability": {"right": right, "seen": seen},
        },
    }


def model_from_artefact(artefact: dict[str, Any]) -> ClassifierModel:
    return ClassifierModel.from_json(artefact)
