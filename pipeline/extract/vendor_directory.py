"""One vendor directory: the vendor master plus the vendors people confirmed on
approved documents, used to recognise a document's vendor by a strong key and
to give its fields the values the business already knows.

A vendor is recognised, strongest key first, by a person's choice, its VAT id
or IBAN (read as a field or printed anywhere on the page), a printed name a
person confirmed on an earlier document (an alias, compared without spaces or
marks as OCR drops them), and only then by a fuzzy name score. When a vendor is
recognised:

- vendor name and address take the directory's canonical values ("from vendor
  master" / "from confirmed vendors", with the match and its confidence); an
  address is taken only when the page shows it, as a vendor with several
  branches prints several;
- text fields people confirmed (customer, a branch's address) are taken where
  the page shows them again (`TextMemory`);
- numbers, dates and amounts are read where the vendor prints them
  (`pipeline.extract.vendor_memory` layout hints).

Every step leaves a `MemoryNote` saying what was applied, or what was available
and why it was not, for the review page. Plain data, no Django: the web app
and `evaluate --history` build the same directory and call the same functions;
`pipeline.extract.vendor_learning` grows it from approved documents.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from rapidfuzz.distance import Levenshtein

from pipeline.extract.layout import PlacedLine, layout_pages
from pipeline.extract.vendor_memory import (
    MEMORY_MARK,
    NormalisedBox,
    ValueKind,
    VendorLayoutHint,
    locate,
    remembered_value,
    value_span,
)
from pipeline.types import Box, Extraction, FieldValue, PageText
from pipeline.validate.vendors import name_score, normalise_vat_id
from pipeline.validate.wording import compact_iban

Source = Literal["master", "confirmed"]
Method = Literal["confirmed", "vat_id", "iban", "alias", "name"]
TEXT_FIELDS = ("vendor_name", "vendor_address", "customer_name")
MASTER_MARK = "from vendor master"
CONFIRMED_MARK = "from confirmed vendors"
METHOD_WORDS: dict[str, str] = {
    "confirmed": "chosen by a person",
    "vat_id": "VAT id or tax registration number",
    "iban": "IBAN",
    "alias": "its name as printed on",
    "name": "name",
}
# A run of lines reads as a confirmed text when their letters and digits
# differ by at most a few characters (OCR of the same print drops spaces and
# misreads a character or two); another branch's address ("... 1076-IJOK" and
# "... 1245-DESA SRI HARTAMAS") differs by far more, even when most of it is
# the same, so the limit is an edit count, not a similarity ratio.
SNAP_EDITS, SNAP_SHARE = 2, 0.05
ALIAS_SCORE = 90.0
# Where a vendor's name is printed: the head of the first page.
HEAD_LINES = 15
_WINDOW = 5  # an address runs over at most this many OCR lines
_NON_ALNUM = re.compile(r"[^0-9a-z]")


def squash(text: str) -> str:
    """Lower-case letters and digits only: OCR's spacing and marks removed."""
    return _NON_ALNUM.sub("", text.lower())


