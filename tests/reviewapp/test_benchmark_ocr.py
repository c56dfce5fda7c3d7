from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from pytest_django.fixtures import Settings as SettingsWrapper

from reviewapp.measurement.management.commands.benchmark_ocr import percentile
from tests.conftest import DATASETS


@pytest.fixture
def folder(tmp_path: Path, invoice_png: bytes) -> Path:
    """One readable invoice (OCR recorded), one damaged PNG, one non-document."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a_invoice.png").write_bytes(invoice_png)
    (folder / "b_corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really" * 20)
    (folder / "notes.txt").write_text("not a document")
    return folder


def benchmark(*args: str) -> str:
    out = StringIO()
    call_command("benchmark_ocr", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_it_prints_per_stage_rows_and_lists_the_unreadable_file(folder: Path) -> None:
    output = benchmark(str(folder))

    rows = {line.split("  ")[0]: line for line in output.splitlines()}
    assert "recorded 1" in rows["OCR engine"]
    assert "1 processed, 1 failed" in rows["Documents"]
    assert "1 (1 OCR, 0 PDF text layer)" in rows["Pages"]
    for label in (
        "decode+preprocess (s)",
        "OCR (text stage) (s)",
        "extraction (s)",
        "total (s)",
    ):
        assert len(rows[label].split()) == len(label.split()) + 3  # p50 p95 max
    assert rows["OCR lines"].split()[-3:] == ["6", "6", "6"]
    assert "MB" in rows["Peak RSS"]
    failed = output.split("\nFailed\n", 1)[1].strip().splitlines()
    assert len(failed) == 1
    assert failed[0].startswith("b_corrupt.png: the image ")  # decode's reason
    assert "notes.txt" not in output


def test_it_reads_a_manifest_relative_to_its_folder_and_writes_json(
    folder: Path, tmp_path: Path
) -> None:
    manifest = folder / "manifest.jsonl"
    manifest.write_text(
        "\n".join(
            [
                json.dumps({"file": "a_invoice.png"}),
                json.dumps({"doc_id": "no file: skipped"}),
                "",
                json.dumps({"file": "b_corrupt.png"}),
            ]
        )
    )
    report = tmp_path / "report.json"

    benchmark(str(manifest), "--limit", "1", "--json", str(report))

    figures = json.loads(report.read_text())
    assert (figures["documents"], figures["failed"], figures["pages"]) == (1, [], 1)
    assert set(figures["seconds_per_page"]) == {"decode", "text", "extract", "total"}
    assert figures["lines_per_page"]["p50"] == 6
    assert figures["peak_rss_mb"] > 0


def test_it_refuses_a_source_without_documents(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no documents"):
        benchmark(str(tmp_path))


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.5) == 3.0
    assert percentile([0.0, 10.0], 0.95) == pytest.approx(9.5)
    assert percentile([7.0], 0.95) == 7.0


def test_it_refuses_page_type_options_beside_a_source(folder: Path) -> None:
    with pytest.raises(CommandError, match="leave out the source"):
        benchmark(str(folder), "--types", "receipt")


@pytest.mark.integration
@pytest.mark.skipif(not DATASETS.is_dir(), reason="dev datasets not present")
def test_without_a_source_it_prints_each_page_type_with_its_error_rate(
    tmp_path: Path, settings: SettingsWrapper
) -> None:
    # Where the tests found the datasets, wherever the checkout is.
    settings.VOUCH_DATASETS = str(DATASETS)
    report = tmp_path / "types.json"

    output = benchmark(
        "--types",
        "receipt",
        "--limit",
        "1",
        "--engine",
        "pipeline.ocr.onnx.OnnxOcrEngine",
        "--json",
        str(report),
    )

    figures = json.loads(report.read_text())
    receipt = figures["types"]["receipt"]
    assert receipt["pages"] == 1
    # Measured on this receipt: CER 0.03; a broken box matcher gives 0.5+.
    assert receipt["cer"] < 0.15
    assert {"det", "rec", "ocr", "cpu"} <= set(receipt["seconds_per_page"])
    assert figures["peak_rss_mb"] > 0
    (row,) = [line for line in output.splitlines() if line.startswith("receipt")]
    assert f"{receipt['cer']:.3f}" in row
