"""Learned extraction: candidates for each field are generated from the OCR
layout, scored by a trained model and the best one is picked.

Candidates are spans of rows (vendor name, address), every printed date and
every printed amount. Each carries features from its text (patterns, company
suffixes, address words), its neighbourhood (labels on its row, the row above,
the row after it), its position on the page, a font-size proxy (box height
against the page's median) and the heuristic extractor's own verdict, so the
model can only add to the rules. Cross-field constraints take part too: an
address starts under the vendor's name, a total that equals subtotal + tax is
favoured, an invoice date after the due date is not.

The model is a logistic regression per field stored as plain JSON (weights,
feature standardisation, an isotonic confidence mapping fitted on out-of-fold
scores, and whether cross-validation showed it beats the heuristic: fields where
it does not keep the heuristic's pick). `pipeline/extract/scorer_training.py`
trains it; `manage.py train_extractor` writes `pipeline/models/field_scorer.json`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from pipeline.classify import classify
from pipeline.extract import invoice_fields, issue_date, total_amount, vendor_name
from pipeline.extract.calibration import CalibratedExtractor, FieldCalibration
from pipeline.extract.candidates import amounts_in
from pipeline.extract.evidence import FieldEvidence
from pipeline.extract.layout import PageLayout, PlacedLine, layout_pages
from pipeline.extract.normalize import find_dates, format_amount
from pipeline.types import Box, Extraction, FieldValue, PageText

MODEL_PATH = Path(__file__).resolve().parents[1] / "models" / "field_scorer.json"
FORMAT = "vouch-field-scorer/1"
SCORED_FIELDS = ("vendor_name", "vendor_address", "invoice_date", "total_amount")

# How far down the page and how long the spans of rows that are tried get.
_VENDOR_ROWS, _VENDOR_SPAN = 12, 3
_ADDRESS_ROWS, _ADDRESS_SPAN = 16, 6
_MAX_AMOUNT = Decimal(10) ** 9
_TIME = re.compile(r"\d{1,2}:\d{2}")
_POSTCODE = re.compile(r"(?<![\d-])\d{5}(?![\d-])")
_STATE = re.compile(
    r"(?i)(?:selangor|johor|kuala\s*lumpur|penang|pinang|melaka|perak|kedah|pahang"
    r"|sabah|sarawak|negeri\s*sembilan|darul\s*\w+|malaysia|w\.?p\.?)\W*$"
)


class ScorerError(ValueError):
    """The artefact is missing, malformed, of another format or altered."""


def comparable(field: str, value: str) -> str:
    """The form in which a candidate is compared with a label: amounts as
    numbers, text case-insensitive with whitespace collapsed."""
    if field == "total_amount":
        try:
            return str(Decimal(value).normalize())
        except InvalidOperation:
            return value
    return " ".join(value.split()).casefold()


@dataclass(frozen=True)
class FieldCandidate:
    """One possible value of a field, where it is printed and its features."""

    field: str
    value: str
    page_number: int
    box: Box
    explanation: str
    features: Mapping[str, float]


# --- repairing OCR'd text --------------------------------------------------------

_FULL_WIDTH = str.maketrans(
    {"，": ",", "（": "(", "）": ")", "：": ":", "；": ";", "．": "."}
)
_COMMA_BEFORE_TEXT = re.compile(r"\s*,(?!\d)\s*")
_OPEN_BRACKET = re.compile(r"(?<=[^\s(])\(")
_RUNS = re.compile(r"[A-Za-z]+|\d+|[^A-Za-z\d]+")
# Each extra word costs this much log-count: fewer, more common words win.
_WORD_PENALTY = 3.0


def tidy_punctuation(text: str) -> str:
    """Commas and brackets spaced the way receipts' typed strings space them:
    "12,JALAN X" -> "12, JALAN X" (a comma between digits stays); full-width
    punctuation becomes ASCII."""
    text = text.translate(_FULL_WIDTH)
    text = _COMMA_BEFORE_TEXT.sub(", ", text)
    text = _OPEN_BRACKET.sub(" (", text)
    return " ".join(text.split()).rstrip(", ")


class Respacer:
    """Puts back spaces OCR dropped between words ("JALANBESAR", "81200JOHOR"),
    splitting runs of letters into words of a vocabulary learned from labelled
    names and addresses; a run it cannot split entirely is left alone."""

    def __init__(self, vocabulary: Mapping[str, int]) -> None:
        self.vocabulary = {word.upper(): count for word, count in vocabulary.items()}
        self.longest = max((len(w) for w in self.vocabulary), default=0)

    def respace(self, text: str) -> str:
        if not self.vocabulary:
            return text
        out: list[str] = []
        for word in text.split():
            runs = _RUNS.findall(word)
            pieces: list[str] = []
            for index, run in enumerate(runs):
                if run.isalpha():
                    split = self._split(run)
                    glued_to_digit = (index > 0 and runs[index - 1].isdigit()) or (
                        index + 1 < len(runs) and runs[index + 1].isdigit()
                    )
                    if split is not None and (len(split) > 1 or glued_to_digit):
                        if index > 0 and runs[index - 1].isdigit():
                            pieces.append(" ")
                        pieces.append(" ".join(split))
                        if index + 1 < len(runs) and runs[index + 1].isdigit():
                            pieces.append(" ")
                        continue
                pieces.append(run)
            out.append("".join(pieces))
        return " ".join(" ".join(out).split())

    def _split(self, run: str) -> list[str] | None:
        upper = run.upper()
        if len(upper) < 3:
            return None
        if upper in self.vocabulary:
            return [run]
        best: list[tuple[float, int] | None] = [None] * (len(upper) + 1)
        best[0] = (0.0, 0)
        for end in range(2, len(upper) + 1):
            for start in range(max(0, end - self.longest), end - 1):
                previous = best[start]
                count = self.vocabulary.get(upper[start:end])
                if previous is None or count is None:
                    continue
                score = previous[0] + math.log(count) - _WORD_PENALTY
                if best[end] is None or score > best[end][0]:  # type: ignore[index]
                    best[end] = (score, start)
        if best[-1] is None:
            return None
        words: list[str] = []
        end = len(upper)
        while end > 0:
            start = best[end][1]  # type: ignore[index]
            words.append(run[start:end])
            end = start
        return words[::-1]


def _glued_share(text: str) -> float:
    """Share of the letters in runs too long to be one word: OCR dropped spaces."""
    letters = sum(ch.isalpha() for ch in text)
    glued = sum(len(run) for run in re.findall(r"[A-Za-z]{11,}", text))
    return glued / max(letters, 1)


def _repair_features(
    printed: str,
    text: str,
    flags: tuple[float, float],
    field_name: str,
    picked: FieldValue | None,
) -> dict[str, float]:
    """How a repaired variant differs from what was printed, and whether the
    printed text needed it; lets the model repair OCR'd text and leave typed
    text alone."""
    respaced, tidied = flags
    glued = _glued_share(printed)
    untidy = float(bool(re.search(r",\S|[，（）：]", printed)))
    return {
        "respaced": respaced,
        "tidied": tidied,
        "glued": glued,
        "respaced_glued": respaced * glued,
        "tidied_untidy": tidied * untidy,
        "words_added": (len(text.split()) - len(printed.split()))
        / max(len(printed.split()), 1),
        "heuristic_same_printed": _same(field_name, printed, picked),
    }


def text_variants(text: str, respacer: Respacer) -> dict[str, tuple[float, float]]:
    """The span's text as printed and repaired: text -> (respaced, tidied)."""
    joined = " ".join(text.split())
    respaced = respacer.respace(joined)
    variants: dict[str, tuple[float, float]] = {}
    for variant, flags in (
        (joined, (0.0, 0.0)),
        (tidy_punctuation(joined), (0.0, 1.0)),
        (respaced, (1.0, 0.0)),
        (tidy_punctuation(respaced), (1.0, 1.0)),
    ):
        variants.setdefault(variant, flags)
    return variants


