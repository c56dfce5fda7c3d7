"""Train the learned field scorer from the dev manifests and write its artefact."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from pipeline.extract.scorer import (
    MODEL_PATH,
)
from pipeline.extract.scorer_training import load_documents, train
from reviewapp.services.ingest import decode_limits


def dev_manifests(given: list[Path]) -> list[Path]:
    """The manifests named, else every manifest under VOUCH_DATASETS."""
    manifests = given or sorted(Path(settings.VOUCH_DATASETS).glob("*/manifest.jsonl"))
    if not manifests:
        raise CommandError(
            f"no manifests given and none under {settings.VOUCH_DATASETS}"
        )
    return manifests


def render_scores(scores: dict[str, Any]) -> str:
    """The cross-validated table: per field, heuristic vs scorer accuracy;
    per source and document type also what the extractor then reads."""
    out = [
        f"{'field':<16}{'docs':>6}{'heuristic%':>12}{'scorer CV%':>12}"
        f"{'cand.recall%':>14}  read by"
    ]
    for name, row in scores.items():
        out.append(
            f"{name:<16}{row['documents']:>6}{100 * (row['heuristic'] or 0):>12.1f}"
            f"{100 * (row['scorer_cv'] or 0):>12.1f}"
            f"{100 * (row['candidate_recall'] or 0):>14.1f}  "
            + (f"scorer on {', '.join(row['use_for'])}" if row["use_for"] else "rules")
        )
        for source, part in [*row["by_source"].items(), *row["by_type"].items()]:
            out.append(
                f"  {source:<36}{part['documents']:>5}"
                f"{100 * (part['heuristic'] or 0):>8.1f}"
                f"{100 * (part['scorer_cv'] or 0):>8.1f}"
                f"{100 * (part['effective'] or 0):>8.1f}"
            )
    return "\n".join(out)


class Command(BaseCommand):
    help = (
        "Train the learned field scorer (vendor, address, date, total) from "
        "dataset manifests (default: every manifest under VOUCH_DATASETS) and "
        "write pipeline/models/field_scorer.json. Every score printed is k-fold "
        "cross-validated by document; the same data gives the same file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("manifests", nargs="*", type=Path)
        parser.add_argument("--output", type=Path, default=MODEL_PATH)
        parser.add_argument("--folds", type=int, default=5)
        parser.add_argument(
            "--ocr-cache",
            type=Path,
            default=None,
            metavar="DIR",
            help="also train on the OCR lines `evaluate --ocr-cache DIR` recorded "
            "for the scans (what the product reads, not the annotators' lines)",
        )
        parser.add_argument(
            "--train-only",
            type=Path,
            action="append",
            default=[],
            metavar="MANIFEST",
            help="also learn from this manifest's documents (e.g. `generate_invoices` "
            "output) without ever scoring them: every figure printed stays on the "
            "real documents; repeatable",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        manifests = dev_manifests(options["manifests"])
        train_only: list[Path] = options["train_only"]
        for manifest in train_only:
            if not manifest.is_file():
                raise CommandError(f"{manifest} is not a manifest file")
        documents, skipped = load_documents(
            manifests,
            ocr_cache=options["ocr_cache"],
            limits=decode_limits(),
            train_only=train_only,
        )
        try:
            artefact = train(
                documents,
                folds=options["folds"],
                training_summary={
                    "manifests": [f"{m.parent.name}/{m.name}" for m in manifests],
                    "train_only_manifests": [
                        f"{m.parent.name}/{m.name}" for m in train_only
                    ],
                    "skipped": dict(sorted(skipped.items())),
                },
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        output: Path = options["output"]
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(artefact, indent=1, sort_keys=True) + "\n")
        self.stdout.write(f"wrote {output} (version {artefact['version']})")
        self.stdout.write(json.dumps(artefact["training"], indent=2, sort_keys=True))
        self.stdout.write(
            f"{artefact['training']['folds']}-fold cross-validated accuracy "
            "(exact match), by document id:"
        )
        self.stdout.write(render_scores(artefact["scores"]))
