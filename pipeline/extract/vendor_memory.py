"""Per-vendor layout memory: where a vendor prints a field, learned from one
person's correction and used on that vendor's next document at once.

A hint remembers the printed label nearest the value (its anchor), where the
value sits relative to that label and to the page (normalised 0..1), and the
value's shape ("RD-4711" -> "AA-9999"). On a new document the anchor is looked
up again; the value is the text at the remembered offset whose shape matches.
A hint that finds no anchor falls back to the remembered page position; one
whose value does not match the shape proposes nothing, so the generic
extractor's value stands.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from pipeline.extract.layout import PageLayout, PlacedLine, layout_pages
from pipeline.extract.normalize import (
    compact_identifier,
    find_amounts,
    find_dates,
    format_amount,
    iban_is_valid,
    normalize_date,
    vat_id_is_checkable,
    vat_id_is_valid,
)
from pipeline.types import Box, Extraction, FieldValue, PageText

ValueKind = Literal["code", "date", "amount"]
Placement = Literal["inline", "right", "below", "none"]
NormalisedBox = tuple[float, float, float, float]

# Memory values follow a person's reading of this very layout: when the
# label and the shape agree on a clearly read line, the value is as sure as a
# person's (1.0, so even a field whose calibrated threshold is 1.0 is
# accepted); a blurred line, or the page position alone, is less sure.
ANCHORED_CONFIDENCE = 1.0
POSITION_ONLY_CONFIDENCE = 0.9
CLEAR_OCR = 0.95
# Identifiers with check digits: a remembered place does not vouch for digits
# that fail their check (one misread digit keeps the shape).
_CHECKS: dict[str, Callable[[str], bool]] = {
    "iban": iban_is_valid,
    "vendor_vat_id": lambda v: not vat_id_is_checkable(v) or vat_id_is_valid(v),
}
FAILED_CHECK_CONFIDENCE = 0.5
MEMORY_MARK = "from vendor memory"
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-/_.]*[A-Za-z0-9]|[A-Za-z0-9]")
_LABEL_TEXT = re.compile(r"[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ .#°/-]*[A-Za-zÀ-ÿ.#°]")


@dataclass(frozen=True)
class VendorLayoutHint:
    """Where one vendor prints one field, as plain data (stored as JSON)."""

    field_name: str
    kind: ValueKind
    value_shape: str  # "AA-9999" for codes; "" for dates and amounts
    page_number: int
    value_box: NormalisedBox  # of the page: x0, y0, x1, y1 in 0..1
    anchor_text: str  # the label near the value, "" when there is none
    anchor_box: NormalisedBox | None
    placement: Placement  # where the value sits from the anchor
    learned_from: str  # the document it was learned from, for the explanation
    learned_on: str  # ISO date
    # Learned from a value the machine had read right: it vouches for the
    # same value found there again, and never replaces another reading (the
    # remembered label on a receipt also sits beside subtotals and rounding).
    confirms: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "field_name": self.field_name,
            "kind": self.kind,
            "value_shape": self.value_shape,
            "page_number": self.page_number,
            "value_box": list(self.value_box),
            "anchor_text": self.anchor_text,
            "anchor_box": list(self.anchor_box) if self.anchor_box else None,
            "placement": self.placement,
            "learned_from": self.learned_from,
            "learned_on": self.learned_on,
            "confirms": self.confirms,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VendorLayoutHint:
        anchor_box = data.get("anchor_box")
        return cls(
            field_name=str(data["field_name"]),
            kind=data["kind"],
            value_shape=str(data.get("value_shape", "")),
            page_number=int(data.get("page_number", 1)),
            value_box=_box4(data["value_box"]),
            anchor_text=str(data.get("anchor_text", "")),
            anchor_box=_box4(anchor_box) if anchor_box else None,
            placement=data.get("placement", "none"),
            learned_from=str(data.get("learned_from", "")),
            learned_on=str(data.get("learned_on", "")),
            confirms=bool(data.get("confirms", False)),
        )


def _box4(values: Sequence[float]) -> NormalisedBox:
    x0, y0, x1, y1 = (float(v) for v in values)
    return (x0, y0, x1, y1)


def value_shape(value: str) -> str:
    """Letters become A, digits 9, the rest stays: "RD-4711" -> "AA-9999"."""
    return "".join(
        "9" if ch.isdigit() else "A" if ch.isalpha() else ch for ch in value.upper()
    )


def _shape_pattern(shape: str) -> re.Pattern[str]:
    # Runs of digits may grow or shrink by one (invoice 999 is followed by 1000);
    # letters and separators must be as learned.
    parts = []
    for run in re.finditer(r"9+|A+|[^9A]+", shape):
        text = run.group(0)
        if text[0] == "9":
            parts.append(rf"\d{{{max(1, len(text) - 1)},{len(text) + 1}}}")
        elif text[0] == "A":
            parts.append(rf"[A-Z]{{{len(text)}}}")
        else:
            parts.append(re.escape(text))
    return re.compile("".join(parts))


def _squash(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


def _normalised(box: Box, page: PageText) -> NormalisedBox:
    width, height = max(page.width, 1), max(page.height, 1)
    return (
        round(box[0] / width, 4),
        round(box[1] / height, 4),
        round(box[2] / width, 4),
        round(box[3] / height, 4),
    )


# --- learning ---------------------------------------------------------------------


def value_span(kind: ValueKind, text: str, value: str) -> tuple[int, int] | None:
    """Where `value` (as stored) is printed in `text`, as (start, end), or None."""
    if kind == "amount":
        spans = [
            (a.start, a.end)
            for a in find_amounts(text)
            if format_amount(a.value) == value
        ]
    elif kind == "date":
        spans = [
            (d.start, d.end) for d in find_dates(text) if d.value.isoformat() == value
        ]
    else:
        wanted = compact_identifier(value)
        spans = [
            token.span()
            for token in _TOKEN.finditer(text)
            if compact_identifier(token.group(0)) == wanted
        ]
        # Printed in groups ("DE89 3704 ..."): the line as a whole holds it.
        if not spans and wanted and wanted in compact_identifier(text):
            spans = [(0, len(text))]
    return spans[0] if spans else None


def _overlaps(a: Box, b: Box) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def learn_hint(
    *,
    field_name: str,
    kind: ValueKind,
    value: str,
    pages: Sequence[PageText],
    learned_from: str,
    learned_on: str,
    box: Box | None = None,
    page_number: int | None = None,
) -> VendorLayoutHint | None:
    """A hint for `field_name` from the page line that shows `value` (the
    person's correction), or None when no line shows it. `box` (page pixels, on
    `page_number`), when the person pointed at the value, picks the line."""
    for layout in layout_pages(pages):
        if page_number is not None and layout.page.page_number != page_number:
            continue
        for placed in layout.lines:
            if box is not None and not _overlaps(placed.box, box):
                continue
            found = value_span(kind, placed.line.text, value)
            if found is None:
                continue
            return _hint_for(
                layout, placed, found, field_name, kind, learned_from, learned_on
            )
    return None


def _hint_for(
    layout: PageLayout,
    placed: PlacedLine,
    found: tuple[int, int],
    field_name: str,
    kind: ValueKind,
    learned_from: str,
    learned_on: str,
) -> VendorLayoutHint:
    page = layout.page
    printed = placed.line.text[found[0] : found[1]].strip()
    shape = ""
    if kind == "code":
        # As printed ("RD-4711"); a value printed in groups ("DE89 3704 ...")
        # is remembered compact, as it is stored.
        shape = value_shape(compact_identifier(printed) if " " in printed else printed)
    before = _LABEL_TEXT.findall(placed.line.text[: found[0]])
    anchor: PlacedLine | None = None
    placement: Placement = "none"
    anchor_text = ""
    if before:
        anchor, placement, anchor_text = placed, "inline", before[-1].strip()
    else:
        anchor, placement = _label_beside(layout, placed)
        if anchor is not None:
            anchor_text = " ".join(_LABEL_TEXT.findall(anchor.line.text)).strip()
    return VendorLayoutHint(
        field_name=field_name,
        kind=kind,
        value_shape=shape,
        page_number=page.page_number,
        value_box=_normalised(placed.box, page),
        anchor_text=anchor_text,
        anchor_box=_normalised(anchor.box, page) if anchor else None,
        placement=placement if anchor_text else "none",
        learned_from=learned_from,
        learned_on=learned_on,
    )


def _label_beside(
    layout: PageLayout, placed: PlacedLine
) -> tuple[PlacedLine | None, Placement]:
    """The label text left of the value on its row, else just above it."""
    row = layout.rows[placed.row]
    left = [
        other
        for other in row
        if other is not placed and other.box[2] <= placed.box[0] + placed.height
    ]
    labelled = [other for other in left if _LABEL_TEXT.search(other.line.text)]
    if labelled:
        return labelled[-1], "right"
    for above_row in reversed(layout.rows[max(0, placed.row - 2) : placed.row]):
        for other in above_row:
            overlap = min(other.box[2], placed.box[2]) - max(
                other.box[0], placed.box[0]
            )
            if overlap > 0 and _LABEL_TEXT.search(other.line.text):
                return other, "below"
    return None, "none"


# --- using --------------------------------------------------------------------------


@dataclass(frozen=True)
class MemoryMatch:
    """A value found where a hint says it is."""

    field: FieldValue
    anchored: bool


def _read(kind: ValueKind, shape: str, text: str) -> tuple[str, str] | None:
    """(value, raw text) of the first value of `kind` in `text` that fits."""
    if kind == "amount":
        amounts = find_amounts(text)
        if not amounts:
            return None
        first = amounts[-1]  # the amount is printed after any label
        return format_amount(first.value), text[first.start : first.end]
    if kind == "date":
        dates = find_dates(text)
        if not dates:
            return None
        raw = text[dates[0].start : dates[0].end]
        return normalize_date(raw) or dates[0].value.isoformat(), raw
    pattern = _shape_pattern(shape)
    for token in _TOKEN.finditer(text):
        if pattern.fullmatch(token.group(0).upper()):
            return token.group(0).upper(), token.group(0)
    grouped = pattern.search(compact_identifier(text))
    return (grouped.group(0), grouped.group(0)) if grouped else None


def _anchor_lines(layout: PageLayout, hint: VendorLayoutHint) -> list[PlacedLine]:
    wanted = _squash(hint.anchor_text)
    if not wanted:
        return []
    found = [p for p in layout.lines if wanted in _squash(p.line.text)]
    if hint.anchor_box is None:
        return found
    # The same label printed twice: the one nearest its learned place first.
    page = layout.page
    ax, ay = hint.anchor_box[0] * page.width, hint.anchor_box[1] * page.height
    return sorted(found, key=lambda p: abs(p.box[0] - ax) + abs(p.box[1] - ay))


def _near(placed: PlacedLine, x: float, y: float, page: PageText) -> bool:
    # A layout drifts a little between prints: a few percent of the page
    # across, about a line and a half down.
    return abs(placed.box[0] - x) <= 0.06 * page.width and abs(
        placed.box[1] - y
    ) <= max(1.5 * placed.height, 0.02 * page.height)


def locate(pages: Sequence[PageText], hint: VendorLayoutHint) -> MemoryMatch | None:
    """The value `hint` points at on these pages, or None when the anchor and
    the shape do not agree anywhere (the generic extractor's value stands)."""
    return _locate(layout_pages(pages), hint)


def _locate(
    layouts: Sequence[PageLayout], hint: VendorLayoutHint
) -> MemoryMatch | None:
    layout = next(
        (each for each in layouts if each.page.page_number == hint.page_number), None
    )
    if layout is None or not layout.rows:
        return None
    page = layout.page
    for anchor in _anchor_lines(layout, hint):
        found = _from_anchor(layout, anchor, hint)
        if found is not None:
            placed, value, raw, where = found
            return MemoryMatch(
                _field(hint, placed, value, raw, ANCHORED_CONFIDENCE, where),
                anchored=True,
            )
    # No label to go by: the remembered place on the page.
    x, y = hint.value_box[0] * page.width, hint.value_box[1] * page.height
    for placed in sorted(
        layout.lines, key=lambda p: abs(p.box[0] - x) + abs(p.box[1] - y)
    ):
        if not _near(placed, x, y, page):
            break
        read = _read(hint.kind, hint.value_shape, placed.line.text)
        if read is not None:
            return MemoryMatch(
                _field(
                    hint,
                    placed,
                    read[0],
                    read[1],
                    POSITION_ONLY_CONFIDENCE,
                    "at its place on the page",
                ),
                anchored=False,
            )
    return None


def _from_anchor(
    layout: PageLayout, anchor: PlacedLine, hint: VendorLayoutHint
) -> tuple[PlacedLine, str, str, str] | None:
    page = layout.page
    label = f"'{hint.anchor_text}'"
    if hint.placement == "inline":
        text = anchor.line.text
        start = _squash_index(text, hint.anchor_text)
        read = _read(hint.kind, hint.value_shape, text[start:])
        return (anchor, *read, f"after label {label}") if read else None
    if hint.anchor_box is None:
        return None
    # Where the value sat from the label, moved with the label.
    dx = (hint.value_box[0] - hint.anchor_box[0]) * page.width
    dy = (hint.value_box[1] - hint.anchor_box[1]) * page.height
    x, y = anchor.box[0] + dx, anchor.box[1] + dy
    where = "right of" if hint.placement == "right" else "below"
    for placed in sorted(
        layout.lines, key=lambda p: abs(p.box[0] - x) + abs(p.box[1] - y)
    ):
        if placed is anchor or not _near(placed, x, y, page):
            continue
        read = _read(hint.kind, hint.value_shape, placed.line.text)
        if read is not None:
            return placed, *read, f"{where} label {label}"
    return None


def _squash_index(text: str, label: str) -> int:
    """The index in `text` just past `label`, compared without case or marks."""
    wanted = _squash(label)
    for end in range(len(text) + 1):
        if wanted in _squash(text[:end]):
            return end
    return 0


def _field(
    hint: VendorLayoutHint,
    placed: PlacedLine,
    value: str,
    raw: str,
    confidence: float,
    where: str,
) -> FieldValue:
    check = _CHECKS.get(hint.field_name)
    if check is not None and not check(value):
        confidence, where = FAILED_CHECK_CONFIDENCE, f"{where}; its check digits fail"
    return FieldValue(
        name=hint.field_name,
        raw_value=raw,
        value=value,
        confidence=round(confidence * min(1.0, placed.line.confidence / CLEAR_OCR), 3),
        page_number=placed.page_number,
        box=placed.box,
        explanation=(
            f"{MEMORY_MARK} (learned from document {hint.learned_from} on "
            f"{hint.learned_on}): {where}"
        ),
    )


def remembered_value(
    hint: VendorLayoutHint, remembered: FieldValue, read: FieldValue | None
) -> FieldValue | None:
    """What stands for the field where `hint` found `remembered`: None when
    memory declines (a confirmation's place showing another value than the
    one read: it vouches, it never replaces); the value read when it is the
    same value and already surer than memory makes it (a blurred line lowers
    memory's confidence, never the evidence's); else the remembered value (a
    correction's place moves a misread value)."""
    same = read is not None and read.value == remembered.value
    if same and read is not None and read.confidence >= remembered.confidence:
        return read
    if hint.confirms and not same:
        return None
    return remembered


def apply_hints(
    extraction: Extraction,
    pages: Sequence[PageText],
    hints: Sequence[VendorLayoutHint],
) -> Extraction:
    """`extraction` with every field a hint locates replaced by the memory's
    value; fields no hint locates are kept as the extractor read them."""
    if not hints:
        return extraction
    layouts = layout_pages(pages)
    remembered: dict[str, FieldValue] = {}
    for hint in hints:
        match = _locate(layouts, hint)
        if match is None or hint.field_name in remembered:
            continue
        taken = remembered_value(hint, match.field, extraction.get(hint.field_name))
        if taken is not None:
            remembered[hint.field_name] = taken
    if not remembered:
        return extraction
    kept = tuple(f for f in extraction.fields if f.name not in remembered)
    return replace(extraction, fields=kept + tuple(remembered.values()))
