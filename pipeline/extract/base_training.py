"""The base training set, shipped with the product in compact form.

A retrain on a customer's machine needs what the shipped scorer was fitted on
(the dev datasets, which no installation has) plus that installation's own
corrections. This module writes those labelled documents as they are read for
training (text lines with their boxes and confidence, and the labels) into one
gzipped JSON Lines file under pipeline/models/, and reads them back as
`LabelledDocument`s. No images, no PDFs: a few hundred kilobytes.

Sources and licences are listed in pipeline/models/BASE_TRAINING_NOTICE.md.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pipeline.extract.scorer_training import LabelledDocument
from pipeline.types import OcrLine, PageText

BASE_TRAINING_PATH = Path(__file__).resolve().parent.parent / (
    "models/base_training.jsonl.gz"
)
FORMAT = "vouch-base-training/1"


class BaseTrainingError(Exception):
    """The shipped base training file is missing or unreadable."""


def _line_json(line: OcrLine) -> list[Any]:
    xs = [point[0] for point in line.polygon]
    ys = [point[1] for point in line.polygon]
    # An axis-aligned box is all training looks at; it is half the size.
    return [line.text, round(line.confidence, 3), [min(xs), min(ys), max(xs), max(ys)]]


def _document_json(document: LabelledDocument) -> dict[str, Any]:
    return {
        "doc_id": document.doc_id,
        "source": document.source,
        "vendor": document.vendor,
        "labels": dict(sorted(document.labels.items())),
        "pages": [
            {
                "page_number": page.page_number,
                "width": page.width,
                "height": page.height,
                "source": page.source,
                "lines": [_line_json(line) for line in page.lines],
            }
            for page in document.pages
        ],
    }


def _document(data: dict[str, Any]) -> LabelledDocument:
    pages = []
    for page in data["pages"]:
        lines = []
        for text, confidence, (x0, y0, x1, y1) in page["lines"]:
            polygon = ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
            lines.append(
                OcrLine(str(text), float(confidence), polygon, page["page_number"])
            )
        pages.append(
            PageText(
                page_number=int(page["page_number"]),
                width=int(page["width"]),
                height=int(page["height"]),
                lines=tuple(lines),
                source=page["source"],
            )
        )
    return LabelledDocument(
        doc_id=str(data["doc_id"]),
        source=str(data["source"]),
        pages=tuple(pages),
        labels={str(k): str(v) for k, v in data["labels"].items()},
        vendor=str(data.get("vendor", "")),
    )


def write_base_training(documents: Sequence[LabelledDocument], path: Path) -> int:
    """Write `documents` to `path` (gzipped JSON Lines, header first; the same
    documents give the same bytes). Returns the file's size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {"format": FORMAT, "documents": len(documents)}
    rows = [json.dumps(header, sort_keys=True)]
    rows += [
        json.dumps(_document_json(d), sort_keys=True, ensure_ascii=False)
        for d in sorted(documents, key=lambda d: (d.doc_id, d.source))
    ]
    data = ("\n".join(rows) + "\n").encode("utf-8")
    # mtime=0: no timestamp in the gzip header, so a rebuild is byte-identical.
    path.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    return path.stat().st_size


def read_base_training(path: Path = BASE_TRAINING_PATH) -> list[LabelledDocument]:
    """The labelled documents in `path`. Raises BaseTrainingError when the
    file is missing, of another format or damaged."""
    try:
        text = gzip.decompress(path.read_bytes()).decode("utf-8")
    except FileNotFoundError:
        raise BaseTrainingError(f"the base training set {path} is missing") from None
    except (OSError, EOFError, UnicodeDecodeError) as error:
        raise BaseTrainingError(f"{path} is damaged ({error})") from None
    rows: Iterable[str] = (row for row in text.splitlines() if row.strip())
    try:
        header, *documents = (json.loads(row) for row in rows)
        if header.get("format") != FORMAT:
            raise BaseTrainingError(f"{path} is not a {FORMAT} file")
        return [_document(data) for data in documents]
    except (ValueError, KeyError, TypeError) as error:
        raise BaseTrainingError(f"{path} is damaged ({error})") from None
