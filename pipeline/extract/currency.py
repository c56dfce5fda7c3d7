"""The currency: codes and signs printed on the page, or implied by wording
that places the document in a country.
"""

from __future__ import annotations

import re
from collections import Counter

from pipeline.extract.layout import PageLayout, PlacedLine
from pipeline.extract.normalize import currency_marks
from pipeline.types import FieldValue

# Wording that places a document in a country, for pages that print no
# currency at all or only a "$" that many currencies share.
_IMPLIED_CURRENCY: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (
        re.compile(
            r"(?i)sdn\.?\s*bhd|\bbhd\b|malaysia|selangor|kuala\s*lumpur|johor"
            r"|\bjalan\b|\bjln\b"
        ),
        "MYR",
        "Malaysian company or address",
    ),
    (
        re.compile(r"(?i)mwst|ust-?id|gmbh|deutschland|\btva\b|\bsiret\b|\bttc\b"),
        "EUR",
        "German/French tax wording",
    ),
)


def read_currency(layouts: list[PageLayout]) -> FieldValue | None:
    counts: Counter[str] = Counter()
    explicit: Counter[str] = Counter()
    first_seen: dict[str, PlacedLine] = {}
    for layout in layouts:
        for placed in layout.lines:
            for code, is_explicit in currency_marks(placed.line.text):
                counts[code] += 1
                explicit[code] += int(is_explicit)
                first_seen.setdefault(code, placed)
    implied = _implied_currency(layouts)
    if counts:
        code, count = counts.most_common(1)[0]
        if implied is not None and not explicit[code] and implied.value != code:
            # A bare "$" on a page that otherwise reads Malaysian is a local
            # habit, not US dollars; say so with a low confidence.
            return FieldValue(
                name="currency",
                raw_value=_currency_raw(first_seen[code].line.text, code),
                value=implied.value,
                confidence=0.35,
                page_number=implied.page_number,
                box=implied.box,
                explanation=f"shared sign only; {implied.explanation}",
            )
        rivals = sum(counts.values()) - count
        strength = 0.75 if explicit[code] else 0.6
        strength += min(0.2, 0.05 * (count - 1))
        if implied is not None and implied.value == code:
            strength += 0.05
        confidence = min(1.0, strength) * (count / (count + rivals))
        placed = first_seen[code]
        kind = "currency code" if explicit[code] else "currency sign"
        return FieldValue(
            name="currency",
            raw_value=_currency_raw(placed.line.text, code),
            value=code,
            confidence=round(confidence, 3),
            page_number=placed.page_number,
            box=placed.box,
            explanation=f"{kind} seen {count} time(s)",
        )
    return implied


def _implied_currency(layouts: list[PageLayout]) -> FieldValue | None:
    for layout in layouts:
        for placed in layout.lines:
            for pattern, code, why in _IMPLIED_CURRENCY:
                if pattern.search(placed.line.text):
                    return FieldValue(
                        name="currency",
                        raw_value="",
                        value=code,
                        confidence=0.3,
                        page_number=placed.page_number,
                        box=placed.box,
                        explanation=f"implied only: {why}",
                    )
    return None


def _currency_raw(text: str, code: str) -> str:
    for token in ("RM", "MYR", "US$", "S$", "$", "€", "£", "¥", code):
        if token in text:
            return token
    return code
