"""An OcrEngine that remembers what another engine read, keyed by the page
image's bytes, so that measuring and training loops OCR each scan once.

The cache is a folder of small JSON files (one per page image); entries carry
the inner engine's name and version, so a new engine never reads an old one's
lines. Not for production: a worker OCRs each stored page once anyway.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pipeline.ocr import OcrEngine
from pipeline.types import OcrLine, PageImage


class CachingOcrEngine:
    def __init__(self, inner: OcrEngine, directory: Path) -> None:
        self.inner = inner
        self.directory = directory
        self.name = inner.name
        self.version = inner.version

    @staticmethod
    def digest(image_bytes: bytes) -> str:
        return hashlib.sha256(image_bytes).hexdigest()

    def path_for(self, page: PageImage) -> Path:
        return self.directory / f"{self.digest(page.image_bytes)}.json"

    def recognize(self, page: PageImage) -> tuple[OcrLine, ...]:
        path = self.path_for(page)
        engine = f"{self.inner.name} {self.inner.version}"
        cached = read_cached_lines(path, engine=engine)
        if cached is not None:
            return tuple(
                OcrLine(line.text, line.confidence, line.polygon, page.number)
                for line in cached[0]
            )
        lines = self.inner.recognize(page)
        self.directory.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(
                {
                    "engine": engine,
                    "width": page.width,
                    "height": page.height,
                    "lines": [
                        {
                            "text": s.text,
                            "confidence": s.confidence,
                            "polygon": s.polygon,
                        }
                        for s in lines
                    ],
                }
            )
        )
        return lines


def read_cached_lines(
    path: Path, *, engine: str | None = None
) -> tuple[tuple[OcrLine, ...], int, int] | None:
    """The lines stored at `path` and the page's width and height, or None when
    there is no usable entry (or another engine than `engine` wrote it)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if engine is not None and data.get("engine") != engine:
        return None
    lines = tuple(
        OcrLine(
            text=str(line["text"]),
            confidence=float(line["confidence"]),
            polygon=tuple((float(x), float(y)) for x, y in line["polygon"]),  # type: ignore[arg-type]
        )
        for line in data["lines"]
    )
    return lines, int(data["width"]), int(data["height"])
