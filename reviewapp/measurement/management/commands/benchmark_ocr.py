"""Time the real pipeline, in this process, on a folder or a dataset manifest.

Prints per-page p50/p95 seconds for each stage, OCR lines per page and the peak
memory of the process, which is what a worker needs: run it after changing OCR
options or decode limits, on the same documents, before and after.

Without a source it measures per page type instead (receipt, dense A4, ...):
the OCR engine alone on dev pages whose text is known, so each row carries the
character error rate beside p50/p95 per engine stage and peak RSS. That is
`benchmark_ocr_accuracy`, which owns the truth pages; `--types`, `--limit`,
`--engine`, `--option` and `--json` pass through to it.
"""

from __future__ import annotations

import json
import math
import resource
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from pipeline.errors import UnreadableDocument
from pipeline.extract import FieldExtractor, extractors
from pipeline.ocr import ocr_engines
from pipeline.run import run_pipeline
from pipeline.types import Extraction, PageText
from reviewapp.services.ingest import decode_limits

DOCUMENT_SUFFIXES = frozenset({".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff"})

# Row label -> key in BenchmarkRun.samples, in the order the table shows them.
STAGE_ROWS = (
    ("decode+preprocess", "decode"),
    ("OCR (text stage)", "text"),
    ("extraction", "extract"),
    ("total", "total"),
)


class _NoFields:
    """Stand-in used only when the configured extractor cannot be imported, so
    OCR can still be timed while the extractor is being written."""

    name = "none (stand-in)"
    version = "0"

    def extract(self, pages: Sequence[PageText]) -> Extraction:
        return Extraction()


@dataclass
class BenchmarkRun:
    documents: int = 0
    pages: int = 0
    ocr_pages: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    # Seconds per page for each stage, plus OCR lines per page.
    samples: dict[str, list[float]] = field(
        default_factory=lambda: {"decode": [], "text": [], "extract": [], "total": []}
    )
    lines_per_page: list[float] = field(default_factory=list)