@dataclass(frozen=True)
class TextMemory:
    """A text value a person confirmed (the canonical value), with how and
    where the page printed it: the label before it and its place."""

    field_name: str
    value: str
    printed: str  # the page's own text of it, squashed
    label: str  # the label printed before it ("Bill to"), "" when none
    page_number: int
    box: NormalisedBox
    learned_from: str
    learned_on: str

    def as_json(self) -> dict[str, Any]:
        return {
            "field_name": self.field_name,
            "value": self.value,
            "printed": self.printed,
            "label": self.label,
            "page_number": self.page_number,
            "box": list(self.box),
            "learned_from": self.learned_from,
            "learned_on": self.learned_on,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TextMemory:
        x0, y0, x1, y1 = (float(v) for v in data["box"])
        return cls(
            field_name=str(data["field_name"]),
            value=str(data["value"]),
            printed=str(data.get("printed", "")),
            label=str(data.get("label", "")),
            page_number=int(data.get("page_number", 1)),
            box=(x0, y0, x1, y1),
            learned_from=str(data.get("learned_from", "")),
            learned_on=str(data.get("learned_on", "")),
        )


@dataclass(frozen=True)
class DirectoryVendor:
    """One vendor as the directory knows it."""

    key: str  # the vendor master's public id, or the confirmed vendor's key
    name: str
    source: Source
    address: str = ""
    vat_ids: tuple[str, ...] = ()
    ibans: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()  # other names from the master
    texts: tuple[TextMemory, ...] = ()  # what people confirmed, with places
    hints: tuple[VendorLayoutHint, ...] = ()

    @property
    def mark(self) -> str:
        return MASTER_MARK if self.source == "master" else CONFIRMED_MARK

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "source": self.source,
            "address": self.address,
            "vat_ids": list(self.vat_ids),
            "ibans": list(self.ibans),
            "aliases": list(self.aliases),
            "texts": [memory.as_json() for memory in self.texts],
            "hints": [hint.as_json() for hint in self.hints],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DirectoryVendor:
        return cls(
            key=str(data["key"]),
            name=str(data["name"]),
            source="master" if data.get("source") == "master" else "confirmed",
            address=str(data.get("address", "")),
            vat_ids=tuple(str(v) for v in data.get("vat_ids", ())),
            ibans=tuple(str(v) for v in data.get("ibans", ())),
            aliases=tuple(str(v) for v in data.get("aliases", ())),
            texts=tuple(TextMemory.from_json(t) for t in data.get("texts", ())),
            hints=tuple(VendorLayoutHint.from_json(h) for h in data.get("hints", ())),
        )

    def printed_names(self) -> list[tuple[str, str]]:
        """(squashed printed name, document it was confirmed on)."""
        return [
            (memory.printed, memory.learned_from)
            for memory in self.texts
            if memory.field_name == "vendor_name" and memory.printed
        ]


@dataclass(frozen=True)
class DirectoryMatch:
    vendor: DirectoryVendor
    method: Method
    confidence: float  # 0..1
    evidence: str = ""  # e.g. the document whose printed name matched

    def describe(self) -> str:
        how = METHOD_WORDS[self.method]
        if self.evidence:
            how = f"{how} {self.evidence}"
        return f"matched by {how}, {self.confidence:.0%}"


@dataclass(frozen=True)
class MemoryNote:
    """What the directory did for one field, or why it did nothing."""

    field_name: str  # "" for the document as a whole
    applied: bool
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {
            "field": self.field_name,
            "applied": self.applied,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class DirectoryOutcome:
    extraction: Extraction
    match: DirectoryMatch | None
    notes: tuple[MemoryNote, ...] = field(default_factory=tuple)

    @property
    def applied(self) -> list[str]:
        return [note.field_name for note in self.notes if note.applied]


# --- recognising the vendor ---------------------------------------------------------


def _page_identifiers(pages: Sequence[PageText]) -> str:
    """Every page's text without spaces or marks, upper case: where a VAT id
    or an IBAN printed in groups ("DE89 3704 ...") is found again."""
    return re.sub(
        r"[^0-9A-Z]", "", " ".join(line.text for p in pages for line in p.lines).upper()
    )


@dataclass(frozen=True)
class WindowMatch:
    """The run of consecutive lines most like a wanted text."""

    lines: tuple[PlacedLine, ...]
    edits: int  # letters and digits to change to turn one into the other
    length: int  # of the wanted text, squashed

    @property
    def score(self) -> float:
        """0..100, like a similarity ratio."""
        return max(0.0, 100 * (1 - self.edits / max(self.length, 1)))

    @property
    def close(self) -> bool:
        """The same text as far as OCR can tell (see SNAP_EDITS)."""
        return bool(self.lines) and self.edits <= max(
            SNAP_EDITS, SNAP_SHARE * self.length
        )


def best_window(
    lines: Sequence[PlacedLine], wanted: str, size: int = _WINDOW
) -> WindowMatch:
    """The run of at most `size` consecutive lines whose text (squashed) is
    fewest edits from `wanted` (squashed)."""
    best = WindowMatch((), len(wanted), len(wanted))
    if not wanted:
        return best
    texts = [squash(p.line.text) for p in lines]
    for start in range(len(lines)):
        text = ""
        for end in range(start, min(start + size, len(lines))):
            text += texts[end]
            if len(text) - len(wanted) >= best.edits:
                break  # longer runs only differ more
            edits = Levenshtein.distance(text, wanted, score_cutoff=best.edits)
            if edits < best.edits:
                best = WindowMatch(tuple(lines[start : end + 1]), edits, len(wanted))
    return best


# An address's parts ("Bahnhofstrasse 99", "99199 Musterhausen") are found
# line by line when another column's lines come between them in reading order,
# but only this close to one another.
_PARTS_SPREAD = 8


def find_text(lines: Sequence[PlacedLine], *wanted: str) -> WindowMatch:
    """Where the page prints a text given in one or more forms (the confirmed
    value, the print seen when it was confirmed): the run of lines most like
    any of them; failing that, for a value written in comma-separated parts,
    each part on its own line or two, when every part is found and they
    stand together. Reading order interleaves columns, so a letterhead's
    street and town are often not consecutive lines."""
    forms = [form for form in map(squash, wanted) if form]
    if not forms:
        return WindowMatch((), 0, 0)
    best = max((best_window(lines, form) for form in forms), key=lambda w: w.score)
    if best.close or "," not in wanted[0]:
        return best
    parts = [best_window(lines, squash(part), size=2) for part in wanted[0].split(",")]
    found = [part for part in parts if part.length]
    if len(found) < 2 or not all(part.close for part in found):
        return best
    index = {id(placed): i for i, placed in enumerate(lines)}
    positions = [index[id(placed)] for part in found for placed in part.lines]
    if max(positions) - min(positions) > _PARTS_SPREAD:
        return best
    return WindowMatch(
        tuple(lines[i] for i in sorted(set(positions))),
        sum(part.edits for part in found),
        sum(part.length for part in found),
    )


def identify(
    fields: Mapping[str, str],
    pages: Sequence[PageText],
    vendors: Sequence[DirectoryVendor],
    *,
    chosen_key: str = "",
    min_score: float = 80.0,
) -> DirectoryMatch | None:
    """The directory's vendor of this document, strongest key first, or None.
    `fields` are the values read (or corrected) so far; `chosen_key` is a
    person's choice of vendor, which wins."""
    if not vendors:
        return None
    if chosen_key:
        chosen = next((v for v in vendors if v.key == chosen_key), None)
        if chosen is not None:
            return DirectoryMatch(chosen, "confirmed", 1.0)
    printed = _page_identifiers(pages)
    vat_id = normalise_vat_id(fields.get("vendor_vat_id", ""))
    iban = compact_iban(fields.get("iban", ""))
    for vendor in vendors:
        for known in vendor.vat_ids:
            wanted = normalise_vat_id(known)
            if wanted and (
                wanted == vat_id or (len(wanted) >= 8 and wanted in printed)
            ):
                return DirectoryMatch(vendor, "vat_id", 1.0)
    for vendor in vendors:
        for known in vendor.ibans:
            wanted = compact_iban(known)
            if wanted and (wanted == iban or wanted in printed):
                return DirectoryMatch(vendor, "iban", 1.0)
    head = [
        placed
        for layout in layout_pages(pages)[:1]
        for placed in layout.lines[:HEAD_LINES]
    ]
    aliased: list[tuple[float, DirectoryVendor, str]] = []
    for vendor in vendors:
        for alias, learned_from in vendor.printed_names():
            found = best_window(head, alias, size=3)
            if found.score >= ALIAS_SCORE:
                aliased.append((found.score, vendor, learned_from))
    if aliased:
        score, vendor, learned_from = max(aliased, key=lambda item: item[0])
        return DirectoryMatch(vendor, "alias", round(score / 100, 3), learned_from)
    name = fields.get("vendor_name", "")
    if not name:
        return None
    scored = sorted(
        ((name_score(name, v.name, v.aliases), v) for v in vendors),
        key=lambda item: item[0],
        reverse=True,
    )
    best, vendor = scored[0]
    if best < min_score:
        return None
    return DirectoryMatch(vendor, "name", round(best / 100, 3))


def why_unidentified(
    fields: Mapping[str, str], vendors: Sequence[DirectoryVendor]
) -> str:
    """Why no vendor was recognised, in words for the review page."""
    if not vendors:
        return "the vendor directory is empty"
    name = fields.get("vendor_name", "")
    if not name:
        return "no VAT id, IBAN or confirmed name on the page, and no vendor name read"
    best, vendor = max(
        ((name_score(name, v.name, v.aliases), v) for v in vendors),
        key=lambda item: item[0],
    )
    return (
        "no VAT id, IBAN or confirmed name on the page; the name read is "
        f"closest to {vendor.name} at {best:.0f}%, too far to be sure"
    )


# --- applying what the directory knows ----------------------------------------------

# A remembered text is printed on the page, but that alone is not proof it is
# this document's value: a chain's receipt prints its head-office address
# and then the branch, a franchisee's name sits under the brand, and a
# person's typo ("TAMPOL" for the printed "TAMPOI") is repeated faithfully.
# It is sure only when the extractor's own reading has the same letters and
# digits (OCR's spacing and marks aside); otherwise it is proposed for a
# person to confirm. (Allowing one character in ten to differ let 1.9 % of
# the auto-accepted values on the SROIE-train replay be wrong; the same
# letters, 0.5 %.)
UNCORROBORATED_CONFIDENCE = 0.9


def corroborated(remembered: str, read: FieldValue | None) -> bool:
    """Whether the extractor read `remembered` too: the same letters and
    digits, whatever the spacing, punctuation and accents (the recognition
    dictionary has no umlauts: "München" is read "Munchen")."""
    return read is not None and _base_letters(remembered) == _base_letters(read.value)


def _base_letters(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    return squash("".join(c for c in decomposed if not unicodedata.combining(c)))


def _remembered_confidence(
    name: str, value: str, confidence: float, extraction: Extraction
) -> tuple[float, str]:
    """The confidence of a remembered text and what to add to its
    explanation: capped below every text threshold when uncorroborated."""
    if corroborated(value, extraction.get(name)):
        return confidence, ""
    return (
        min(confidence, UNCORROBORATED_CONFIDENCE),
        "; the page's own reading differs, so a person confirms it",
    )


def _field_from(
    name: str,
    value: str,
    confidence: float,
    window: Sequence[PlacedLine],
    explanation: str,
) -> FieldValue:
    box = None
    page_number = None
    if window:
        page_number = window[0].page_number
        box = _union(window)
    return FieldValue(
        name=name,
        raw_value=" ".join(p.line.text for p in window) or value,
        value=value,
        confidence=round(confidence, 3),
        page_number=page_number,
        box=box,
        explanation=explanation,
    )


def apply_directory(
    extraction: Extraction,
    pages: Sequence[PageText],
    match: DirectoryMatch | None,
    *,
    sure_score: float = 95.0,
    unidentified_reason: str = "",
) -> DirectoryOutcome:
    """`extraction` with the matched vendor's canonical values, confirmed
    texts and layout memory applied, and a note for each thing done or not.
    A name-only match below `sure_score` changes nothing (it says so)."""
    if match is None:
        reason = unidentified_reason or "no vendor recognised"
        return DirectoryOutcome(
            extraction, None, (MemoryNote("", False, f"not applied: {reason}"),)
        )
    vendor = match.vendor
    if match.method == "name" and match.confidence * 100 < sure_score:
        return DirectoryOutcome(
            extraction,
            match,
            (
                MemoryNote(
                    "",
                    False,
                    f"not applied: {vendor.name} matched by name only at "
                    f"{match.confidence:.0%}, below the {sure_score:.0f}% needed; "
                    "confirm the vendor to use what is known about it",
                ),
            ),
        )
    lines = [placed for layout in layout_pages(pages) for placed in layout.lines]
    origin = f"{vendor.mark} ({match.describe()})"
    values: dict[str, FieldValue] = {}
    notes: list[MemoryNote] = []

    # The name: the master's, whatever the print looks like. A confirmed
    # vendor's name is what a person confirmed for that print: taken where
    # the page prints it so again (a chain's receipts print several names).
    if vendor.source == "master":
        printed = min(
            (
                best_window(lines, wanted, size=3)
                for wanted in (
                    squash(vendor.name),
                    *(a for a, _ in vendor.printed_names()),
                )
            ),
            key=lambda found: found.edits / max(found.length, 1),
        )
        values["vendor_name"] = _field_from(
            "vendor_name",
            vendor.name,
            match.confidence,
            printed.lines if printed.close else (),
            origin,
        )
        notes.append(MemoryNote("vendor_name", True, origin))
    else:
        seen = [
            (best_window(lines, memory.printed, size=3), memory)
            for memory in vendor.texts
            if memory.field_name == "vendor_name" and memory.printed
        ]
        close = sorted(
            ((found, memory) for found, memory in seen if found.close),
            key=lambda pair: pair[0].edits,
        )
        if close:
            found, memory = close[0]
            confidence, caveat = _remembered_confidence(
                "vendor_name", memory.value, match.confidence, extraction
            )
            explanation = (
                f"{origin}: printed as confirmed on {memory.learned_from}{caveat}"
            )
            values["vendor_name"] = _field_from(
                "vendor_name", memory.value, confidence, found.lines, explanation
            )
            notes.append(MemoryNote("vendor_name", True, explanation))
        else:
            notes.append(
                MemoryNote(
                    "vendor_name",
                    False,
                    "not applied: the name is printed unlike on every confirmed "
                    "document of this vendor",
                )
            )

    # Addresses and other confirmed texts: only where the page shows them,
    # either as the confirmed value or as the page printed it when a person
    # confirmed it. The print is what OCR sees again: "LieferantenstraBe 20,
    # 80333 Munchen" is never within a few edits of the confirmed
    # "Lieferantenstraße 20, 80333 München" once marks are squashed away.
    candidates: list[tuple[str, str, str, str]] = []  # field, value, from, printed
    if vendor.address:
        candidates.append(("vendor_address", vendor.address, "", ""))
    candidates += [
        (m.field_name, m.value, m.learned_from, m.printed)
        for m in vendor.texts
        if m.field_name != "vendor_name"
    ]
    best_text: dict[str, tuple[WindowMatch, str, str]] = {}
    for name, value, learned_from, as_printed in candidates:
        found = find_text(lines, value, as_printed)
        if name not in best_text or found.score > best_text[name][0].score:
            best_text[name] = (found, value, learned_from)
    for name, (found, value, learned_from) in best_text.items():
        if not found.close:
            notes.append(
                MemoryNote(
                    name,
                    False,
                    "not applied: the page does not show a known value "
                    f"({found.edits} characters differ from the nearest)",
                )
            )
            continue
        source = f"confirmed on {learned_from}" if learned_from else "on record"
        explanation = f"{origin}: printed as {source}"
        if found.edits:
            explanation += f" ({found.edits} characters read differently)"
        confidence = match.confidence * found.score / 100
        if learned_from:
            # The master's own address is the vendor's by record; what people
            # confirmed on one document must be read on this one too.
            confidence, caveat = _remembered_confidence(
                name, value, confidence, extraction
            )
            explanation += caveat
        values[name] = _field_from(name, value, confidence, found.lines, explanation)
        notes.append(MemoryNote(name, True, explanation))

    # Numbers, dates and amounts where this vendor prints them.
    for hint in vendor.hints:
        if hint.field_name in values:
            continue
        located = locate(pages, hint)
        if located is not None and not located.anchored and hint.kind != "code":
            # Every receipt has some date and amount near any given place: only
            # a label located again vouches for one.
            notes.append(
                MemoryNote(
                    hint.field_name,
                    False,
                    "not applied: only the remembered place matched, not its label",
                )
            )
            continue
        if located is None:
            label = f"label '{hint.anchor_text}'" if hint.anchor_text else "value"
            notes.append(
                MemoryNote(
                    hint.field_name,
                    False,
                    f"not applied: the remembered {label} was not located where "
                    f"{hint.learned_from} printed it",
                )
            )
            continue
        read = extraction.get(hint.field_name)
        taken = remembered_value(hint, located.field, read)
        if taken is None:
            notes.append(
                MemoryNote(
                    hint.field_name,
                    False,
                    # No values in the note: it is shown to people who may
                    # not see a masked one (an IBAN, a VAT id).
                    f"not applied: the place remembered from {hint.learned_from} "
                    "shows another value on this page; the value read stands",
                )
            )
            continue
        values[hint.field_name] = taken
        notes.append(
            MemoryNote(
                hint.field_name,
                True,
                located.field.explanation
                if taken is located.field
                else f"the value read is the one {hint.learned_from} printed there",
            )
        )
    kept = tuple(f for f in extraction.fields if f.name not in values)
    return DirectoryOutcome(
        replace(extraction, fields=kept + tuple(values.values())), match, tuple(notes)
    )


def find_printed(
    pages: Sequence[PageText], kind: str, value: str
) -> tuple[int, Box] | None:
    """Where a value a person typed is printed: (page number, box of the
    line or run of lines showing it), or None. Text as OCR reads it (spaces
    dropped, a character or two misread); numbers, dates and amounts by
    their meaning ("1.234,50" for 1234.50)."""
    if not value:
        return None
    for layout in layout_pages(pages):
        if kind == "text":
            found = find_text(layout.lines, value)
            if found.close:
                return layout.page.page_number, _union(found.lines)
            continue
        for placed in layout.lines:
            text = placed.line.text
            span = value_span(value_kind(kind), text, value)
            if span is not None:
                # The value's part of the line, cut by character positions
                # (as the review page cuts word boxes), not its label.
                x0, y0, x1, y1 = placed.box
                width = (x1 - x0) / max(len(text), 1)
                box = (
                    round(x0 + width * span[0]),
                    y0,
                    round(x0 + width * span[1]),
                    y1,
                )
                return layout.page.page_number, box
    return None


def _union(lines: Sequence[PlacedLine]) -> Box:
    return (
        min(p.box[0] for p in lines),
        min(p.box[1] for p in lines),
        max(p.box[2] for p in lines),
        max(p.box[3] for p in lines),
    )


def is_from_directory(explanation: str) -> bool:
    return explanation.startswith((MASTER_MARK, CONFIRMED_MARK, MEMORY_MARK))


def value_kind(kind: str) -> ValueKind:
    if kind == "date":
        return "date"
    if kind == "amount":
        return "amount"
    return "code"
