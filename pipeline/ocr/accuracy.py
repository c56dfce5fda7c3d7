"""Character error rate and word accuracy of an OCR engine against ground truth.

Truth comes as lines with boxes: the SROIE annotators' transcriptions
(`ocr_boxes/`), or a PDF's own text layer for the same page rendered as an
image. The engine's lines rarely split a page the way the truth does (one
engine line may hold two truth boxes, or half of one), so lines are matched by
position in groups: truth and engine lines that overlap are joined into one
group (connected components), and each group's texts, in reading order, are
compared by edit distance. Truth nobody read counts as deleted, engine text
over no truth as inserted, so a missed line or a phantom one costs its length.
"""

from __future__ import annotations

import io
import json
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from PIL import Image
from rapidfuzz.distance import Levenshtein

from pipeline.decode import DecodeLimits, decode_document
from pipeline.errors import UnreadableDocument
from pipeline.ocr import OcrEngine
from pipeline.ocr.recorded import page_text_from_boxes
from pipeline.types import OcrLine, PageImage

# Two boxes belong together when each axis overlaps by at least this share of
# the smaller box: a line that covers two truth boxes side by side still
# overlaps each fully, while the rows above and below touch it only at the edge.
MIN_OVERLAP = 0.5


@dataclass(frozen=True)
class TruthPage:
    """A page image to OCR and the lines it is known to hold."""

    name: str  # document file name, with the page number for PDFs
    image: PageImage  # no text layer: the engine must read it
    truth: tuple[OcrLine, ...]
    # SROIE's annotators wrote much of what is printed in mixed case in capitals,
    # which would charge a right reading one error per letter.
    case_sensitive: bool = True


@dataclass(frozen=True)
class TextScore:
    """Edit errors against truth characters, right words against truth words."""

    characters: int = 0
    errors: int = 0
    words: int = 0
    words_right: int = 0

    def __add__(self, other: TextScore) -> TextScore:
        return TextScore(
            self.characters + other.characters,
            self.errors + other.errors,
            self.words + other.words,
            self.words_right + other.words_right,
        )

    @property
    def cer(self) -> float:
        """Character error rate: edits per truth character (may exceed 1)."""
        return self.errors / self.characters if self.characters else 0.0

    @property
    def word_accuracy(self) -> float:
        return self.words_right / self.words if self.words else 0.0


@dataclass(frozen=True)
class PageReading:
    """One page read by the engine: its score and where the time went."""

    name: str
    score: TextScore
    # "ocr" (the whole call, wall) and "cpu" (its CPU time), plus the engine's
    # own stages when it reports them.
    seconds: dict[str, float]
    lines: int


def read_and_score(
    pages: Iterable[TruthPage], engine: OcrEngine
) -> Iterator[PageReading]:
    """OCR each page and score it; stage times come from `recognize_timed`
    when the engine has it (PaddleOcrEngine does)."""
    timed = getattr(engine, "recognize_timed", None)
    for page in pages:
        started, cpu_started = time.perf_counter(), time.process_time()
        stages: dict[str, float] = {}
        if timed is not None:
            lines, stages = timed(page.image)
        else:
            lines = engine.recognize(page.image)
        seconds = {
            **stages,
            "ocr": time.perf_counter() - started,
            # CPU seconds of all threads: steadier than wall time when other
            # processes share the cores.
            "cpu": time.process_time() - cpu_started,
        }
        score = score_page(page.truth, lines, case_sensitive=page.case_sensitive)
        yield PageReading(page.name, score, seconds, len(lines))


def score_page(
    truth: Sequence[OcrLine], read: Sequence[OcrLine], *, case_sensitive: bool = True
) -> TextScore:
    """Compare an engine's lines with the truth's on one page (same pixels)."""
    total = TextScore()
    for truth_group, read_group in _overlap_groups(truth, read):
        expected, got = _reading_text(truth_group), _reading_text(read_group)
        if not case_sensitive:
            expected, got = expected.casefold(), got.casefold()
        expected_words, got_words = Counter(expected.split()), Counter(got.split())
        total += TextScore(
            characters=len(expected),
            errors=Levenshtein.distance(expected, got),
            words=sum(expected_words.values()),
            words_right=sum((expected_words & got_words).values()),
        )
    return total