# --- candidate generation ------------------------------------------------------


def field_candidates(
    pages: Sequence[PageText],
    heuristic_pick: Extraction,
    respacer: Respacer | None = None,
) -> dict[str, list[FieldCandidate]]:
    """Every candidate of every scored field, with its features. The
    heuristic's extraction of the same pages is an input: its picks are
    features, and its subtotal, tax and due date are the cross-field context.
    Names and addresses are also offered as repaired by `respacer`."""
    layouts = [layout for layout in layout_pages(pages) if layout.rows]
    if not layouts:
        return {name: [] for name in SCORED_FIELDS}
    first = layouts[0]
    respacer = respacer or Respacer({})
    return {
        "vendor_name": _vendor_candidates(first, heuristic_pick, respacer),
        "vendor_address": _address_candidates(first, heuristic_pick, respacer),
        "invoice_date": _date_candidates(layouts, heuristic_pick),
        "total_amount": _total_candidates(layouts, heuristic_pick),
    }


def _row_text(row: Sequence[PlacedLine]) -> str:
    return vendor_name.row_text(row)


def _median_height(layout: PageLayout) -> float:
    heights = sorted(p.height for p in layout.lines)
    return float(max(heights[len(heights) // 2], 1)) if heights else 1.0


def _span_box(rows: Sequence[Sequence[PlacedLine]]) -> Box:
    placed = [p for row in rows for p in row]
    return (
        min(p.box[0] for p in placed),
        min(p.box[1] for p in placed),
        max(p.box[2] for p in placed),
        max(p.box[3] for p in placed),
    )


def _same(field: str, value: str, picked: FieldValue | None) -> float:
    if picked is None:
        return 0.0
    return float(comparable(field, value) == comparable(field, picked.value))


def _overlap(field: str, value: str, picked: FieldValue | None) -> float:
    """Word overlap (Jaccard) with the heuristic's pick."""
    if picked is None:
        return 0.0
    ours = set(comparable(field, value).split())
    theirs = set(comparable(field, picked.value).split())
    return len(ours & theirs) / len(ours | theirs) if ours | theirs else 0.0


def _rows_of(layout: PageLayout, box: Box | None) -> tuple[int, int] | None:
    """The first and last row whose centre lies inside `box`."""
    if box is None:
        return None
    inside = [
        index
        for index, row in enumerate(layout.rows)
        if box[1] <= (row[0].box[1] + row[0].box[3]) / 2 <= box[3]
    ]
    return (inside[0], inside[-1]) if inside else None


def _layout_features(
    layout: PageLayout, rows: Sequence[Sequence[PlacedLine]], start: int
) -> dict[str, float]:
    box = _span_box(rows)
    width = max(layout.page.width, 1)
    height = max(p.height for row in rows for p in row)
    return {
        "start_row": min(start, 20) / 10,
        "top_row": float(start == 0),
        "span_rows": float(len(rows)),
        "font_size": math.log(height / _median_height(layout)),
        "width_share": (box[2] - box[0]) / width,
        "off_centre": abs((box[0] + box[2]) / 2 - width / 2) / width,
        "page_height_share": box[1] / max(layout.page.height, 1),
    }


def _text_features(text: str) -> dict[str, float]:
    letters = sum(ch.isalpha() for ch in text)
    return {
        "words": min(len(text.split()), 30) / 10,
        "digit_share": sum(ch.isdigit() for ch in text) / max(len(text), 1),
        "upper_share": sum(ch.isupper() for ch in text) / max(letters, 1),
    }


def _vendor_candidates(
    layout: PageLayout, picked: Extraction, respacer: Respacer
) -> list[FieldCandidate]:
    vendor = picked.get("vendor_name")
    rows = layout.rows
    texts = [_row_text(row) for row in rows]
    name_like = [vendor_name.is_name_like(text) for text in texts]
    address_like = [bool(vendor_name.ADDRESS_OR_CONTACT.search(t)) for t in texts]
    found: dict[str, FieldCandidate] = {}
    for start in range(min(_VENDOR_ROWS, len(rows))):
        for length in range(1, _VENDOR_SPAN + 1):
            end = start + length
            if end > len(rows):
                break
            span_texts = texts[start:end]
            joined = " ".join(span_texts)
            printed = {joined: 0.0, vendor_name.strip_registration(joined): 1.0}
            variants = {
                variant: (stripped, *flags)
                for text, stripped in printed.items()
                for variant, flags in text_variants(text, respacer).items()
            }
            for text, (stripped, respaced, tidied) in variants.items():
                if len(text) < 2 or comparable("vendor_name", text) in found:
                    continue
                source = vendor_name.strip_registration(joined) if stripped else joined
                features = {
                    **_repair_features(
                        source, text, (respaced, tidied), "vendor_name", vendor
                    ),
                    **_layout_features(layout, rows[start:end], start),
                    **_text_features(text),
                    "registration_stripped": stripped,
                    "strong_suffix_last": float(
                        bool(vendor_name.STRONG_SUFFIX.search(span_texts[-1]))
                    ),
                    "strong_suffix_first": float(
                        bool(vendor_name.STRONG_SUFFIX.search(span_texts[0]))
                    )
                    * float(length > 1),
                    "company_word": float(
                        bool(vendor_name.COMPANY_SUFFIX.search(joined))
                    ),
                    "all_name_like": float(all(name_like[start:end])),
                    "share_name_like": sum(name_like[start:end]) / length,
                    "address_inside": float(any(address_like[start:end])),
                    "title_inside": float(
                        any(vendor_name.DOCUMENT_TITLE.match(t) for t in span_texts)
                    ),
                    "next_address": float(end < len(rows) and address_like[end]),
                    "next_name_like": float(
                        end < len(rows) and name_like[end] and not address_like[end]
                    ),
                    "previous_name_like": float(start > 0 and name_like[start - 1]),
                    "heuristic_same": _same("vendor_name", text, vendor),
                    "heuristic_overlap": _overlap("vendor_name", text, vendor),
                }
                found[comparable("vendor_name", text)] = FieldCandidate(
                    "vendor_name",
                    text,
                    layout.page.page_number,
                    _span_box(rows[start:end]),
                    f"{length} row(s) from row {start + 1} of the page",
                    features,
                )
    return list(found.values())


def _address_candidates(
    layout: PageLayout, picked: Extraction, respacer: Respacer
) -> list[FieldCandidate]:
    vendor = picked.get("vendor_name")
    address = picked.get("vendor_address")
    vendor_rows = _rows_of(layout, vendor.box if vendor else None)
    rows = layout.rows
    texts = [
        " ".join(
            " ".join(invoice_fields._REGISTRATION_PREFIX.sub("", p.line.text).split())
            for p in row
        ).strip()
        for row in rows
    ]
    address_words = [bool(invoice_fields._ADDRESS_WORDS.search(t)) for t in texts]
    contact = [bool(invoice_fields._CONTACT_OR_ID.search(t)) for t in texts]
    company = [bool(invoice_fields._COMPANY.search(t)) for t in texts]
    money = [bool(invoice_fields._MONEY_LABEL.search(t)) for t in texts]
    found: dict[str, FieldCandidate] = {}
    for start in range(min(_ADDRESS_ROWS, len(rows))):
        for length in range(1, _ADDRESS_SPAN + 1):
            end = start + length
            if end > len(rows):
                break
            printed = " ".join(t for t in texts[start:end] if t)
            if len(printed) < 5:
                continue
            after_vendor = start - vendor_rows[1] if vendor_rows else 10
            span_features = {
                **_layout_features(layout, rows[start:end], start),
                "after_vendor": float(after_vendor == 1),
                "vendor_gap": max(min(after_vendor, 6), -3) / 3,
                "inside_vendor": float(
                    vendor_rows is not None and start <= vendor_rows[1]
                ),
                "share_address_words": sum(address_words[start:end]) / length,
                "first_address_words": float(address_words[start]),
                "last_address_words": float(address_words[end - 1]),
                "contact_inside": sum(contact[start:end]) / length,
                "company_inside": float(any(company[start:end])),
                "money_inside": float(any(money[start:end])),
                "date_inside": float(any(find_dates(t) for t in texts[start:end])),
                "postcode": float(bool(_POSTCODE.search(printed))),
                "postcode_last": float(bool(_POSTCODE.search(texts[end - 1]))),
                "state_last": float(bool(_STATE.search(texts[end - 1]))),
                "next_contact": float(end >= len(rows) or contact[end]),
                "next_address_words": float(end < len(rows) and address_words[end]),
                "previous_address_words": float(start > 0 and address_words[start - 1]),
                "previous_company": float(start > 0 and company[start - 1]),
            }
            for text, flags in text_variants(printed, respacer).items():
                key = comparable("vendor_address", text)
                if key in found:
                    continue
                found[key] = FieldCandidate(
                    "vendor_address",
                    text,
                    layout.page.page_number,
                    _span_box(rows[start:end]),
                    f"{length} row(s) from row {start + 1} of the page",
                    {
                        **span_features,
                        **_text_features(text),
                        **_repair_features(
                            printed, text, flags, "vendor_address", address
                        ),
                        "heuristic_same": _same("vendor_address", text, address),
                        "heuristic_overlap": _overlap("vendor_address", text, address),
                    },
                )
    return list(found.values())


def _date_candidates(
    layouts: list[PageLayout], picked: Extraction
) -> list[FieldCandidate]:
    currency = picked.get("currency")
    day_first = issue_date.prefers_day_first(layouts, currency)
    issued = picked.get("invoice_date")
    due = picked.get("due_date")
    raw: list[tuple[PageLayout, PlacedLine, Any, float, str]] = []
    for layout in layouts:
        for placed in layout.lines:
            for found in find_dates(placed.line.text, day_first=day_first):
                score, context = issue_date.date_context(layout, placed, found.start)
                raw.append((layout, placed, found, score, context))
    if not raw:
        return []
    counts = Counter(found.value for _, _, found, _, _ in raw)
    earliest = min(found.value for _, _, found, _, _ in raw)
    latest = max(found.value for _, _, found, _, _ in raw)
    candidates: dict[str, FieldCandidate] = {}
    for layout, placed, found, score, context in raw:
        value = found.value.isoformat()
        row_text = _row_text(layout.rows[placed.row])
        features = {
            **_layout_features(layout, [layout.rows[placed.row]], placed.row),
            "row_share": placed.row / max(len(layout.rows), 1),
            "later_page": float(layout.page.page_number != layouts[0].page.page_number),
            "context_score": score,
            "labelled": float(score >= 0.9),
            "due_label": float(score < 0.5),
            "ambiguous": float(found.ambiguous),
            "short_form": float(len(found.raw) < 8),
            "worded": float(any(ch.isalpha() for ch in found.raw)),
            "time_on_row": float(bool(_TIME.search(row_text))),
            "repeated": math.log(counts[found.value]),
            "earliest": float(found.value == earliest),
            "latest": float(found.value == latest),
            "after_due_date": float(due is not None and value > due.value),
            "heuristic_same": _same("invoice_date", value, issued),
        }
        previous = candidates.get(value)
        # One candidate per value: the instance the context supports best.
        if previous is None or score > previous.features["context_score"]:
            candidates[value] = FieldCandidate(
                "invoice_date",
                value,
                layout.page.page_number,
                placed.box,
                f"date '{found.raw}'{context}",
                features,
            )
    return list(candidates.values())


def _total_candidates(
    layouts: list[PageLayout], picked: Extraction
) -> list[FieldCandidate]:
    total = picked.get("total_amount")
    subtotal, tax = picked.get("subtotal_amount"), picked.get("tax_amount")
    sum_of_parts = (
        Decimal(subtotal.value) + Decimal(tax.value)
        if subtotal is not None and tax is not None
        else None
    )
    heuristic_scores: dict[str, float] = {}
    for candidate in total_amount.total_candidates(layouts):
        heuristic_scores[candidate.value] = max(
            candidate.score, heuristic_scores.get(candidate.value, 0.0)
        )
    cash_minus_change = total_amount.cash_minus_change(layouts)
    raw = [
        (layout, placed, amount)
        for layout in layouts
        for placed in layout.lines
        for amount in amounts_in(placed.line.text)
        # Phone and registration numbers read as amounts are never totals.
        if 0 < amount.value < _MAX_AMOUNT
    ]
    if not raw:
        return []
    ranked = sorted({amount.value for _, _, amount in raw}, reverse=True)
    counts = Counter(amount.value for _, _, amount in raw)
    best_heuristic = max(heuristic_scores.values(), default=1.0) or 1.0
    candidates: dict[str, FieldCandidate] = {}
    for layout, placed, amount in raw:
        value = format_amount(amount.value)
        row = layout.rows[placed.row]
        row_text = _row_text(row)
        above = layout.rows[placed.row - 1] if placed.row > 0 else ()
        above_text = _row_text(above)
        label = total_amount.total_label(row_text)
        label_above = total_amount.total_label(above_text) if above else None
        features = {
            **_layout_features(layout, [row], placed.row),
            "row_share": placed.row / max(len(layout.rows), 1),
            "right_edge": placed.box[2] / max(layout.page.width, 1),
            "total_label": label[1] if label else 0.0,
            "total_label_above": label_above[1] if label_above else 0.0,
            "not_total_row": float(total_amount.is_not_total(row_text)),
            "subtotal_row": float(bool(total_amount.SUBTOTAL.search(row_text))),
            "tax_row": float(bool(total_amount.TAX_WORDS.search(row_text))),
            "cash_row": float(bool(total_amount.CASH.search(row_text))),
            "change_row": float(bool(total_amount.CHANGE.search(row_text))),
            "rounding_row": float(bool(total_amount.ROUNDING.search(row_text))),
            "largest": float(amount.value == ranked[0]),
            "size_rank": min(ranked.index(amount.value), 10) / 10,
            "has_decimals": float(amount.has_decimals),
            "has_currency": float(amount.has_currency),
            "repeated": math.log(counts[amount.value]),
            "alone_on_line": float(placed.line.text.strip() == amount.raw.strip()),
            "equals_subtotal_plus_tax": float(
                sum_of_parts is not None and amount.value == sum_of_parts
            ),
            "equals_cash_minus_change": float(
                cash_minus_change is not None and amount.value == cash_minus_change
            ),
            "heuristic_score": heuristic_scores.get(value, 0.0) / best_heuristic,
            "heuristic_same": _same("total_amount", value, total),
        }
        previous = candidates.get(value)
        if previous is None or _label_strength(features) > _label_strength(
            previous.features
        ):
            candidates[value] = FieldCandidate(
                "total_amount",
                value,
                layout.page.page_number,
                placed.box,
                f"amount '{amount.raw}' on '{row_text[:40]}'",
                features,
            )
    return list(candidates.values())


def _label_strength(features: Mapping[str, float]) -> float:
    return features["total_label"] + 0.5 * features["total_label_above"]


# --- the model -----------------------------------------------------------------


@dataclass(frozen=True)
class FieldModel:
    """Logistic regression over standardised features, its confidence mapping
    and the gate's verdict (`use_scorer`)."""

    features: tuple[str, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    coefficients: tuple[float, ...]
    intercept: float
    calibration: FieldCalibration
    use_scorer: bool
    # Document types (as pipeline.classify names them) the scorer beat the
    # rules on in cross-validation; other types keep the rules' pick.
    use_for: tuple[str, ...] = ()

    def trusted_for(self, document_type: str) -> bool:
        return self.use_scorer and document_type in self.use_for

    def probability(self, features: Mapping[str, float]) -> float:
        score = self.intercept
        for name, mean, scale, weight in zip(
            self.features, self.means, self.scales, self.coefficients, strict=True
        ):
            score += weight * (features.get(name, 0.0) - mean) / (scale or 1.0)
        return 1.0 / (1.0 + math.exp(-max(min(score, 50.0), -50.0)))

    def best(
        self, candidates: Sequence[FieldCandidate]
    ) -> tuple[FieldCandidate, float] | None:
        """The highest-scoring candidate and its raw score, ties broken by
        value so the pick never depends on candidate order."""
        if not candidates:
            return None
        scored = [(self.probability(c.features), c) for c in candidates]
        score, best = max(scored, key=lambda item: (item[0], item[1].value))
        return best, score

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "means": list(self.means),
            "scales": list(self.scales),
            "coefficients": list(self.coefficients),
            "intercept": self.intercept,
            "calibration": {
                "raw": list(self.calibration.raw),
                "calibrated": list(self.calibration.calibrated),
            },
            "use_scorer": self.use_scorer,
            "use_for": list(self.use_for),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FieldModel:
        return cls(
            features=tuple(data["features"]),
            means=tuple(float(v) for v in data["means"]),
            scales=tuple(float(v) for v in data["scales"]),
            coefficients=tuple(float(v) for v in data["coefficients"]),
            intercept=float(data["intercept"]),
            calibration=FieldCalibration(
                raw=tuple(float(v) for v in data["calibration"]["raw"]),
                calibrated=tuple(float(v) for v in data["calibration"]["calibrated"]),
            ),
            use_scorer=bool(data["use_scorer"]),
            use_for=tuple(str(t) for t in data["use_for"]),
        )


@dataclass(frozen=True)
class ScorerModel:
    name: str
    version: str
    content_hash: str
    fields: dict[str, FieldModel]
    training: Mapping[str, Any]
    scores: Mapping[str, Any]
    vocabulary: Mapping[str, int] = field(default_factory=dict)


def content_hash(body: Mapping[str, Any]) -> str:
    """SHA-256 of the artefact's canonical JSON, without its own hash."""
    canonical = json.dumps(
        _canonical_numbers({k: v for k, v in body.items() if k != "content_hash"}),
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _canonical_numbers(value: Any) -> Any:
    """Numbers as they come back from any JSON store: PostgreSQL's jsonb keeps
    decimals exactly but has no negative zero and writes 1e+20 as an integer,
    so an artefact read back from the database must hash as it was written."""
    if isinstance(value, Mapping):
        return {key: _canonical_numbers(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical_numbers(item) for item in value]
    if isinstance(value, float):
        if value == 0.0:
            return 0.0
        if value.is_integer() and abs(value) >= 1e16:
            return int(value)
    return value


def scorer_from_json(data: Mapping[str, Any]) -> ScorerModel:
    """The model in an artefact. Raises ScorerError when it is of another
    format, malformed or altered after it was written."""
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        raise ScorerError(f"not a {FORMAT} artefact")
    if data.get("content_hash") != content_hash(data):
        raise ScorerError("the artefact was changed after it was written")
    try:
        fields = {
            name: FieldModel.from_json(model) for name, model in data["fields"].items()
        }
        return ScorerModel(
            name=str(data["name"]),
            version=str(data["version"]),
            content_hash=str(data["content_hash"]),
            fields=fields,
            training=data.get("training", {}),
            scores=data.get("scores", {}),
            vocabulary={str(w): int(c) for w, c in data["vocabulary"].items()},
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ScorerError(f"malformed artefact: {error}") from None


def load_scorer(path: Path = MODEL_PATH) -> ScorerModel:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ScorerError(f"cannot read {path}: {error}") from None
    return scorer_from_json(data)


@lru_cache(maxsize=1)
def default_scorer() -> ScorerModel:
    return load_scorer(MODEL_PATH)


class ScoredExtractor:
    """The calibrated heuristic extractor, with the fields the trained scorer
    reads better replaced by the scorer's pick (and its calibrated confidence).

    `model` defaults to the checked-in artefact; the Django side passes the
    active `ExtractorVersion`'s. Raises ScorerError at construction when the
    artefact is unusable, so a worker fails at start, not on every document.
    """

    name = "scored"

    def __init__(self, model: ScorerModel | None = None) -> None:
        self.base = CalibratedExtractor()
        self.model = model if model is not None else default_scorer()
        self.respacer = Respacer(self.model.vocabulary)
        self.version = f"{self.model.name}@{self.model.content_hash[:12]}"

    def extract(self, pages: Sequence[PageText]) -> Extraction:
        picked = self.base.extract(pages)
        document_type = classify(pages).document_type
        if not any(m.trusted_for(document_type) for m in self.model.fields.values()):
            return picked
        return self.pick(
            pages,
            picked,
            field_candidates(pages, picked, self.respacer),
            document_type=document_type,
        )

    def confirm(
        self,
        extraction: Extraction,
        evidence: Mapping[str, FieldEvidence],
        *,
        document_type: str,
    ) -> Extraction:
        """The evidence stage of the calibration this extractor's confidences
        were fitted for (see pipeline.run)."""
        return self.base.confirm(extraction, evidence, document_type=document_type)

    def pick(
        self,
        pages: Sequence[PageText],
        picked: Extraction,
        candidates: Mapping[str, list[FieldCandidate]],
        *,
        document_type: str | None = None,
    ) -> Extraction:
        """`picked` (the calibrated heuristic's extraction) with each field the
        scorer is trusted for on this type of document (every type when None)
        replaced by its best candidate."""
        active = {
            name: model
            for name, model in self.model.fields.items()
            if model.use_scorer
            and (document_type is None or model.trusted_for(document_type))
        }
        candidates = dict(candidates)
        chosen: dict[str, FieldValue] = {}
        # The vendor first: the address candidates depend on where it sits.
        for name in SCORED_FIELDS:
            model = active.get(name)
            if model is None:
                continue
            vendor = chosen.get("vendor_name")
            # Cross-field: the address sits under the vendor just chosen.
            if (
                name == "vendor_address"
                and vendor is not None
                and _differs(vendor, picked.get("vendor_name"))
            ):
                context = _with_fields(picked, {vendor.name: vendor})
                candidates[name] = field_candidates(pages, context, self.respacer)[name]
            best = model.best(candidates.get(name, []))
            if best is None:
                continue
            candidate, score = best
            chosen[name] = FieldValue(
                name=name,
                raw_value=candidate.value,
                value=candidate.value,
                confidence=round(model.calibration.apply(score), 3),
                page_number=candidate.page_number,
                box=candidate.box,
                explanation=f"learned scorer: {candidate.explanation} "
                f"(score {score:.2f})",
            )
        return _with_fields(picked, chosen)


def _differs(value: FieldValue, other: FieldValue | None) -> bool:
    return other is None or (value.value, value.box) != (other.value, other.box)


def _with_fields(
    extraction: Extraction, values: Mapping[str, FieldValue]
) -> Extraction:
    kept = [f for f in extraction.fields if f.name not in values]
    return Extraction(fields=(*kept, *values.values()))
