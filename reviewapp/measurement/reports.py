"""evaluate's reports: per type and field figures, printed and as JSON, and refits."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from pipeline.extract.calibration import takes_evidence
from pipeline.extract.calibration_fit import (
    EvidenceSample,
    cross_validated_confidences,
)
from reviewapp.extraction_fields import (
    FIELD_KINDS,
)
from reviewapp.measurement.scoring import (
    DocumentResult,
    ExtractedField,
    FieldResult,
    field_metrics,
)


def read_report(path: Path) -> dict[str, Any]:
    """An `evaluate --json` report. Raises CommandError for anything else."""
    try:
        report = json.loads(path.read_bytes())
        if not all("documents" in manifest for manifest in report["manifests"]):
            raise KeyError("documents")
    except (OSError, ValueError, KeyError, IndexError, TypeError) as error:
        raise CommandError(
            f"{path} is not an evaluate --json report ({error})"
        ) from None
    return report


def document_key(manifest: str | Path, doc_id: str) -> str:
    """A document's name across reports: its dataset folder and its id, so
    the same document read two ways (text layer, --ocr-only) shares a fold."""
    return f"{Path(manifest).parent.name}#{doc_id}"


def evidence_samples(
    report: dict[str, Any], *, train_only: bool = False
) -> list[EvidenceSample]:
    """Every extracted, labelled field of a report whose confidence the
    evidence stage sets, as a calibration sample; `train_only` for documents
    that may teach the fit but are never scored (synthetic invoices)."""
    samples = []
    for manifest in report["manifests"]:
        for document in manifest["documents"]:
            for result in document["fields"]:
                finder = result.get("finder_confidence")
                if result["predicted"] is None or finder is None:
                    continue
                if not takes_evidence(result["explanation"], finder):
                    continue
                samples.append(
                    EvidenceSample(
                        document=document_key(manifest["manifest"], document["doc_id"]),
                        source=Path(manifest["manifest"]).parent.name,
                        document_type=document.get("read_as") or document["doc_type"],
                        field=result["name"],
                        finder_confidence=float(finder),
                        signals=dict(result.get("evidence", {})),
                        correct=bool(result["exact"]),
                        train_only=train_only,
                    )
                )
    return samples


def _sample(
    manifest: Path,
    document: DocumentResult,
    name: str,
    finder_confidence: float,
    evidence: dict[str, int],
    correct: bool,
) -> EvidenceSample:
    return EvidenceSample(
        document=document_key(manifest, document.doc_id),
        source=manifest.parent.name,
        document_type=document.read_as or document.doc_type,
        field=name,
        finder_confidence=finder_confidence,
        signals=evidence,
        correct=correct,
    )


def rescore_out_of_fold(
    scored: Sequence[tuple[Path, Sequence[DocumentResult]]],
    *,
    folds: int,
    extra: Sequence[EvidenceSample],
) -> None:
    """Replace each value's confidence, threshold and verdict with those of an
    evidence stage fitted without its fold (plus `extra`, minus any sample of
    a scored document). Labelled values train the other folds; unlabelled
    ones are only judged."""
    labelled: list[tuple[EvidenceSample, FieldResult, ExtractedField | None]] = []
    unlabelled: list[tuple[EvidenceSample, ExtractedField]] = []
    for manifest, documents in scored:
        for document in documents:
            by_name = {e.name: e for e in document.extracted}
            label_names = {r.name for r in document.fields}

            unlabelled_values = [
                e for e in document.extracted if e.name not in label_names
            ]
            for value in [*document.fields, *unlabelled_values]:
                finder = value.finder_confidence
                if finder is None or not takes_evidence(value.explanation, finder):
                    continue
                if isinstance(value, FieldResult):
                    if value.predicted is None:
                        continue
                    sample = _sample(
                        manifest,
                        document,
                        value.name,
                        finder,
                        value.evidence,
                        value.exact,
                    )
                    labelled.append((sample, value, by_name.get(value.name)))
                else:
                    sample = _sample(
                        manifest, document, value.name, finder, value.evidence, False
                    )
                    unlabelled.append((sample, value))
    scored_keys = {s.document for s, _, _ in labelled} | {
        s.document for s, _ in unlabelled
    }
    training = [s for s in extra if s.document not in scored_keys]
    judged, judged_unlabelled = cross_validated_confidences(
        [s for s, _, _ in labelled],
        folds=folds,
        extra=training,
        unlabelled=[s for s, _ in unlabelled],
    )
    for (_, result, extracted), (confidence, threshold, support) in zip(
        labelled, judged, strict=True
    ):
        result.confidence = confidence
        result.threshold = threshold
        result.threshold_samples = support
        result.auto_accepted = confidence >= threshold
        if extracted is not None:
            extracted.confidence, extracted.threshold = confidence, threshold
    for (_, extracted), (confidence, threshold, _) in zip(
        unlabelled, judged_unlabelled, strict=True
    ):
        extracted.confidence, extracted.threshold = confidence, threshold


def manifest_report(
    manifest: Path,
    documents: Sequence[DocumentResult],
    *,
    mode: str,
    ocr_engine: str,
    extractor: str,
    limit: int | None,
    preprocessing: Collection[str] = (),
) -> dict[str, Any]:
    by_type: dict[str, list[DocumentResult]] = {}
    for document in documents:
        by_type.setdefault(document.doc_type, []).append(document)
    summary: dict[str, Any] = {}
    for doc_type, group in sorted(by_type.items()):
        names = [
            n for n in FIELD_KINDS if any(f.name == n for d in group for f in d.fields)
        ]
        pages = sum(d.pages for d in group)
        summary[doc_type] = {
            "documents": len(group),
            "failed": sum(bool(d.error) for d in group),
            "touchless": sum(d.touchless for d in group),
            "pages": pages,
            "seconds_per_page": round(sum(d.seconds for d in group) / pages, 3)
            if pages
            else None,
            "fields": {
                name: field_metrics(
                    [f for d in group for f in d.fields if f.name == name]
                )
                for name in names
            },
            # Every labelled field pooled: the product-level figures (share a
            # person never has to look at, and how often that is wrong).
            "all_fields": field_metrics([f for d in group for f in d.fields]),
        }
    unevaluated = sorted({label for d in documents for label in d.unevaluated_labels})
    unreadable = [
        f"{d.doc_id}: {label}" for d in documents for label in d.unreadable_labels
    ]
    page_seconds = [s for d in documents for s in d.preprocess_seconds]
    cpu_seconds = [s for d in documents for s in d.preprocess_cpu_seconds]
    return {
        "manifest": str(manifest),
        "mode": mode,
        "preprocessing": {
            "steps": sorted(preprocessing),
            "seconds_per_page_p50": round(statistics.median(page_seconds), 3)
            if page_seconds
            else None,
            "seconds_per_page_p95": round(
                statistics.quantiles(page_seconds, n=20)[-1], 3
            )
            if len(page_seconds) >= 2
            else None,
            "cpu_seconds_per_page_p50": round(statistics.median(cpu_seconds), 3)
            if cpu_seconds
            else None,
            "applied": dict(
                sorted(Counter(n for d in documents for n in d.preprocessing).items())
            ),
        },
        "ocr_engine": ocr_engine,
        "extractor": extractor,
        "limit": limit,
        "unevaluated_labels": unevaluated,
        "unreadable_labels": unreadable,
        "summary": summary,
        "documents": [{**asdict(d), "touchless": d.touchless} for d in documents],
    }


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _threshold_text(metrics: dict[str, Any]) -> str:
    span = metrics.get("threshold")
    if not span:
        return "-"
    low, high = span
    return f"{low:.3f}" if low == high else f"{low:.2f}-{high:.2f}"


def _metrics_row(name: str, metrics: dict[str, Any], pooled: bool = False) -> str:
    ece = metrics["ece"]
    support = metrics.get("threshold_samples")
    return (
        f"{name:<17}{metrics['labelled']:>5}{metrics['found']:>7}"
        f"{_percent(metrics['exact']):>8}{_percent(metrics['fuzzy']):>8}"
        f"{_percent(metrics['auto_accepted']):>8}"
        f"{_percent(metrics['error_when_auto_accepted']):>11}"
        f"{'-' if ece is None else f'{ece:.3f}':>7}"
        + ("" if pooled else f"{_threshold_text(metrics):>12}{support or '-':>7}")
    )


def render_report(report: dict[str, Any]) -> str:
    out = [
        f"Manifest     {report['manifest']}"
        + (f" (first {report['limit']} documents)" if report["limit"] else ""),
        f"Mode         {report['mode']}",
        f"OCR engine   {report['ocr_engine']}",
        f"Extractor    {report['extractor']}",
    ]
    preprocessing = report["preprocessing"]
    if preprocessing["seconds_per_page_p50"] is not None:
        applied = ", ".join(
            f"{name} {count}" for name, count in preprocessing["applied"].items()
        )
        out.append(
            f"Preprocess   {','.join(preprocessing['steps']) or 'none'}: "
            f"p50 {preprocessing['seconds_per_page_p50']:.2f} s/page, "
            f"p95 {preprocessing['seconds_per_page_p95'] or 0:.2f} "
            f"(processor p50 {preprocessing['cpu_seconds_per_page_p50']:.2f}); "
            f"pages changed by {applied or 'no step'}"
        )
    if report["unevaluated_labels"]:
        out.append(
            "Not scored   "
            + ", ".join(report["unevaluated_labels"])
            + " (labels this product does not extract)"
        )
    header = (
        f"{'field':<17}{'n':>5}{'found':>7}{'exact%':>8}{'fuzzy%':>8}"
        f"{'auto%':>8}{'err|auto%':>11}{'ECE':>7}{'threshold':>12}{'n|thr':>7}"
    )
    for doc_type, summary in report["summary"].items():
        documents = summary["documents"]
        touchless = summary["touchless"]
        seconds = summary["seconds_per_page"]
        out += [
            "",
            f"{doc_type}: {documents} documents ({summary['failed']} failed), "
            f"{summary['pages']} pages, "
            f"{'-' if seconds is None else f'{seconds:.2f}'} s/page, "
            f"touchless {touchless}/{documents} "
            f"({100 * touchless / documents if documents else 0:.0f}%)",
            header,
        ]
        out += [_metrics_row(name, m) for name, m in summary["fields"].items()]
        out.append(_metrics_row("(all fields)", summary["all_fields"], pooled=True))
    if report["unreadable_labels"]:
        out += ["", "Labels not scored because their value cannot be read"]
        out += [f"  {label}" for label in report["unreadable_labels"]]
    failed = [d for d in report["documents"] if d["error"]]
    if failed:
        out += ["", "Failed"] + [f"  {d['doc_id']}: {d['error']}" for d in failed]
    return "\n".join(out) + "\n"
