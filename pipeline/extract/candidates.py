"""Candidates for a field's value, and how the best one and its confidence are
chosen; shared by every rule that proposes values."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.extract.layout import PlacedLine
from pipeline.extract.normalize import AmountMatch, find_amounts, find_dates
from pipeline.types import Box, FieldValue

# OCR reads "vom" as "V0M" too.
_GLUED_DATE = re.compile(r"(?i)(?<=\d)(?:v[o0]m|du|dated|date)(?=\d|$)")
_GLUED_TRAILING_DATE = re.compile(r"(?<=.)\d{1,2}[/.]\d{1,2}[/.]\d{2,4}$")
_GLUED_WORD = re.compile(r"(?<=\d)(?=[A-Z]{3,})")
_ID_TOKEN = re.compile(r"[A-Z0-9][A-Z0-9\-/_.]*[A-Z0-9]|[0-9]", re.IGNORECASE)


@dataclass(frozen=True)
class Candidate:
    """One possible value for a field and the evidence behind it."""

    value: str
    raw_value: str
    score: float  # 0..1, evidence strength before comparing with rivals
    placed: PlacedLine | None
    explanation: str
    box: Box | None = None  # when the value spans more than `placed`
    # Worked out from other printed amounts (a tax summary row's rate times its base)
    # rather than read: it may confirm the favourite total, never elect another.
    derived: bool = False


def choose(name: str, candidates: list[Candidate]) -> FieldValue | None:
    """The best candidate, with confidence reduced by rivals of another value."""
    if not candidates:
        return None
    by_value: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        by_value.setdefault(candidate.value, []).append(candidate)
    ranked = sorted(
        (
            (_supported_score(group), max(group, key=lambda c: c.score))
            for group in by_value.values()
        ),
        key=lambda item: item[0],
        reverse=True,
    )
    best_score, best = ranked[0]
    runner_up = ranked[1][0] if len(ranked) > 1 else 0.0
    # A rival at the same score halves confidence; a distant rival barely matters.
    margin = 1.0 - 0.5 * (runner_up / best_score if best_score > 0 else 1.0)
    ocr_confidence = best.placed.line.confidence if best.placed else 1.0
    confidence = max(0.0, min(1.0, min(best_score, 1.0) * margin * ocr_confidence))
    return FieldValue(
        name=name,
        raw_value=best.raw_value,
        value=best.value,
        confidence=round(confidence, 3),
        page_number=best.placed.page_number if best.placed else None,
        box=best.box or (best.placed.box if best.placed else None),
        explanation=best.explanation,
    )


def _supported_score(group: list[Candidate]) -> float:
    # The same value found by independent evidence is more believable, with
    # diminishing returns so repetition alone cannot beat a strong label.
    scores = sorted((c.score for c in group), reverse=True)
    return scores[0] + sum(0.05 * s for s in scores[1:3])


def amounts_in(text: str) -> list[AmountMatch]:
    """Amounts in a line, minus the digits of any date printed in it."""
    dates = find_dates(text)
    return [
        amount
        for amount in find_amounts(text)
        if not any(d.start < amount.end and amount.start < d.end for d in dates)
    ]


def id_token(text: str) -> str | None:
    """The identifier at the start of `text` (a number with letters, dashes,
    slashes or dots), or None when it has no digit."""
    stripped = text.strip().lstrip(":.#- ").strip()
    match = _ID_TOKEN.match(stripped)
    if match is None:
        return None
    # "471102vom05.03.2018", "2351512-202/09/20INVOICE", "2490850-1POL/...":
    # text pulled out without spaces glues the next field on.
    token = _GLUED_DATE.split(match.group(0))[0]
    token = _GLUED_WORD.split(token)[0]
    glued = _GLUED_TRAILING_DATE.search(token)
    if glued is not None and find_dates(glued.group(0)):
        token = token[: glued.start()].rstrip("-/.")
    if not any(ch.isdigit() for ch in token):
        return None
    return token
