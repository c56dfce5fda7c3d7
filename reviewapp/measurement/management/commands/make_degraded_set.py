"""Write a damaged copy of a labelled image manifest, one manifest per kind of
damage, for `evaluate` to measure the quality gate and the preprocessing on.

The copy goes wherever --out says (a scratch folder such as /tmp, never the
repository: the images are the dataset's, under its licence).
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from PIL import Image, ImageOps

from pipeline.degrade import BY_NAME, KINDS, degrade
from reviewapp.measurement.scoring import read_manifest

# Fields that describe the original file and would be wrong for the copy.
_FILE_KEYS = ("width", "height", "dpi", "bytes", "sha256", "format")


class Command(BaseCommand):
    help = (
        "Make a degraded copy (rotated, skewed, blurred, dark, noisy, low "
        "resolution, perspective, cut off, glare; several strengths) of an image "
        "manifest: OUT/<kind>/manifest.jsonl, plus OUT/clean/manifest.jsonl for "
        "the same documents undamaged."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("manifest", type=Path)
        parser.add_argument("--out", type=Path, required=True, metavar="DIR")
        parser.add_argument(
            "--documents",
            type=int,
            default=20,
            help="how many documents, spread evenly over the manifest",
        )
        parser.add_argument(
            "--kinds",
            default=",".join(kind.name for kind in KINDS),
            help="comma-separated kinds of damage (default: all)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        source: Path = options["manifest"]
        out: Path = options["out"]
        kinds = [name.strip() for name in options["kinds"].split(",") if name]
        unknown = [name for name in kinds if name not in BY_NAME]
        if unknown:
            raise CommandError(f"unknown kinds: {', '.join(unknown)}")
        entries = [e for e in read_manifest(source) if e.get("file")]
        if not entries:
            raise CommandError(f"{source} lists no image files")
        step = max(1, len(entries) // max(1, options["documents"]))
        chosen = entries[::step][: options["documents"]]
        clean = [
            {**entry, "file": str((source.parent / entry["file"]).resolve())}
            for entry in chosen
        ]
        _write_manifest(out / "clean", clean)
        for name in kinds:
            rows = []
            for entry in chosen:
                with Image.open(source.parent / entry["file"]) as original:
                    # The copy starts from the page as a person sees it.
                    page = ImageOps.exif_transpose(original).convert("RGB")
                for strength in BY_NAME[name].strengths:
                    doc_id = f"{entry['doc_id']}-{name}{strength}"
                    damaged = degrade(page, name, strength, seed=doc_id)
                    buffer = io.BytesIO()
                    damaged.save(buffer, format="JPEG", quality=90)
                    relative = Path("images") / f"{doc_id}.jpg"
                    target = out / name / relative
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(buffer.getvalue())
                    row = {k: v for k, v in entry.items() if k not in _FILE_KEYS}
                    rows.append(
                        {
                            **row,
                            "doc_id": doc_id,
                            "file": str(relative),
                            "degradation": {"kind": name, "strength": strength},
                            "clean_doc_id": entry["doc_id"],
                            "width": damaged.width,
                            "height": damaged.height,
                            "sha256": hashlib.sha256(buffer.getvalue()).hexdigest(),
                        }
                    )
            _write_manifest(out / name, rows)
            self.stdout.write(f"{name}: {len(rows)} images in {out / name}")
        self.stdout.write(f"clean: {len(clean)} documents in {out / 'clean'}")


def _write_manifest(folder: Path, rows: list[dict[str, Any]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.jsonl").write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    )
