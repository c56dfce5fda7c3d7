from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from pipeline.extract.calibration_fit import expected_calibration_error
from pipeline.ocr.recorded import RecordedOcrEngine, page_text_from_boxes
from reviewapp.extraction_fields import auto_accept_support, auto_accept_threshold
from reviewapp.measurement.scoring import manifest_labels
from tests.conftest import DATASETS, SROIE

ZUGFERD = DATASETS / "zugferd-corpus"
SROIE_TEXT = DATASETS / "sroie-train-ocr-text"


def manifest_entry(folder: Path, doc_id: str) -> dict[str, Any]:
    """A dataset's manifest entry with its paths made absolute, so a manifest in
    tmp_path can point at the dataset without copying it."""
    with (folder / "manifest.jsonl").open(encoding="utf-8") as manifest:
        for row in manifest:
            entry = json.loads(row)
            if entry["doc_id"] == doc_id:
                for key in ("file", "ocr_boxes_file"):
                    if entry.get(key):
                        entry[key] = str(folder / entry[key])
                return entry
    raise LookupError(doc_id)


def evaluate(*args: str) -> str:
    out = StringIO()
    call_command("evaluate", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def table_rows(output: str, doc_type: str) -> dict[str, list[str]]:
    """The rows of one document type's table, by field name."""
    section = output.split(f"\n{doc_type}: ", 1)[1].split("\n\n", 1)[0]
    rows = section.splitlines()[2:]  # after the summary line and the header
    parsed = {}
    for row in rows:
        name, _, figures = row.partition("  ")
        parsed[name.strip()] = figures.split()
    return parsed


# A specimen whose IBAN and VAT id pass their check digits, so every field
# it labels can be auto-accepted.
ZUGFERD_ID = (
    "ZUGFeRDv2__correct__symtrax__Beispiele__EN16931__"
    "zugferd_2p1_EN16931_Physiotherapeut"
)


@pytest.fixture
def manifest(tmp_path: Path, recorded_ocr: type[RecordedOcrEngine]) -> Path:
    """Two real receipts (one image with recorded OCR, one text-only), a real
    ZUGFeRD invoice twice (once with a deliberately wrong invoice number and
    total), and an entry whose file does not exist."""
    receipt = manifest_entry(SROIE, "X00016469620")
    recorded = page_text_from_boxes(Path(receipt["ocr_boxes_file"]).read_text())
    recorded_ocr.record(receipt["width"], receipt["height"], recorded.lines)
    wrong_receipt = {
        **receipt,
        "doc_id": "receipt-wrong-total",
        "labels": {**receipt["labels"], "total_amount": "99.99"},
    }
    text_only = manifest_entry(SROIE_TEXT, "sroie-train-000")
    invoice = manifest_entry(ZUGFERD, ZUGFERD_ID)
    wrong_invoice = {
        **invoice,
        "doc_id": "invoice-wrong-number",
        "labels": {**invoice["labels"], "invoice_number": "R18-99"},
    }
    missing = {
        "file": "nowhere.pdf",
        "doc_id": "missing",
        "doc_type": "invoice",
        "labels": {"invoice_number": "X-1", "currency": "EUR"},
    }
    path = tmp_path / "manifest.jsonl"
    path.write_text(
        "\n".join(
            json.dumps(entry)
            for entry in (
                receipt,
                wrong_receipt,
                text_only,
                invoice,
                wrong_invoice,
                missing,
            )
        )
        + "\n"
    )
    return path


def test_it_prints_per_type_tables_and_counts_a_wrong_label_as_an_error(
    manifest: Path, tmp_path: Path
) -> None:
    report_path = tmp_path / "report.json"

    output = evaluate(str(manifest), "--json", str(report_path))

    assert "OCR engine   recorded 1" in output
    assert "receipt: 3 documents (0 failed), 3 pages" in output
    receipt = table_rows(output, "receipt")
    # n found exact% fuzzy% auto% err|auto% ECE
    assert receipt["total_amount"][:3] == ["3", "3", "66.7"]
    assert receipt["invoice_date"][:4] == ["3", "3", "100.0", "100.0"]
    # The recorded OCR reads "MR D.T.Y." for "MR D.I.Y.": fuzzy, not exact.
    vendor = receipt["vendor_name"]
    assert float(vendor[3]) > float(vendor[2])

    assert "invoice: 3 documents (1 failed)" in output
    invoice = table_rows(output, "invoice")
    # XML fields are auto-accepted at confidence 1.0, so the wrong label is an
    # error among auto-accepted values: 1 of the 2 that were read.
    number = ["3", "2", "33.3", "33.3", "66.7", "50.0", "0.500"]
    assert invoice["invoice_number"][:7] == number
    # The threshold in force and the held-out values it was chosen on.
    threshold, support = invoice["invoice_number"][7:]
    assert threshold == f"{auto_accept_threshold('invoice_number'):.3f}"
    assert support == str(auto_accept_support("invoice_number") or "-")
    assert invoice["currency"][:6] == ["3", "2", "66.7", "66.7", "66.7", "0.0"]
    assert "touchless 1/3" in output.split("\ninvoice: ", 1)[1].splitlines()[0]
    assert "  missing: could not read the file" in output

    report = json.loads(report_path.read_text())["manifests"][0]
    documents = {d["doc_id"]: d for d in report["documents"]}
    wrong_total = next(
        f for f in documents["receipt-wrong-total"]["fields"]
        if f["name"] == "total_amount"
    )  # fmt: skip
    assert (wrong_total["label"], wrong_total["predicted"]) == ("99.99", "33.90")
    assert wrong_total["exact"] is False
    assert documents["receipt-wrong-total"]["touchless"] is False
    assert documents["sroie-train-000"]["text_sources"] == ["recorded"]
    assert documents[ZUGFERD_ID]["text_sources"] == ["pdf_text", "xml"]
    assert documents[ZUGFERD_ID]["touchless"] is True
    assert documents["X00016469620"]["text_sources"] == ["ocr"]
    assert report["unevaluated_labels"] == ["amount_due"]
    pooled = report["summary"]["invoice"]["all_fields"]
    assert pooled["labelled"] == sum(
        len(documents[d]["fields"])
        for d in (ZUGFERD_ID, "invoice-wrong-number", "missing")
    )


def test_ocr_only_ignores_the_xml_and_the_text_layer(
    manifest: Path, tmp_path: Path
) -> None:
    report_path = tmp_path / "report.json"

    evaluate(str(manifest), "--ocr-only", "--limit", "4", "--json", str(report_path))

    report = json.loads(report_path.read_text())["manifests"][0]
    assert report["limit"] == 4
    documents = {d["doc_id"]: d for d in report["documents"]}
    assert set(documents) == {
        "X00016469620",
        "receipt-wrong-total",
        "sroie-train-000",
        ZUGFERD_ID,
    }
    invoice = documents[ZUGFERD_ID]
    # Pages were rendered and given to the (recorded, here silent) OCR engine.
    assert invoice["text_sources"] == ["ocr"]
    assert all(
        f["explanation"] != "from the embedded Factur-X XML" for f in invoice["fields"]
    )


def test_labels_are_normalised_like_extracted_values() -> None:
    labels, not_extracted, unreadable = manifest_labels(
        {
            "labels": {
                "total_amount": "1,234.50",
                "address": "  12  Main   St ",
                "iban": "de89 3704 0044 0532 0130 00",
                "flight_from": "2019-12-30",
                "invoice_date": "31/02/2018",
            }
        }
    )
    assert labels == {
        "total_amount": "1234.50",
        "vendor_address": "12 Main St",
        "iban": "DE89370400440532013000",
    }
    assert not_extracted == ["flight_from"]
    assert unreadable == ["invoice_date=31/02/2018"]


def test_sroie_raw_labels_stand_in_when_an_entry_has_no_labels() -> None:
    labels, _, _ = manifest_labels(
        {"raw_labels": {"company": "ABC SDN BHD", "date": "25/12/2018", "total": "9"}}
    )
    assert labels == {
        "vendor_name": "ABC SDN BHD",
        "invoice_date": "2018-12-25",
        "total_amount": "9.00",
    }


def test_calibration_error_is_the_weighted_gap_between_confidence_and_accuracy() -> (
    None
):
    assert expected_calibration_error([]) is None
    calibrated = [(0.85, True)] * 17 + [(0.85, False)] * 3
    assert expected_calibration_error(calibrated) == pytest.approx(0.0)
    # Bins 0.9-1.0 (confidence 1.0, accuracy 0) and 0.5-0.6 (0.55 vs 1).
    overconfident = [(1.0, False), (0.55, True)]
    assert expected_calibration_error(overconfident) == pytest.approx(0.725)


def test_it_refuses_a_missing_manifest_and_a_bad_limit(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="is not a manifest file"):
        evaluate(str(tmp_path / "absent.jsonl"))
    (tmp_path / "m.jsonl").write_text("{not json\n")
    with pytest.raises(CommandError, match=r"m\.jsonl:1 is not JSON"):
        evaluate(str(tmp_path / "m.jsonl"))
    with pytest.raises(CommandError, match="--limit must be at least 1"):
        evaluate(str(tmp_path / "m.jsonl"), "--limit", "0")


def test_cross_validation_rescores_every_value_without_its_own_fold(
    tmp_path: Path,
) -> None:
    report_path = tmp_path / "report.json"

    output = evaluate(
        str(SROIE_TEXT / "manifest.jsonl"),
        "--limit",
        "45",
        "--cross-validate",
        "3",
        "--json",
        str(report_path),
    )

    assert "confidences 3-fold cross-validated" in output
    report = json.loads(report_path.read_text())["manifests"][0]
    totals = [
        f
        for d in report["documents"]
        for f in d["fields"]
        if f["name"] == "total_amount"
    ]
    # Each value keeps the evidence and the confidence before it (what the
    # calibration is fitted on), and is judged by its fold's threshold.
    assert all(f["finder_confidence"] is not None for f in totals)
    assert any(f["evidence"] for f in totals)
    for f in totals:
        assert f["auto_accepted"] == (f["confidence"] >= f["threshold"])
    # 30 training documents (120 values of all fields together) cannot show
    # 1 % error at the bound: no fold gets a threshold below 1.0 from so few.
    assert {f["threshold"] for f in totals} == {1.0}
    summary = report["summary"]["receipt"]["fields"]["total_amount"]
    assert summary["auto_accepted"] == 0.0
    assert summary["threshold_samples"] <= 120


def test_synthetic_reports_join_every_fold_s_training_and_are_never_scored(
    tmp_path: Path,
) -> None:
    call_command(
        "generate_invoices",
        "--count",
        "30",
        "--no-scans",
        "--output",
        str(tmp_path / "synthetic"),
        stdout=StringIO(),
    )
    synthetic = tmp_path / "synthetic.json"
    evaluate(str(tmp_path / "synthetic" / "manifest.jsonl"), "--json", str(synthetic))
    with pytest.raises(CommandError, match="need --cross-validate"):
        evaluate(str(SROIE_TEXT / "manifest.jsonl"), "--train-only", str(synthetic))
    report_path = tmp_path / "report.json"

    output = evaluate(
        str(SROIE_TEXT / "manifest.jsonl"),
        "--limit",
        "30",
        "--cross-validate",
        "3",
        "--train-only",
        str(synthetic),
        "--json",
        str(report_path),
    )

    assert "train-only values)" in output
    manifests = json.loads(report_path.read_text())["manifests"]
    assert [Path(m["manifest"]).parent for m in manifests] == [SROIE_TEXT]
    assert len(manifests[0]["documents"]) == 30


def text_manifest(path: Path, doc_ids: list[str]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    rows = [json.dumps(manifest_entry(SROIE_TEXT, doc_id)) for doc_id in doc_ids]
    (path / "manifest.jsonl").write_text("\n".join(rows) + "\n")
    return path / "manifest.jsonl"


GARDENIA_HISTORY = ["sroie-train-329", "sroie-train-333"]
GARDENIA_SCORED = ["sroie-train-334", "sroie-train-336"]


def test_history_is_approved_before_scoring_and_reported_as_warm(
    tmp_path: Path,
) -> None:
    history = text_manifest(tmp_path / "history", GARDENIA_HISTORY)
    scored = text_manifest(tmp_path / "scored", GARDENIA_SCORED)
    cold, warm = tmp_path / "cold.json", tmp_path / "warm.json"
    evaluate(str(scored), "--json", str(cold))
    output = evaluate(str(scored), "--history", str(history), "--json", str(warm))
    assert "warm: 2 approved documents of history as history (1 vendors" in output

    def explanations(report: Path) -> list[str]:
        documents = json.loads(report.read_text())["manifests"][0]["documents"]
        return [
            f["explanation"]
            for d in documents
            for f in d["fields"]
            if f["name"] in ("vendor_name", "vendor_address")
        ]

    assert not any(e.startswith("from confirmed vendors") for e in explanations(cold))
    warm_explanations = explanations(warm)
    assert len(warm_explanations) == 4
    assert all(e.startswith("from confirmed vendors") for e in warm_explanations)
    documents = json.loads(warm.read_text())["manifests"][0]["documents"]
    assert all(
        f["exact"] for d in documents for f in d["fields"] if "vendor" in f["name"]
    )


def test_a_scored_manifest_is_never_its_own_history(tmp_path: Path) -> None:
    scored = text_manifest(tmp_path / "scored", GARDENIA_SCORED)
    with pytest.raises(CommandError, match="cannot be its own history"):
        evaluate(str(scored), "--history", str(scored))


def test_replay_counts_corrections_by_a_vendor_s_nth_document(tmp_path: Path) -> None:
    stream = text_manifest(
        tmp_path / "stream", [*GARDENIA_HISTORY, *GARDENIA_SCORED, "sroie-train-000"]
    )
    out = StringIO()
    call_command("replay", str(stream), stdout=out, stderr=StringIO())
    text = out.getvalue()
    assert text.startswith("5 documents, 2 vendors, 1 with several documents")
    rows = {line.split()[0]: line.split() for line in text.splitlines() if line}
    assert rows["1st"][1] == "1" and rows["2nd"][1] == "1" and rows["3rd"][1] == "1"
    assert rows["2nd-on"][1] == "3" and "from a vendor's 2nd document on" in text
    assert "documents    1-5" in text


def test_train_only_values_of_fields_the_calibration_refused_are_left_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pipeline.extract.calibration import Calibration, CalibrationError
    from reviewapp.measurement.management.commands import evaluate as command

    refused = {"evidence": {"synthetic_refused": {"currency": {}}}}
    monkeypatch.setattr(
        command,
        "load_calibration",
        lambda: Calibration(fields={}, thresholds={}, summary=refused),
    )
    assert command.synthetic_refused() == {"currency"}

    def unusable() -> Calibration:
        raise CalibrationError("gone")

    monkeypatch.setattr(command, "load_calibration", unusable)
    assert command.synthetic_refused() == set()


def test_replay_retrains_behind_the_gate_without_the_replayed_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    """`--retrain-every N` retrains as production does, on a base set that
    holds none of the replayed documents (the shipped one holds every dev
    document, so the replay would otherwise be read by a model that had seen
    its labels)."""
    from pipeline.extract.scorer_training import load_documents
    from reviewapp.measurement import stream_retraining

    replayed = [*GARDENIA_HISTORY, *GARDENIA_SCORED]
    recorded, _ = load_documents([SROIE_TEXT / "manifest.jsonl"])
    small_base = [d for d in recorded if d.doc_id.split("/")[-1] in replayed] + [
        d for d in recorded if d.doc_id.split("/")[-1] not in replayed
    ][:20]
    monkeypatch.setattr(stream_retraining, "read_base_training", lambda: small_base)
    trained_on: list[set[str]] = []
    train = stream_retraining.train

    def recording_train(documents: Any, **options: Any) -> Any:
        trained_on.append({d.doc_id for d in documents})
        return train(documents, **options)

    monkeypatch.setattr(stream_retraining, "train", recording_train)
    settings.VOUCH_GATE_MIN_HELD_BACK = 30
    stream = text_manifest(tmp_path / "stream", replayed)
    out = StringIO()
    call_command(
        "replay",
        str(stream),
        "--retrain-every",
        "2",
        "--retrain-folds",
        "3",
        stdout=out,
        stderr=StringIO(),
    )
    text = out.getvalue()
    assert "Retraining every 2 approved documents" in text
    assert "start: a model trained on 20 base documents without the replayed" in text
    assert "after 2 approved: trained on 20 base + " in text
    assert "after 4 approved: trained on 20 base + " in text
    # Four approved documents cannot show a change from noise: the gate says
    # so and the live version keeps reading.
    assert "kept the live version (not judged:" in text
    # The start model saw no replayed document; each retrain only the ones
    # approved before it, as corrections.
    assert len(trained_on) == 3
    assert not any(f"sroie-train-ocr-text/{d}" in trained_on[0] for d in replayed)
    corrections = [
        {i for i in ids if i.startswith("corrections/")} for ids in trained_on
    ]
    assert corrections[0] == set()
    assert corrections[1] <= {f"corrections/{d}" for d in replayed[:2]}
    assert corrections[2] <= {f"corrections/{d}" for d in replayed}