def _overlap_groups(
    truth: Sequence[OcrLine], read: Sequence[OcrLine]
) -> list[tuple[list[OcrLine], list[OcrLine]]]:
    lines = [*truth, *read]
    parent = list(range(len(lines)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    for t, truth_line in enumerate(truth):
        for r, read_line in enumerate(read, start=len(truth)):
            if _overlaps(truth_line.box, read_line.box):
                parent[root(t)] = root(r)
    groups: dict[int, tuple[list[OcrLine], list[OcrLine]]] = {}
    for index, line in enumerate(lines):
        group = groups.setdefault(root(index), ([], []))
        group[0 if index < len(truth) else 1].append(line)
    return list(groups.values())


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    for low, high in ((0, 2), (1, 3)):
        shared = min(a[high], b[high]) - max(a[low], b[low])
        smaller = max(1, min(a[high] - a[low], b[high] - b[low]))
        if shared < MIN_OVERLAP * smaller:
            return False
    return True


def _reading_text(lines: list[OcrLine]) -> str:
    """Lines top to bottom (rows by centre within half a line height), left to
    right, joined by spaces, with whitespace collapsed."""
    if not lines:
        return ""
    height = max(
        1, sorted(line.box[3] - line.box[1] for line in lines)[len(lines) // 2]
    )
    ordered = sorted(
        lines,
        key=lambda line: (round((line.box[1] + line.box[3]) / 2 / height), line.box[0]),
    )
    return " ".join(" ".join(line.text for line in ordered).split())


# --- pages with known text --------------------------------------------------------


def sroie_pages(
    manifest: Path, *, limit: int | None = None, limits: DecodeLimits | None = None
) -> Iterator[TruthPage]:
    """SROIE receipts whose manifest entry names an `ocr_boxes_file`, decoded as
    the pipeline decodes uploads, with the truth boxes scaled to those pixels."""
    limits = limits or DecodeLimits()
    served = 0
    for entry in _manifest_entries(manifest):
        if limit is not None and served >= limit:
            return
        boxes_file = entry.get("ocr_boxes_file")
        if not boxes_file or not entry.get("file"):
            continue
        data = (manifest.parent / str(entry["file"])).read_bytes()
        with Image.open(io.BytesIO(data)) as original:
            original_width, original_height = original.size
        image = decode_document(data, limits)[0]
        truth = page_text_from_boxes((manifest.parent / str(boxes_file)).read_text())
        sx, sy = image.width / original_width, image.height / original_height
        scaled = tuple(
            replace(line, polygon=tuple((x * sx, y * sy) for x, y in line.polygon))  # type: ignore[arg-type]
            for line in truth.lines
        )
        served += 1
        yield TruthPage(
            Path(str(entry["file"])).name, image, scaled, case_sensitive=False
        )


def text_layer_pages(
    paths: Sequence[Path], *, limit: int | None = None, dpi: int = 200
) -> Iterator[TruthPage]:
    """Pages of PDFs that carry a usable text layer, rendered at `dpi`: the
    image goes to the engine, the text layer is the truth. Pages without a
    text layer and files that do not decode are skipped."""
    limits = DecodeLimits(pdf_dpi=dpi)
    served = 0
    for path in paths:
        try:
            pages = decode_document(path.read_bytes(), limits)
        except UnreadableDocument:
            continue
        for page in pages:
            if limit is not None and served >= limit:
                return
            if page.text_lines is None:
                continue
            served += 1
            yield TruthPage(
                f"{path.name} p{page.number}",
                replace(page, text_lines=None),
                page.text_lines,
            )


def manifest_files(manifest: Path) -> list[Path]:
    """The files a dataset manifest lists, in its order."""
    return [
        manifest.parent / str(entry["file"])
        for entry in _manifest_entries(manifest)
        if entry.get("file")
    ]


def _manifest_entries(manifest: Path) -> Iterator[dict[str, object]]:
    for line in manifest.read_text().splitlines():
        if line.strip():
            entry = json.loads(line)
            if isinstance(entry, dict):
                yield entry
