"""The promotion gate: no field may read worse beyond noise on any slice."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from pipeline.extract.scorer import (
    MODEL_PATH,
    ScorerModel,
    content_hash,
    scorer_from_json,
)
from pipeline.extract.scorer_gate import (
    HELD_BACK,
    MIN_HELD_BACK,
    MIN_VENDOR_DOCUMENTS,
    compare,
    cross_validated_counts,
    decide,
    held_back_slices,
    noise_margin,
    vendor_of,
)
from pipeline.extract.scorer_training import fields_read_right, load_documents
from tests.conftest import DATASETS


def counts(**fields: tuple[int, int]) -> dict[str, dict[str, int]]:
    return {name: {"right": r, "labelled": n} for name, (r, n) in fields.items()}


def test_noise_shrinks_with_more_documents_and_never_below_one_document() -> None:
    assert noise_margin(0.9, 0.9, 10) > noise_margin(0.9, 0.9, 1000)
    assert noise_margin(1.0, 1.0, 50) == pytest.approx(1 / 50)
    assert noise_margin(0.5, 0.5, 100) == pytest.approx(2 * 0.05 + 0.01)


def test_a_better_candidate_is_promoted() -> None:
    live = counts(vendor_name=(40, 100), total_amount=(90, 100))
    new = counts(vendor_name=(70, 100), total_amount=(90, 100))
    decision = decide({"held-back corrections": (live, new)})
    assert decision.promote
    assert any("vendor_name 70.0% vs live 40.0%" in r for r in decision.reasons)


def test_a_candidate_worse_on_one_field_is_refused_whatever_else_improves() -> None:
    live = counts(vendor_name=(40, 100), total_amount=(95, 100))
    new = counts(vendor_name=(90, 100), total_amount=(80, 100))
    decision = decide({"dev": (live, new)})
    assert not decision.promote
    worse = [c for c in decision.comparisons if c.worse]
    assert [c.field for c in worse] == ["total_amount"]
    assert "worse beyond noise" in worse[0].reason()


def test_a_drop_within_noise_is_not_a_regression() -> None:
    live = counts(invoice_date=(96, 100))
    new = counts(invoice_date=(94, 100))
    assert decide({"dev": (live, new)}).promote


def test_any_slice_can_refuse() -> None:
    same = counts(vendor_name=(50, 100))
    decision = decide(
        {
            "dev": (same, same),
            "held-back corrections": (
                counts(vendor_name=(10, 10)),
                counts(vendor_name=(2, 10)),
            ),
        }
    )
    assert not decision.promote


def test_fields_measured_on_different_documents_are_not_compared() -> None:
    assert (
        compare("dev", counts(total_amount=(9, 10)), counts(total_amount=(5, 8))) == []
    )


def test_a_candidate_that_could_not_be_compared_is_refused() -> None:
    decision = decide({"dev": (counts(total_amount=(9, 10)), {})})
    assert not decision.promote
    assert decision.reasons == [
        "no field was measured on the same documents for both versions"
    ]


def test_cross_validated_counts_follow_what_the_extractor_reads() -> None:
    scores = {
        "vendor_name": {
            "by_source": {
                "a": {"documents": 10, "effective": 0.8},
                "b": {"documents": 5, "effective": 0.4},
            },
        },
        "total_amount": {"by_source": {"a": {"documents": 10, "effective": 0.9}}},
    }
    assert cross_validated_counts(scores, {"a"}) == counts(
        vendor_name=(8, 10), total_amount=(9, 10)
    )
    assert cross_validated_counts(scores)["vendor_name"] == {
        "right": 10,
        "labelled": 15,
    }


def test_too_few_held_back_documents_are_not_judged_and_it_says_so() -> None:
    better = counts(vendor_name=(3, 3))
    decision = decide(
        {HELD_BACK: (counts(vendor_name=(1, 3)), better)}, held_back_documents=3
    )
    assert not decision.promote
    assert decision.reasons[0].startswith(
        f"not judged: 3 held-back corrected documents; at least {MIN_HELD_BACK} "
    )
    enough = decide(
        {HELD_BACK: (counts(vendor_name=(20, 40)), counts(vendor_name=(30, 40)))},
        held_back_documents=40,
    )
    assert enough.promote and not enough.refusals


def _with_coefficient(
    artefact: dict[str, Any], field: str, feature: str, value: float
) -> ScorerModel:
    changed = copy.deepcopy(artefact)
    model = changed["fields"][field]
    model["coefficients"][model["features"].index(feature)] = value
    changed["content_hash"] = content_hash(changed)
    return scorer_from_json(changed)


def test_the_gate_refuses_a_candidate_that_harms_one_vendor() -> None:
    """Real receipts, the shipped model as the live version, and a candidate
    that learned to distrust names printed glued together ("UNIHAKKA
    INTERNATIONAL SDN BHD" is printed so). Over all held-back documents the
    loss is within noise; for that vendor it is not, and the gate refuses."""
    documents, _ = load_documents([DATASETS / "sroie-train-ocr-text/manifest.jsonl"])
    artefact = json.loads(MODEL_PATH.read_text())
    live = scorer_from_json(artefact)
    candidate = _with_coefficient(artefact, "vendor_name", "glued", -8.0)
    harmed = "unihakkainternationalsdnbhd"
    others = [d for d in documents if vendor_of(d) != harmed][:80]
    live_read = fields_read_right(live, others)
    new_read = fields_read_right(candidate, others)
    unharmed = [
        d for d, a, b in zip(others, live_read, new_read, strict=True) if a == b
    ][:60]
    held_back = [d for d in documents if vendor_of(d) == harmed][:3] + unharmed
    assert len(held_back) >= MIN_HELD_BACK

    slices = held_back_slices(live, candidate, held_back)
    decision = decide(slices, held_back_documents=len(held_back))

    assert not decision.promote
    worse = [c for c in decision.comparisons if c.worse]
    assert [(c.slice, c.field) for c in worse] == [
        (f"{HELD_BACK}, vendor {harmed}", "vendor_name")
    ]
    overall = next(
        c
        for c in decision.comparisons
        if c.slice == HELD_BACK and c.field == "vendor_name"
    )
    assert overall.new_rate < overall.live_rate and not overall.worse
    # Vendors with fewer held-back documents than the minimum get no slice.
    assert all(
        sum(vendor_of(d) == s.rsplit(" ", 1)[-1] for d in held_back)
        >= MIN_VENDOR_DOCUMENTS
        for s in slices
        if s != HELD_BACK
    )
