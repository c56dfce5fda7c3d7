"""The promotion gate: a newly trained extractor replaces the live one only if
no field reads worse beyond noise, on any evaluation slice.

Noise, for one field on one slice of n documents where the live version reads
a share p_live right and the candidate p_new: two binomial standard errors of
the pooled rate, sqrt(p(1 - p) / n) with p = (p_live + p_new) / 2, plus one
document (1 / n), so that on a small slice a single document flipping is never
called a regression. A field is worse beyond noise when
p_new < p_live - noise. A field a slice does not label is not judged there.

The held-back corrections are judged only when there are enough of them for
that margin to mean something (MIN_HELD_BACK; fewer, and the gate refuses to
judge and says so), as a whole and per vendor with at least
MIN_VENDOR_DOCUMENTS of them: a candidate that reads one vendor worse beyond
noise is refused even when it reads everyone else better, since that vendor's
invoices are the ones a finance team would then correct by hand.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.extract.scorer import (
    ScorerModel,
    scorer_from_json,
)
from pipeline.extract.scorer_training import (
    LabelledDocument,
    counts_of,
    fields_read_right,
)

Counts = Mapping[str, Mapping[str, int]]  # field -> {"right": n, "labelled": n}
HELD_BACK = "held-back corrections"
DEV_DATA = "dev data (cross-validated)"
# The scores' source for an installation's own corrections: judged on the
# held-back slice, never as dev data.
CORRECTIONS_SOURCE = "corrections"
# At 30 documents the noise margin of a 90 % field is about ±14 points; with
# fewer, a verdict says more about which documents were drawn than about the
# candidate.
MIN_HELD_BACK = 30
MIN_VENDOR_DOCUMENTS = 3


def noise_margin(live_rate: float, new_rate: float, documents: int) -> float:
    """How far below the live accuracy a candidate may fall by chance."""
    if documents <= 0:
        return 1.0
    pooled = (live_rate + new_rate) / 2
    return 2 * math.sqrt(pooled * (1 - pooled) / documents) + 1 / documents


@dataclass(frozen=True)
class FieldComparison:
    slice: str
    field: str
    documents: int
    live_rate: float
    new_rate: float
    noise: float

    @property
    def worse(self) -> bool:
        return self.new_rate < self.live_rate - self.noise

    def as_dict(self) -> dict[str, Any]:
        return {
            "slice": self.slice,
            "field": self.field,
            "documents": self.documents,
            "live": round(self.live_rate, 4),
            "candidate": round(self.new_rate, 4),
            "noise": round(self.noise, 4),
            "worse": self.worse,
        }

    def reason(self) -> str:
        verdict = "worse beyond noise" if self.worse else "within noise or better"
        return (
            f"{self.slice}: {self.field} {100 * self.new_rate:.1f}% vs live "
            f"{100 * self.live_rate:.1f}% on {self.documents} documents "
            f"(noise ±{100 * self.noise:.1f} points): {verdict}"
        )


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    comparisons: tuple[FieldComparison, ...]
    refusals: tuple[str, ...] = ()  # why the gate would not judge at all

    @property
    def reasons(self) -> list[str]:
        if not self.comparisons:
            return [
                *self.refusals,
                "no field was measured on the same documents for both versions",
            ]
        return [*self.refusals, *(c.reason() for c in self.comparisons)]


def compare(slice_name: str, live: Counts, new: Counts) -> list[FieldComparison]:
    """Per field both versions were measured on: the two accuracies and the
    noise margin. Both must have been measured on the same documents."""
    comparisons = []
    for name in sorted(set(live) & set(new)):
        documents = int(live[name]["labelled"])
        if documents == 0 or int(new[name]["labelled"]) != documents:
            continue
        live_rate = live[name]["right"] / documents
        new_rate = new[name]["right"] / documents
        comparisons.append(
            FieldComparison(
                slice_name,
                name,
                documents,
                live_rate,
                new_rate,
                noise_margin(live_rate, new_rate, documents),
            )
        )
    return comparisons


def decide(
    slices: Mapping[str, tuple[Counts, Counts]],
    *,
    held_back_documents: int | None = None,
    min_held_back: int = MIN_HELD_BACK,
) -> GateDecision:
    """Promote unless some field on some slice got worse beyond noise, or
    nothing could be compared at all (an unmeasured candidate never goes
    live), or `held_back_documents` (when given) are too few to judge by.
    `slices` maps a slice's name to (live counts, candidate counts)."""
    comparisons = [
        comparison
        for name, (live, new) in sorted(slices.items())
        for comparison in compare(name, live, new)
    ]
    refusals = []
    if held_back_documents is not None and held_back_documents < min_held_back:
        bound = 100 * noise_margin(0.9, 0.9, min_held_back)
        refusals.append(
            f"not judged: {held_back_documents} held-back corrected document"
            f"{'' if held_back_documents == 1 else 's'}; at least {min_held_back} "
            f"are needed to tell a change from noise (±{bound:.0f} points at 90%), "
            "so the live version stays"
        )
    promote = (
        not refusals and bool(comparisons) and not any(c.worse for c in comparisons)
    )
    return GateDecision(
        promote=promote, comparisons=tuple(comparisons), refusals=tuple(refusals)
    )


