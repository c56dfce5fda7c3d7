"""The learned scorer's candidates: every span of rows that could be the vendor's
name or address, every date and every amount, each with the features the
model weighs (where it sits, what labels it, whether the heuristic picked it).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from pipeline.extract import issue_date, parties, total_amount, vendor_name
from pipeline.extract.candidates import amounts_in
from pipeline.extract.layout import PageLayout, PlacedLine, layout_pages
from pipeline.extract.normalize import find_dates, format_amount
from pipeline.extract.text_repair import Respacer, text_variants
from pipeline.types import Box, Extraction, FieldValue, PageText

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
            " ".join(parties.REGISTRATION_PREFIX.sub("", p.line.text).split())
            for p in row
        ).strip()
        for row in rows
    ]
    address_words = [bool(parties.ADDRESS_WORDS.search(t)) for t in texts]
    contact = [bool(parties.CONTACT_OR_ID.search(t)) for t in texts]
    company = [bool(parties.COMPANY.search(t)) for t in texts]
    money = [bool(parties.MONEY_LABEL.search(t)) for t in texts]
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
