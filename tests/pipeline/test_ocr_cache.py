"""The OCR cache used by measuring and training loops: each page image is read
by the engine once, and only an entry of the same engine is trusted."""

from __future__ import annotations

from pathlib import Path

from pipeline.decode import DecodeLimits
from pipeline.extract.heuristic import HeuristicExtractor
from pipeline.extract.scorer_training import _CacheIndex
from pipeline.ocr.cache import CachingOcrEngine, read_cached_lines
from pipeline.run import run_pipeline
from pipeline.types import OcrLine, PageImage
from tests.pipeline.degraded_pages import damaged_image, jpeg_of


class CountingEngine:
    name = "counting"
    version = "1"

    def __init__(self) -> None:
        self.calls = 0

    def recognize(self, page: PageImage) -> tuple[OcrLine, ...]:
        self.calls += 1
        return (OcrLine("TOTAL 9.00", 0.9, ((1, 2), (30, 2), (30, 9), (1, 9)), 1),)


def page(number: int, content: bytes) -> PageImage:
    return PageImage(number, 40, 20, 150, content, "PNG")


def test_a_page_is_read_once_and_replayed_from_the_cache(tmp_path: Path) -> None:
    inner = CountingEngine()
    cached = CachingOcrEngine(inner, tmp_path)
    first = cached.recognize(page(1, b"image"))
    again = cached.recognize(page(2, b"image"))
    assert inner.calls == 1
    assert [line.text for line in again] == ["TOTAL 9.00"]
    assert again[0].polygon == first[0].polygon and again[0].page_number == 2
    cached.recognize(page(1, b"another image"))
    assert inner.calls == 2
    stored = read_cached_lines(cached.path_for(page(1, b"image")))
    assert stored is not None and stored[1:] == (40, 20)


def test_another_engine_s_entry_is_not_used(tmp_path: Path) -> None:
    CachingOcrEngine(CountingEngine(), tmp_path).recognize(page(1, b"image"))
    other = CountingEngine()
    other.version = "2"
    CachingOcrEngine(other, tmp_path).recognize(page(1, b"image"))
    assert other.calls == 1
    assert read_cached_lines(tmp_path / "missing.json") is None


def test_training_finds_what_evaluate_cached_for_a_photo_it_straightened(
    tmp_path: Path,
) -> None:
    """`evaluate --ocr-cache` stores what OCR saw, after deskew; training must
    look the photo up the same way (it once digested the decoded image and
    missed every photo preprocessing changed)."""
    photo = tmp_path / "skewed.jpg"
    photo.write_bytes(jpeg_of(damaged_image("skewed", 2)))
    cache = tmp_path / "cache"
    result = run_pipeline(
        photo.read_bytes(),
        ocr=CachingOcrEngine(CountingEngine(), cache),
        extractor=HeuristicExtractor(),
        limits=DecodeLimits(),
    )
    assert result.pages[0].preprocessing  # deskewed: bytes differ from decoded
    pages = _CacheIndex(cache, DecodeLimits()).pages(photo, "")
    assert pages is not None
    assert [line.text for line in pages[0].lines] == ["TOTAL 9.00"]