def vendor_of(document: LabelledDocument) -> str:
    """The vendor a document is grouped under: its recorded vendor, else its
    vendor label without case, spaces or marks."""
    return document.vendor or re.sub(
        r"[^0-9a-z]", "", document.labels.get("vendor_name", "").lower()
    )


def held_back_slices(
    live: ScorerModel | None,
    candidate: ScorerModel | None,
    documents: Sequence[LabelledDocument],
) -> dict[str, tuple[Counts, Counts]]:
    """The held-back documents as one slice, and one slice per vendor with at
    least MIN_VENDOR_DOCUMENTS of them, each as (live counts, candidate
    counts). Each document is read once per version."""
    if not documents:
        return {}
    live_read = fields_read_right(live, documents)
    new_read = fields_read_right(candidate, documents)
    slices: dict[str, tuple[Counts, Counts]] = {
        HELD_BACK: (counts_of(live_read), counts_of(new_read))
    }
    by_vendor: dict[str, list[int]] = defaultdict(list)
    for index, document in enumerate(documents):
        if vendor := vendor_of(document):
            by_vendor[vendor].append(index)
    for vendor, indexes in sorted(by_vendor.items()):
        if len(indexes) >= MIN_VENDOR_DOCUMENTS:
            slices[f"{HELD_BACK}, vendor {vendor}"] = (
                counts_of(live_read[i] for i in indexes),
                counts_of(new_read[i] for i in indexes),
            )
    return slices


def dev_data_sources(*scores: Mapping[str, Any]) -> set[str]:
    """The dev-data sources every one of these artefacts' scores cover."""
    covered = [
        {source for row in each.values() for source in row.get("by_source", {})}
        for each in scores
    ]
    return set.intersection(*covered) - {CORRECTIONS_SOURCE} if covered else set()


def dev_data_accuracy(scores: Mapping[str, Any]) -> dict[str, tuple[float, int]]:
    """Per field, the share a version reads right on its dev data (k-fold) and
    on how many documents: the very figure the gate puts beside a candidate's
    when this version is live, so the page and the gate never disagree."""
    return {
        name: (count["right"] / count["labelled"], count["labelled"])
        for name, count in cross_validated_counts(
            scores, dev_data_sources(scores)
        ).items()
    }


def cross_validated_counts(
    scores: Mapping[str, Any], sources: set[str] | None = None
) -> dict[str, dict[str, int]]:
    """An artefact's k-fold figures as counts per field, for the sources given
    (all when None): the accuracy of what the extractor reads ("effective":
    the scorer's pick on the document types it is used for, else the rules')."""
    counts: dict[str, dict[str, int]] = {}
    for name, row in scores.items():
        right = labelled = 0
        for source, part in row.get("by_source", {}).items():
            if sources is not None and source not in sources:
                continue
            labelled += int(part["documents"])
            right += round(float(part["effective"] or 0.0) * int(part["documents"]))
        if labelled:
            counts[name] = {"right": right, "labelled": labelled}
    return counts


def judge(
    live_scores: Mapping[str, Any],
    live_model: ScorerModel | None,
    candidate: Mapping[str, Any],
    held_back: Sequence[LabelledDocument],
    *,
    min_held_back: int = MIN_HELD_BACK,
) -> GateDecision:
    """The gate's verdict on a candidate artefact against the live version:
    both versions' cross-validated figures on the dev data they share, and
    both read on the held-back corrections, as a whole and per vendor. The
    one judgement retraining in production and the replay both use."""
    sources = dev_data_sources(live_scores, candidate["scores"])
    slices = {
        DEV_DATA: (
            cross_validated_counts(live_scores, sources),
            cross_validated_counts(candidate["scores"], sources),
        ),
    }
    slices.update(held_back_slices(live_model, scorer_from_json(candidate), held_back))
    return decide(
        slices, held_back_documents=len(held_back), min_held_back=min_held_back
    )
