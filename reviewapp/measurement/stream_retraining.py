"""Retraining during a replay, as production runs it: after every N approved
documents a candidate scorer is trained on the base training set plus the
approved documents (one in five held back), judged by the same gate as
`extractor_retrain`, and reads the next documents only if the gate promotes it.

The base training set shipped with Vouch holds every dev document. A replay
of one of those manifests would then be read by a model that had already seen
its labels, so the replayed documents are dropped from the base set, and the
replay starts from a model trained without them: no document is read by a
model trained on it before it was approved in the stream.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.extract.base_training import read_base_training
from pipeline.extract.scorer import ScoredExtractor, ScorerModel, scorer_from_json
from pipeline.extract.scorer_gate import CORRECTIONS_SOURCE, judge
from pipeline.extract.scorer_training import LabelledDocument, train
from pipeline.types import PageText
from reviewapp.learning.extractor_versions import is_held_back


def base_without(
    documents: Sequence[LabelledDocument], replayed: Collection[str]
) -> list[LabelledDocument]:
    """The base documents that are none of the replayed ones, whichever
    manifest (and text source) they came from: base ids are
    "<manifest folder>/<doc_id>"."""
    return [d for d in documents if d.doc_id.split("/", 1)[-1] not in replayed]


@dataclass
class StreamRetraining:
    every: int
    folds: int
    min_held_back: int
    base: list[LabelledDocument]
    live: dict[str, Any]  # the artefact reading documents now
    approved: list[LabelledDocument] = field(default_factory=list)
    history: list[str] = field(default_factory=list)

    @classmethod
    def start(
        cls, *, every: int, folds: int, min_held_back: int, replayed: Collection[str]
    ) -> StreamRetraining:
        base = base_without(read_base_training(), replayed)
        started = time.monotonic()
        live = train(base, folds=folds)
        retraining = cls(every, folds, min_held_back, base, live)
        retraining.history.append(
            f"start: a model trained on {len(base)} base documents without the "
            f"replayed ones ({time.monotonic() - started:.0f} s)"
        )
        return retraining

    @property
    def model(self) -> ScorerModel:
        return scorer_from_json(self.live)

    def extractor(self) -> ScoredExtractor:
        return ScoredExtractor(self.model)

    def approve(
        self,
        doc_id: str,
        pages: Sequence[PageText],
        labels: Mapping[str, str],
        *,
        vendor: str,
    ) -> bool:
        """Keep an approved document as a correction; every `every` of them,
        retrain. True when a new version was promoted and now reads."""
        if not labels:
            return False
        self.approved.append(
            LabelledDocument(
                f"corrections/{doc_id}",
                CORRECTIONS_SOURCE,
                tuple(pages),
                dict(labels),
                vendor=vendor,
            )
        )
        if len(self.approved) % self.every:
            return False
        return self.retrain()

    def retrain(self) -> bool:
        held_back = [d for d in self.approved if is_held_back(d)]
        used = [d for d in self.approved if not is_held_back(d)]
        started = time.monotonic()
        candidate = train([*self.base, *used], folds=self.folds)
        decision = judge(
            self.live["scores"],
            self.model,
            candidate,
            held_back,
            min_held_back=self.min_held_back,
        )
        verdict = "promoted" if decision.promote else "kept the live version"
        worse = [c.reason() for c in decision.comparisons if c.worse]
        why = "; ".join([*decision.refusals, *worse][:2]) or "no field worse"
        self.history.append(
            f"after {len(self.approved)} approved: trained on {len(self.base)} base "
            f"+ {len(used)} corrected ({len(held_back)} held back) in "
            f"{time.monotonic() - started:.0f} s: {verdict} ({why})"
        )
        if decision.promote:
            self.live = candidate
        return decision.promote
