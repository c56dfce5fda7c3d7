"""The learned field scorer: candidates and features from recorded OCR, the
checked-in artefact, text repair, and confidence that means something on
documents the model never saw."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.extract.calibration import CalibratedExtractor
from pipeline.extract.calibration_fit import fold_of
from pipeline.extract.scorer import (
    MODEL_PATH,
    ScoredExtractor,
    ScorerError,
    content_hash,
    load_scorer,
    scorer_from_json,
)
from pipeline.extract.scorer_candidates import (
    SCORED_FIELDS,
    FieldCandidate,
    comparable,
    field_candidates,
)
from pipeline.extract.scorer_training import (
    LabelledDocument,
    build_vocabulary,
    load_documents,
    train,
)
from pipeline.extract.text_repair import (
    Respacer,
    tidy_punctuation,
)
from pipeline.ocr.recorded import page_text_from_boxes
from pipeline.types import Extraction, OcrLine, PageText
from tests.conftest import DATASETS, SROIE

BOXES = SROIE / "ocr_boxes" / "X00016469620.txt"
TRAIN_TEXT = DATASETS / "sroie-train-ocr-text" / "manifest.jsonl"
# As the recorded lines print it (the label says "D.I.Y.").
PRINTED_VENDOR = "MR D.T.Y. (JOHOR) SDN BHD"


def recorded_receipt() -> list:
    return [page_text_from_boxes(BOXES.read_text(encoding="utf-8"))]


def test_candidates_hold_the_labelled_values_with_their_features() -> None:
    pages = recorded_receipt()
    candidates = field_candidates(pages, CalibratedExtractor().extract(pages))
    assert set(candidates) == set(SCORED_FIELDS)
    values = {name: {c.value for c in found} for name, found in candidates.items()}
    assert PRINTED_VENDOR in values["vendor_name"]
    assert "2019-01-12" in values["invoice_date"]
    assert "33.90" in values["total_amount"]
    total = next(c for c in candidates["total_amount"] if c.value == "33.90")
    # The label on its row, its place on the page and the heuristic's verdict.
    assert total.features["total_label"] > 0
    assert 0 < total.features["row_share"] < 1
    assert total.features["heuristic_same"] == 1.0
    assert total.box[2] > total.box[0]
    vendor = next(c for c in candidates["vendor_name"] if c.value == PRINTED_VENDOR)
    assert vendor.features["strong_suffix_last"] == 1.0
    assert vendor.features["start_row"] < 0.5


def test_the_scored_extractor_reads_a_recorded_receipt() -> None:
    extraction = ScoredExtractor().extract(recorded_receipt())
    values = {f.name: f.value for f in extraction.fields}
    assert values["total_amount"] == "33.90"
    assert values["invoice_date"] == "2019-01-12"
    assert comparable("vendor_name", values["vendor_name"]) == comparable(
        "vendor_name", PRINTED_VENDOR
    )
    for value in extraction.fields:
        assert 0.0 <= value.confidence <= 1.0


def test_the_picked_vendor_is_repaired_and_its_raw_value_kept_as_read() -> None:
    line = OcrLine("SUN VICTORY SON BHD", 0.93, ((0, 0), (300, 0), (300, 20), (0, 20)))
    pages = [PageText(1, 300, 400, (line,), "ocr")]
    candidate = FieldCandidate(
        "vendor_name", line.text, 1, line.box, "1 row(s) from row 1", {}
    )
    extraction = ScoredExtractor().pick(
        pages, Extraction(), {"vendor_name": [candidate]}
    )
    vendor = next(f for f in extraction.fields if f.name == "vendor_name")
    assert (vendor.value, vendor.raw_value) == (
        "SUN VICTORY SDN BHD",
        "SUN VICTORY SON BHD",
    )


def test_the_checked_in_artefact_loads_and_its_hash_matches() -> None:
    data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    assert data["content_hash"] == content_hash(data)
    # The version names the model's content before the hash was added.
    unversioned = {
        k: v for k, v in data.items() if k not in ("version", "content_hash")
    }
    assert data["version"] == content_hash(unversioned)[:12]
    model = load_scorer(MODEL_PATH)
    assert set(model.fields) == set(SCORED_FIELDS)
    # Every field records the gate's verdict and its cross-validated figures.
    for name in SCORED_FIELDS:
        row = data["scores"][name]
        assert row["use_scorer"] == model.fields[name].use_scorer
        assert row["use_for"] == list(model.fields[name].use_for)
        assert 0 <= row["scorer_cv"] <= 1 and 0 <= row["heuristic"] <= 1
    assert data["training"]["documents"] > 500


def rehashed(data: dict) -> dict:
    data = {k: v for k, v in data.items() if k != "content_hash"}
    return {**data, "content_hash": content_hash(data)}


def test_the_scorer_reads_only_the_document_types_it_beat_the_rules_on() -> None:
    pages = recorded_receipt()
    data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    # A vendor model that picks the worst candidate, trusted for invoices only.
    vendor = data["fields"]["vendor_name"]
    vendor["coefficients"] = [-c for c in vendor["coefficients"]]
    vendor["use_scorer"], vendor["use_for"] = True, ["invoice"]
    rules = CalibratedExtractor().extract(pages).get("vendor_name")
    assert rules is not None
    on_invoices = ScoredExtractor(scorer_from_json(rehashed(data)))
    assert on_invoices.extract(pages).get("vendor_name") == rules
    vendor["use_for"] = ["receipt"]
    on_receipts = ScoredExtractor(scorer_from_json(rehashed(data)))
    picked = on_receipts.extract(pages).get("vendor_name")
    assert picked is not None and picked.value != rules.value
    assert picked.explanation.startswith("learned scorer")


def test_an_altered_artefact_is_refused(tmp_path: Path) -> None:
    data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    data["fields"]["vendor_name"]["intercept"] += 1.0
    altered = tmp_path / "scorer.json"
    altered.write_text(json.dumps(data))
    with pytest.raises(ScorerError, match="changed"):
        load_scorer(altered)
    with pytest.raises(ScorerError, match="not a vouch-field-scorer"):
        scorer_from_json({**data, "format": "something-else"})


def test_glued_ocr_text_gets_its_spaces_and_punctuation_back() -> None:
    respacer = Respacer({"JALAN": 40, "BESAR": 5, "JOHOR": 30, "BAHRU": 20})
    assert respacer.respace("NO.53,JALANBESAR,81200JOHORBAHRU") == (
        "NO.53,JALAN BESAR,81200 JOHOR BAHRU"
    )
    # A run it cannot split entirely is left as printed.
    assert respacer.respace("UNIHAKKAINTERNATIONAL") == "UNIHAKKAINTERNATIONAL"
    assert tidy_punctuation("12,JALAN TAMPOI，KAWASAN (X)") == (
        "12, JALAN TAMPOI, KAWASAN (X)"
    )
    assert tidy_punctuation("NO.53 55,57 & 59") == "NO.53 55,57 & 59"
    assert tidy_punctuation("D.I.Y.(JOHOR) SDN BHD") == "D.I.Y. (JOHOR) SDN BHD"


def test_the_vocabulary_keeps_words_of_more_than_one_document() -> None:
    page = page_text_from_boxes("")
    documents = [
        LabelledDocument("a", "s", (page,), {"vendor_address": "JALAN BESAR"}),
        LabelledDocument("a", "t", (page,), {"vendor_address": "JALAN KECIL"}),
        LabelledDocument("b", "s", (page,), {"vendor_name": "Jalan Sdn"}),
    ]
    assert build_vocabulary(documents) == {"JALAN": 2}


@pytest.fixture(scope="module")
def small_training() -> tuple[dict, list[LabelledDocument]]:
    """A model trained on 80 recorded receipts outside fold 0, and 30 fold-0
    receipts it never saw (a few seconds of training)."""
    documents, _ = load_documents([TRAIN_TEXT])
    seen = [d for d in documents if fold_of(d.doc_id, 5) != 0][:80]
    unseen = [d for d in documents if fold_of(d.doc_id, 5) == 0][:30]
    return train(seen, folds=2), unseen


def test_training_is_reproducible_and_summarised(
    small_training: tuple[dict, list[LabelledDocument]],
) -> None:
    artefact, _ = small_training
    assert artefact["training"]["documents"] == 80
    assert artefact["content_hash"] == content_hash(artefact)
    documents, _ = load_documents([TRAIN_TEXT])
    seen = [d for d in documents if fold_of(d.doc_id, 5) != 0][:80]
    assert train(seen, folds=2)["content_hash"] == artefact["content_hash"]


def test_confidence_rises_with_correctness_on_a_held_out_fold(
    small_training: tuple[dict, list[LabelledDocument]],
) -> None:
    artefact, unseen = small_training
    extractor = ScoredExtractor(scorer_from_json(artefact))
    outcomes: list[tuple[float, bool]] = []
    for document in unseen:
        extraction = extractor.extract(document.pages)
        for name, label in document.labels.items():
            found = extraction.get(name)
            if found is not None:
                right = comparable(name, found.value) == comparable(name, label)
                outcomes.append((found.confidence, right))
    outcomes.sort()
    half = len(outcomes) // 2
    low, high = outcomes[:half], outcomes[half:]
    low_accuracy = sum(right for _, right in low) / len(low)
    high_accuracy = sum(right for _, right in high) / len(high)
    assert high_accuracy >= low_accuracy
    assert high_accuracy >= 0.9
    wrong = [c for c, right in outcomes if not right]
    right = [c for c, ok in outcomes if ok]
    assert not wrong or sum(wrong) / len(wrong) < sum(right) / len(right)


def test_an_artefact_hashes_the_same_after_a_postgresql_round_trip() -> None:
    """jsonb has no negative zero and writes 1e+20 as an integer: a version
    stored in the database must still match the hash it was written with."""
    written = {"format": "x", "weights": [-0.0, 1e20, 0.1, 2.0], "n": 3}
    read_back = {"format": "x", "weights": [0.0, 10**20, 0.1, 2.0], "n": 3}
    assert content_hash(read_back) == content_hash(written)
    assert content_hash({**written, "n": 4}) != content_hash(written)
