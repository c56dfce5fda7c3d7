from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from pytest_django.fixtures import Settings as SettingsWrapper

from pipeline.extract.calibration import POOLED, load_calibration
from tests.conftest import DATASETS

SROIE_TEXT = DATASETS / "sroie-train-ocr-text" / "manifest.jsonl"
RAW = "pipeline.extract.heuristic.HeuristicExtractor"
CALIBRATED = "pipeline.extract.calibration.CalibratedExtractor"


def run(command: str, *args: str) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def evaluate_report(settings: SettingsWrapper, path: Path, extractor: str) -> Path:
    settings.VOUCH_EXTRACTOR = extractor
    run("evaluate", str(SROIE_TEXT), "--limit", "150", "--json", str(path))
    return path


def test_it_fits_an_artefact_from_raw_reports_and_prints_held_out_figures(
    settings: SettingsWrapper, tmp_path: Path
) -> None:
    report = evaluate_report(settings, tmp_path / "raw.json", RAW)
    output_path = tmp_path / "calibration.json"

    output = run(
        "calibrate_confidence",
        str(report),
        "--stage",
        "finder",
        "--folds",
        "3",
        "--output",
        str(output_path),
    )

    rows = {line.split()[0]: line.split() for line in output.splitlines()[2:] if line}
    # field n exact% ECE-raw ECE-cal auto% err|auto% threshold
    assert rows["total_amount"][1] == "150"
    documents = json.loads(report.read_text())["manifests"][0]["documents"]
    dates_read = sum(
        f["name"] == "invoice_date" and f["predicted"] is not None
        for d in documents
        for f in d["fields"]
    )
    assert int(rows["invoice_date"][1]) == dates_read  # only values read count
    calibration = load_calibration(output_path)
    assert set(calibration.fields) == {
        "invoice_date",
        "total_amount",
        "vendor_address",
        "vendor_name",
    }
    summary = calibration.summary
    assert summary["samples"] == sum(int(rows[name][1]) for name in calibration.fields)
    assert summary["sources"][0]["manifest"] == "sroie-train-ocr-text"
    # Printed to three places, kept whole in the artefact.
    threshold = summary["held_out"]["total_amount"]["threshold"]
    assert f"{threshold:.3f}" == rows["total_amount"][-1]


def test_it_refuses_reports_scored_with_calibrated_confidences(
    settings: SettingsWrapper, tmp_path: Path
) -> None:
    report = evaluate_report(settings, tmp_path / "calibrated.json", CALIBRATED)

    with pytest.raises(CommandError, match="calibrate on raw scores"):
        run(
            "calibrate_confidence",
            str(report),
            "--stage",
            "finder",
            "--output",
            str(tmp_path / "c.json"),
        )
    assert not (tmp_path / "c.json").exists()


def test_it_refuses_a_file_that_is_no_report(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text(json.dumps({"documents": []}))

    with pytest.raises(CommandError, match="is not an evaluate --json report"):
        run("calibrate_confidence", str(tmp_path / "x.json"))


def test_the_evidence_stage_is_fitted_on_product_reports_with_support_shown(
    tmp_path: Path,
) -> None:
    report = tmp_path / "product.json"
    run("evaluate", str(SROIE_TEXT), "--limit", "200", "--json", str(report))
    output_path = tmp_path / "calibration.json"

    output = run(
        "calibrate_confidence",
        str(report),
        "--folds",
        "3",
        "--output",
        str(output_path),
    )

    calibration = load_calibration(output_path)
    base = load_calibration()
    assert calibration.fields == base.fields  # the finder stage is kept
    assert "total_amount" in calibration.evidence
    support = calibration.threshold_support["total_amount"]
    # The total's own 200 held-out values, or every field's when it borrows
    # the pooled threshold.
    own = {"field": 200, "pooled": calibration.summary["evidence"]["samples"]}
    assert support["samples"] == own[support["basis"]]
    # Fields the reports never showed are never auto-accepted.
    assert calibration.thresholds["iban"] == 1.0
    assert "Held-out figures, 3-fold by document" in output
    row = next(line for line in output.splitlines() if line.startswith("total_amount"))
    assert row.split()[1] == f"{support['threshold']:.3f}"


def test_the_evidence_stage_refuses_raw_reports(
    settings: SettingsWrapper, tmp_path: Path
) -> None:
    report = evaluate_report(settings, tmp_path / "raw.json", RAW)

    with pytest.raises(CommandError, match="raw heuristic extractor"):
        run("calibrate_confidence", str(report), "--output", str(tmp_path / "c.json"))


def test_synthetic_reports_train_the_fit_but_every_printed_figure_is_real(
    tmp_path: Path,
) -> None:
    real = tmp_path / "real.json"
    run("evaluate", str(SROIE_TEXT), "--limit", "120", "--json", str(real))
    run(
        "generate_invoices",
        "--count",
        "40",
        "--no-scans",
        "--output",
        str(tmp_path / "synthetic"),
    )
    synthetic = tmp_path / "synthetic.json"
    run(
        "evaluate",
        str(tmp_path / "synthetic" / "manifest.jsonl"),
        "--json",
        str(synthetic),
    )
    output_path = tmp_path / "calibration.json"

    output = run(
        "calibrate_confidence",
        str(real),
        "--train-only",
        str(synthetic),
        "--folds",
        "3",
        "--output",
        str(output_path),
    )

    calibration = load_calibration(output_path)
    evidence = calibration.summary["evidence"]
    assert [s["train_only"] for s in evidence["sources"]] == [False, True]
    train_only = evidence["sources"][1]["samples"]
    assert evidence["train_only_samples"] == train_only > 0
    assert evidence["samples"] == evidence["sources"][0]["samples"] + train_only
    # The IBAN was read on synthetic invoices only: fitted, never scored, and
    # never auto-accepted without real values to confirm it.
    assert calibration.evidence[POOLED].samples == evidence["samples"]
    assert calibration.thresholds["iban"] == 1.0
    assert calibration.threshold_support["iban"]["samples"] == 0  # no real IBAN
    figures = output.split("Held-out figures")[1:]
    assert figures and all("\niban " not in f for f in figures)
    for scheme in evidence["held_out"]:
        assert "iban" not in scheme["fields"]
        assert scheme["fields"]["total_amount"]["values"] <= 120


def test_train_only_is_for_the_evidence_stage(tmp_path: Path) -> None:
    (tmp_path / "r.json").write_text(json.dumps({"manifests": []}))
    with pytest.raises(CommandError, match="evidence stage"):
        run(
            "calibrate_confidence",
            str(tmp_path / "r.json"),
            "--stage",
            "finder",
            "--train-only",
            str(tmp_path / "r.json"),
        )
