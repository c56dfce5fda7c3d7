"""Replay a labelled manifest in order as a stream of reviewed documents, and
measure whether corrections make the next document of a vendor better.

Each document is read as `evaluate` reads it, then with the vendor directory
built from the documents approved before it (as the worker does); every field
whose value differs from its label counts as a correction a clerk makes; the
document is then approved with its labels, which teaches the directory. No
document is ever read with what it taught itself.

With `--retrain-every N` the scorer is also retrained as in production
(`reviewapp.measurement.stream_retraining`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from pipeline.extract import extractors
from pipeline.extract.scorer_training import labels_of as scored_labels
from pipeline.extract.vendor_directory import (
    squash,
)
from pipeline.extract.vendor_learning import (
    Directory,
)
from pipeline.types import Extraction
from reviewapp.extraction_fields import FIELD_KINDS, auto_accept_thresholds
from reviewapp.measurement.evaluator import Evaluator
from reviewapp.measurement.scoring import (
    DocumentResult,
    comparable,
    manifest_labels,
    read_manifest,
)
from reviewapp.measurement.stream_retraining import StreamRetraining
from reviewapp.review_reasons import ROUTINE, reason_for

# The 1st, 2nd, 3rd ... document of a vendor; later ones are pooled.
POSITIONS = 5
WINDOW = 100


def corrections_needed(
    extraction: Extraction, labels: dict[str, str]
) -> tuple[list[str], int]:
    """(the fields a clerk corrects, how many of them differ in more than
    spacing and punctuation): SROIE's labels spell one shop's address with
    and without a space after a comma, which no clerk would correct."""
    corrected: list[str] = []
    loose = 0
    for name, label in labels.items():
        found = extraction.get(name)
        value = found.value if found is not None else ""
        if comparable(name, value) != comparable(name, label):
            corrected.append(name)
            if FIELD_KINDS[name] != "text" or squash(value) != squash(label):
                loose += 1
    return corrected, loose


@dataclass(frozen=True)
class Automation:
    """What the routing would have left to the machine on one document:
    labelled values at or above their threshold, how many of those were
    wrong, and whether nobody would have looked at it at all."""

    labelled: int
    accepted: int
    accepted_wrong: tuple[str, ...]  # the fields
    # Of those, wrong in more than spacing and punctuation (see
    # corrections_needed): what a clerk would really have had to fix.
    accepted_wrong_loose: int
    touchless: bool


def automation(
    extraction: Extraction, labels: dict[str, str], thresholds: dict[str, float]
) -> Automation:
    """Judged as `evaluate` judges it: a value is auto-accepted at or above
    its field's threshold, and a document is touchless when every labelled
    value is auto-accepted and right and the routing's own rule, over every
    value read, finds nothing to look at."""
    accepted = loose = 0
    wrong: list[str] = []
    all_right = True
    for name, label in labels.items():
        found = extraction.get(name)
        passes = found is not None and found.confidence >= thresholds.get(name, 1.0)
        right = found is not None and comparable(name, found.value) == comparable(
            name, label
        )
        accepted += passes
        if passes and not right:
            wrong.append(name)
            assert found is not None
            loose += FIELD_KINDS[name] != "text" or squash(found.value) != squash(label)
        all_right = all_right and passes and right
    read = [(f.name, f.value, f.confidence) for f in extraction.fields]
    routine = reason_for(read, flag_below=thresholds) == ROUTINE
    return Automation(
        len(labels),
        accepted,
        tuple(wrong),
        loose,
        bool(labels) and all_right and routine,
    )


@dataclass(frozen=True)
class Reviewed:
    """One document of the stream: its vendor, which of the vendor's
    documents it is, what a clerk corrected on it and what the machine
    would have been trusted with."""

    vendor: str
    nth: int
    corrected: tuple[str, ...]
    loose: int
    automation: Automation

    @property
    def exact(self) -> int:
        return len(self.corrected)


class Command(BaseCommand):
    help = (
        "Replay MANIFEST in order as reviewed documents (read, corrected from "
        "the labels, approved; the vendor directory learns as in production) "
        "and print corrections on the 1st, 2nd, 3rd ... document of vendors "
        "with several documents, and corrections per 100 documents."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("manifest", type=Path)
        parser.add_argument("--limit", type=int, default=None)
        parser.add_argument("--ocr-cache", type=Path, default=None, metavar="DIR")
        parser.add_argument(
            "--ocr-only",
            action="store_true",
            help="read PDFs as scans: no text layer, no e-invoice XML",
        )
        parser.add_argument(
            "--retrain-every",
            type=int,
            default=0,
            metavar="N",
            help="retrain the scorer after every N approved documents, behind "
            "the gate, as production does; the replayed documents are left out "
            "of the base training set and of the model the replay starts from",
        )
        parser.add_argument(
            "--retrain-folds",
            type=int,
            default=5,
            metavar="K",
            help="cross-validation folds of each retrain (production: 5)",
        )
        parser.add_argument(
            "--cold",
            action="store_true",
            help="never apply the directory (the baseline the replay is compared to)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        entries = read_manifest(options["manifest"])[: options["limit"]]
        if not entries:
            raise CommandError("the manifest has no documents")
        evaluator = Evaluator(
            extractor=extractors.get(settings.VOUCH_EXTRACTOR),
            ocr_only=options["ocr_only"],
            ocr_cache=options["ocr_cache"],
        )
        retraining = None
        if options["retrain_every"] > 0:
            if options["cold"]:
                raise CommandError("--cold measures without learning: no retrain")
            retraining = StreamRetraining.start(
                every=options["retrain_every"],
                folds=options["retrain_folds"],
                min_held_back=settings.VOUCH_GATE_MIN_HELD_BACK,
                replayed={str(entry.get("doc_id", "")) for entry in entries},
            )
            evaluator.extractor = retraining.extractor()
        directory = Directory()
        thresholds = auto_accept_thresholds()
        folder = options["manifest"].parent
        seen: dict[str, int] = defaultdict(int)
        stream: list[Reviewed] = []
        for entry in entries:
            labels, _, _ = manifest_labels(entry)
            result = DocumentResult(str(entry.get("doc_id", "")), "", "")
            reading, pages = evaluator.read_entry(folder, entry, result)
            if result.error or not pages:
                continue
            extraction = reading.extraction
            if not options["cold"]:
                extraction = directory.read(extraction, pages).extraction
            corrected, loose = corrections_needed(extraction, labels)
            vendor = squash(labels.get("vendor_name", "")) or result.doc_id
            seen[vendor] += 1
            stream.append(
                Reviewed(
                    vendor,
                    seen[vendor],
                    tuple(corrected),
                    loose,
                    automation(extraction, labels, thresholds),
                )
            )
            directory.approve(
                extraction,
                pages,
                labels,
                kinds=FIELD_KINDS,
                document=result.doc_id,
                day="replay",
            )
            if retraining is not None and retraining.approve(
                result.doc_id,
                pages,
                scored_labels(entry),
                vendor=vendor,
            ):
                evaluator.extractor = retraining.extractor()
        self.stdout.write(render(stream, seen, cold=options["cold"]))
        if retraining is not None:
            every = options["retrain_every"]
            self.stdout.write(f"\nRetraining every {every} approved documents")
            for line in retraining.history:
                self.stdout.write(f"  {line}")


def render(stream: list[Reviewed], seen: dict[str, int], *, cold: bool) -> str:
    repeated = {vendor for vendor, count in seen.items() if count > 1}
    out = [
        f"{len(stream)} documents, {len(seen)} vendors, {len(repeated)} with "
        f"several documents; vendor directory {'off (cold)' if cold else 'on'}",
        "",
        "Vendors with several documents: corrections per document by position",
        f"{'document':<12}{'docs':>6}{'corr/doc':>10}{'(spacing aside)':>17}",
    ]
    first: tuple[float, float] | None = None
    later: list[Reviewed] = []
    for position in range(1, POSITIONS + 1):
        rows = [
            s
            for s in stream
            if s.vendor in repeated
            and (s.nth == position or (position == POSITIONS and s.nth > position))
        ]
        if not rows:
            continue
        exact = sum(r.exact for r in rows) / len(rows)
        loose = sum(r.loose for r in rows) / len(rows)
        name = f"{position}{'th+' if position == POSITIONS else _suffix(position)}"
        out.append(f"{name:<12}{len(rows):>6}{exact:>10.2f}{loose:>17.2f}")
        if position == 1:
            first = (exact, loose)
        else:
            later += rows
    if first and later:
        exact = sum(r.exact for r in later) / len(later)
        loose = sum(r.loose for r in later) / len(later)
        out.append(f"{'2nd-on':<12}{len(later):>6}{exact:>10.2f}{loose:>17.2f}")
        out.append(
            f"from a vendor's 2nd document on: {_fewer(first[0], exact)} fewer "
            f"corrections than on its 1st ({_fewer(first[1], loose)} spacing aside)"
        )
        fields = Counter(name for r in later for name in r.corrected)
        out.append(
            "fields still corrected from a vendor's 2nd document on: "
            + (", ".join(f"{n} {c}" for n, c in fields.most_common()) or "none")
        )
    out += ["", *_automation_table(stream, repeated)]
    out += ["", f"Corrections per {WINDOW} documents over the stream"]
    for start in range(0, len(stream), WINDOW):
        part = stream[start : start + WINDOW]
        exact = 100 * sum(s.exact for s in part) / len(part)
        loose = 100 * sum(s.loose for s in part) / len(part)
        out.append(
            f"  documents {start + 1:>4}-{start + len(part):<5}"
            f"{exact:>8.1f}{loose:>10.1f} (spacing aside)"
        )
    return "\n".join(out) + "\n"


def _automation_table(stream: list[Reviewed], repeated: set[str]) -> list[str]:
    """Auto-accepted share, error among auto-accepted values and touchless
    documents: a vendor's 1st document, its later ones, and every document."""
    out = [
        "Automation at the product's thresholds (labelled values)",
        f"{'documents':<22}{'docs':>6}{'auto-accepted':>15}{'wrong among':>13}"
        f"{'(spacing aside)':>17}{'touchless':>11}",
    ]
    groups = (
        ("vendor's 1st", [s for s in stream if s.vendor in repeated and s.nth == 1]),
        ("vendor's 2nd-on", [s for s in stream if s.nth > 1]),
        ("all", stream),
    )
    for name, rows in groups:
        if not rows:
            continue
        labelled = sum(r.automation.labelled for r in rows)
        accepted = sum(r.automation.accepted for r in rows)
        wrong = sum(len(r.automation.accepted_wrong) for r in rows)
        loose = sum(r.automation.accepted_wrong_loose for r in rows)
        touchless = sum(r.automation.touchless for r in rows)
        share = f"{100 * accepted / labelled:.1f} %" if labelled else "-"
        among = f"{100 * wrong / accepted:.1f} %" if accepted else "-"
        among_loose = f"{100 * loose / accepted:.1f} %" if accepted else "-"
        out.append(
            f"{name:<22}{len(rows):>6}{share:>15}{among:>13}{among_loose:>17}"
            f"{touchless:>5} ({100 * touchless / len(rows):.0f} %)"
        )
    fields = Counter(n for r in stream for n in r.automation.accepted_wrong)
    out.append(
        "auto-accepted but wrong, by field: "
        + (", ".join(f"{n} {c}" for n, c in fields.most_common()) or "none")
    )
    return out


def _suffix(position: int) -> str:
    return {1: "st", 2: "nd", 3: "rd"}.get(position, "th")


def _fewer(before: float, after: float) -> str:
    return f"{100 * (before - after) / before:.0f} %" if before else "-"
