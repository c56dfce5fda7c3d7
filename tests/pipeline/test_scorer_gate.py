"""The promotion gate: no field may read worse beyond noise on any slice."""

from __future__ import annotations

import pytest

from pipeline.extract.scorer_gate import (
    compare,
    cross_validated_counts,
    decide,
    noise_margin,
)


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