class Command(BaseCommand):
    help = (
        "Run decode -> OCR -> extraction in-process on a folder of documents or a "
        "manifest.jsonl and print per-page p50/p95 timings and peak memory."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "source",
            type=Path,
            nargs="?",
            default=None,
            help=(
                "a folder (its PDF/PNG/JPEG/TIFF files) or a manifest.jsonl; "
                "without one, per page type against known text"
            ),
        )
        parser.add_argument(
            "--types",
            default=None,
            help=(
                "per page type mode: comma-separated types out of receipt, "
                "dense-a4, e-invoice (default: benchmark_ocr_accuracy's)"
            ),
        )
        parser.add_argument(
            "--engine",
            default=None,
            help="per page type mode: dotted path of the OCR engine",
        )
        parser.add_argument(
            "--option",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="per page type mode: an engine constructor option",
        )
        parser.add_argument(
            "--limit", type=int, default=None, help="only the first N documents"
        )
        parser.add_argument(
            "--json", type=Path, default=None, help="also write the figures here"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        limit: int | None = options["limit"]
        if limit is not None and limit < 1:
            raise CommandError("--limit must be at least 1")
        if options["source"] is None:
            self._per_page_type(options)
            return
        if options["types"] or options["engine"] or options["option"]:
            raise CommandError(
                "--types, --engine and --option measure per page type: "
                "leave out the source to use them"
            )
        paths = documents_in(options["source"])[:limit]
        if not paths:
            raise CommandError(f"no documents found in {options['source']}")
        verbose = options["verbosity"] >= 2

        started = time.perf_counter()
        ocr = ocr_engines.get(settings.VOUCH_OCR_ENGINE)
        load_seconds = time.perf_counter() - started
        extractor = self._extractor()
        limits = decode_limits()

        run = BenchmarkRun()
        for index, path in enumerate(paths, start=1):
            try:
                result = run_pipeline(
                    path.read_bytes(), ocr=ocr, extractor=extractor, limits=limits
                )
            except UnreadableDocument as unreadable:
                run.failed.append((path.name, unreadable.reason))
                continue
            except OSError as error:
                run.failed.append((path.name, f"could not read the file ({error})"))
                continue
            run.documents += 1
            page_count = len(result.pages)
            run.pages += page_count
            # Decode and extraction work on the whole document: share them out.
            decode = result.stage_seconds["decode"] / page_count
            extract = result.stage_seconds["extract"] / page_count
            for page in result.pages:
                run.samples["decode"].append(decode)
                run.samples["text"].append(page.text_seconds)
                run.samples["extract"].append(extract)
                run.samples["total"].append(decode + page.text_seconds + extract)
                run.lines_per_page.append(len(page.text.lines))
                run.ocr_pages += page.text.source == "ocr"
            if verbose:
                self.stderr.write(
                    f"[{index}/{len(paths)}] {path.name}: {page_count} page(s), "
                    f"{result.stage_seconds['total']:.2f} s"
                )

        summary = summarize(
            run,
            source=options["source"],
            ocr_engine=f"{ocr.name} {ocr.version}",
            extractor=f"{extractor.name} {extractor.version}",
            load_seconds=load_seconds,
        )
        self.stdout.write(render_table(summary))
        if options["json"] is not None:
            options["json"].write_text(json.dumps(summary, indent=2) + "\n")

    def _per_page_type(self, options: dict[str, Any]) -> None:
        passed: dict[str, Any] = {
            "option": options["option"],
            "verbosity": options["verbosity"],
            "stdout": self.stdout,
            "stderr": self.stderr,
        }
        for name in ("types", "limit", "engine", "json"):
            if options[name] is not None:
                passed[name] = options[name]
        call_command("benchmark_ocr_accuracy", **passed)

    def _extractor(self) -> FieldExtractor:
        try:
            return extractors.get(settings.VOUCH_EXTRACTOR)
        except ImportError as error:
            self.stderr.write(
                f"warning: {error}; timing without field extraction",
                style_func=self.style.WARNING,
            )
            return _NoFields()


def documents_in(source: Path) -> list[Path]:
    """The documents a folder holds (sorted) or a manifest lists (in its order).

    Raises CommandError for a missing source or a manifest line that is not JSON.
    """
    if source.is_dir():
        return sorted(
            path
            for path in source.iterdir()
            if path.is_file() and path.suffix.lower() in DOCUMENT_SUFFIXES
        )
    if not source.is_file():
        raise CommandError(f"{source} is neither a folder nor a manifest file")
    paths = []
    for number, line in enumerate(source.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as error:
            raise CommandError(f"{source}:{number} is not JSON ({error})") from None
        if isinstance(entry, dict) and entry.get("file"):
            paths.append(source.parent / str(entry["file"]))
    return paths


def percentile(values: Sequence[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (numpy's default method)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, engine and Django included."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _spread(values: Sequence[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {
        "p50": statistics.median(values),
        "p95": percentile(values, 0.95),
        "max": max(values),
    }


def summarize(
    run: BenchmarkRun,
    *,
    source: Path,
    ocr_engine: str,
    extractor: str,
    load_seconds: float,
) -> dict[str, Any]:
    return {
        "source": str(source),
        "ocr_engine": ocr_engine,
        "extractor": extractor,
        "engine_load_seconds": round(load_seconds, 3),
        "documents": run.documents,
        "failed": [{"file": name, "reason": reason} for name, reason in run.failed],
        "pages": run.pages,
        "ocr_pages": run.ocr_pages,
        "seconds_per_page": {
            key: _spread(values) for key, values in run.samples.items()
        },
        "lines_per_page": _spread(run.lines_per_page),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def render_table(summary: dict[str, Any]) -> str:
    failed = summary["failed"]
    text_layer_pages = summary["pages"] - summary["ocr_pages"]
    out = [
        f"OCR engine   {summary['ocr_engine']} "
        f"(loaded in {summary['engine_load_seconds']:.2f} s, not counted below)",
        f"Extractor    {summary['extractor']}",
        f"Documents    {summary['documents']} processed, {len(failed)} failed",
        f"Pages        {summary['pages']} ({summary['ocr_pages']} OCR, "
        f"{text_layer_pages} PDF text layer)",
        "",
        f"{'per page':<22}{'p50':>9}{'p95':>9}{'max':>9}",
    ]
    for label, key in STAGE_ROWS:
        spread = summary["seconds_per_page"][key]
        if spread is None:
            out.append(f"{label + ' (s)':<22}{'-':>9}{'-':>9}{'-':>9}")
        else:
            out.append(
                f"{label + ' (s)':<22}"
                f"{spread['p50']:>9.3f}{spread['p95']:>9.3f}{spread['max']:>9.3f}"
            )
    lines = summary["lines_per_page"]
    if lines is None:
        out.append(f"{'OCR lines':<22}{'-':>9}{'-':>9}{'-':>9}")
    else:
        out.append(
            f"{'OCR lines':<22}{lines['p50']:>9.0f}{lines['p95']:>9.0f}"
            f"{lines['max']:>9.0f}"
        )
    out += ["", f"Peak RSS     {summary['peak_rss_mb']:.0f} MB (whole process)"]
    if failed:
        out += ["", "Failed"]
        out += [f"  {entry['file']}: {entry['reason']}" for entry in failed]
    return "\n".join(out)
