"""OCR against ground truth, per page type: character error rate, word
accuracy, and seconds per page for each engine stage.

Page types and their truth:
- receipt: SROIE scans, the annotators' line transcriptions (`ocr_boxes/`),
  compared ignoring case (the annotators wrote mixed case in capitals);
- dense A4: DeepForm ad-buy invoices rendered at 200 dpi, their text layer;
- e-invoice: ZUGFeRD / Factur-X PDFs (German, French) rendered, their text layer.

Under load, compare settings by the cpu column (CPU seconds of the OCR call):
wall time then says more about the neighbours than about the engine.

`--option NAME=VALUE` passes engine options (det_limit_side_len, rec_batch_num,
cpu_threads ...), so two settings can be compared on the same pages.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from pipeline.ocr import ocr_engines
from pipeline.ocr.accuracy import (
    PageReading,
    TextScore,
    TruthPage,
    manifest_files,
    read_and_score,
    sroie_pages,
    text_layer_pages,
)
from reviewapp.measurement.management.commands.benchmark_ocr import (
    peak_rss_mb,
    percentile,
)

PAGE_TYPES = ("receipt", "dense-a4", "e-invoice")
STAGES = ("det", "cls", "rec", "ocr", "cpu")


class Command(BaseCommand):
    help = (
        "OCR dev pages with known text (SROIE receipts, PDF text layers) and print "
        "per page type: CER, word accuracy, p50/p95 seconds per stage, peak RSS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--types",
            default="receipt,dense-a4",
            help=f"comma-separated page types out of {', '.join(PAGE_TYPES)}",
        )
        parser.add_argument(
            "--limit", type=int, default=10, help="pages per type (default 10)"
        )
        parser.add_argument(
            "--datasets",
            type=Path,
            default=None,
            help="the dev datasets folder (default: VOUCH_DATASETS)",
        )
        parser.add_argument(
            "--engine",
            default=None,
            help="dotted path of the OCR engine (default: VOUCH_OCR_ENGINE)",
        )
        parser.add_argument(
            "--option",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="an engine constructor option, e.g. det_limit_side_len=1280",
        )
        parser.add_argument(
            "--json", type=Path, default=None, help="also write the figures here"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        types = [name.strip() for name in options["types"].split(",") if name.strip()]
        unknown = sorted(set(types) - set(PAGE_TYPES))
        if unknown:
            raise CommandError(f"unknown page types: {', '.join(unknown)}")
        if options["limit"] < 1:
            raise CommandError("--limit must be at least 1")
        datasets = options["datasets"] or Path(settings.VOUCH_DATASETS)
        engine_options = dict(parse_option(text) for text in options["option"])
        engine = ocr_engines.get(
            options["engine"] or settings.VOUCH_OCR_ENGINE, **engine_options
        )
        verbose = options["verbosity"] >= 2

        summary: dict[str, Any] = {
            "ocr_engine": f"{engine.name} {engine.version}",
            "engine_options": engine_options,
            "types": {},
        }
        for page_type in types:
            readings = []
            for reading in read_and_score(
                truth_pages(page_type, datasets, options["limit"]), engine
            ):
                readings.append(reading)
                if verbose:
                    self.stderr.write(
                        f"{page_type} {reading.name}: CER {reading.score.cer:.3f}, "
                        f"{reading.seconds['ocr']:.2f} s, {reading.lines} lines"
                    )
            summary["types"][page_type] = summarize(readings)
        summary["peak_rss_mb"] = round(peak_rss_mb(), 1)
        self.stdout.write(render_table(summary))
        if options["json"] is not None:
            options["json"].write_text(json.dumps(summary, indent=2) + "\n")


def truth_pages(page_type: str, datasets: Path, limit: int) -> Iterator[TruthPage]:
    """The first `limit` pages of a type. Raises CommandError when its dataset
    is missing."""
    manifest = {
        "receipt": datasets / "sroie2019-receipts" / "manifest.jsonl",
        "dense-a4": datasets / "deepform-vrdu-adbuy" / "manifest.jsonl",
        "e-invoice": datasets / "zugferd-corpus" / "manifest.jsonl",
    }[page_type]
    if not manifest.is_file():
        raise CommandError(f"{manifest} is missing (set VOUCH_DATASETS or --datasets)")
    if page_type == "receipt":
        return sroie_pages(manifest, limit=limit)
    return text_layer_pages(manifest_files(manifest), limit=limit)


def parse_option(text: str) -> tuple[str, Any]:
    """ "name=value" with the value read as a bool, int or float when it is one.
    Raises CommandError without "="."""
    name, separator, raw = text.partition("=")
    if not separator or not name:
        raise CommandError(f"--option {text!r} is not NAME=VALUE")
    value: Any = raw
    if raw.lower() in ("true", "false"):
        value = raw.lower() == "true"
    else:
        for kind in (int, float):
            try:
                value = kind(raw)
                break
            except ValueError:
                continue
    return name, value


def summarize(readings: list[PageReading]) -> dict[str, Any]:
    score = sum((reading.score for reading in readings), TextScore())
    seconds: dict[str, dict[str, float]] = {}
    for stage in STAGES:
        values = [r.seconds[stage] for r in readings if stage in r.seconds]
        if values:
            seconds[stage] = {
                "p50": round(statistics.median(values), 3),
                "p95": round(percentile(values, 0.95), 3),
            }
    return {
        "pages": len(readings),
        "characters": score.characters,
        "cer": round(score.cer, 4),
        "word_accuracy": round(score.word_accuracy, 4),
        "seconds_per_page": seconds,
        "lines_p50": statistics.median([r.lines for r in readings]) if readings else 0,
    }


def render_table(summary: dict[str, Any]) -> str:
    out = [
        f"OCR engine   {summary['ocr_engine']}",
        f"Options      {summary['engine_options'] or 'defaults'}",
        "",
        f"{'page type':<11}{'pages':>6}{'chars':>8}{'CER':>8}{'words':>8}"
        + "".join(f"{stage + ' p50':>9}{'p95':>7}" for stage in STAGES)
        + f"{'lines':>7}",
    ]
    for page_type, figures in summary["types"].items():
        row = (
            f"{page_type:<11}{figures['pages']:>6}{figures['characters']:>8}"
            f"{figures['cer']:>8.3f}{figures['word_accuracy']:>8.3f}"
        )
        for stage in STAGES:
            spread = figures["seconds_per_page"].get(stage)
            row += (
                f"{spread['p50']:>9.2f}{spread['p95']:>7.2f}"
                if spread
                else f"{'-':>9}{'-':>7}"
            )
        out.append(row + f"{figures['lines_p50']:>7.0f}")
    out += [
        "",
        "CER: edits per truth character; words: share of truth words read exactly"
        " (receipts: ignoring case, as their annotators wrote in capitals).",
        "Seconds per page: det(ection), cls (angle classifier), rec(ognition), "
        "ocr (the whole engine call), cpu (its CPU seconds, all threads).",
        f"Peak RSS     {summary['peak_rss_mb']:.0f} MB (whole process)",
    ]
    return "\n".join(out)
