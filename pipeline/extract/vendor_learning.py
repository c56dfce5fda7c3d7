"""Learning vendors from people's decisions: an approved document's confirmed
name, address and customer become a confirmed vendor's texts and aliases, its
registration numbers keys, and where it prints numbers, dates and amounts
layout hints. `Directory` keeps such a directory in memory for `evaluate
--history` and the replay, as the web app keeps it in the database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from pipeline.extract.layout import layout_pages
from pipeline.extract.vendor_directory import (
    ALIAS_SCORE,
    HEAD_LINES,
    SNAP_EDITS,
    SNAP_SHARE,
    TEXT_FIELDS,
    DirectoryOutcome,
    DirectoryVendor,
    TextMemory,
    apply_directory,
    find_text,
    identify,
    squash,
    value_kind,
    why_unidentified,
)
from pipeline.extract.vendor_memory import (
    VendorLayoutHint,
    learn_hint,
)
from pipeline.types import Extraction, PageText
from pipeline.validate.vendors import name_score


def learn_text(
    *,
    field_name: str,
    value: str,
    pages: Sequence[PageText],
    learned_from: str,
    learned_on: str,
) -> TextMemory | None:
    """Where the page prints the confirmed `value` (the run of lines most like
    it, see SNAP_EDITS), with the label printed just before it;
    None when the page does not show it."""
    wanted = squash(value)
    for layout in layout_pages(pages):
        lines = layout.lines
        found = find_text(lines, value)
        if found.close:
            window = list(found.lines)
        elif field_name == "vendor_name":
            # A name printed with more on its line ("GARDENIA BAKERIES (KL) SDN
            # BHD (139386X)"): that line, as printed, is the vendor's alias.
            window = [
                placed
                for placed in lines[:HEAD_LINES]
                if fuzz.partial_ratio(wanted, squash(placed.line.text)) >= ALIAS_SCORE
            ][:1]
            if not window:
                continue
        else:
            continue
        page = layout.page
        width, height = max(page.width, 1), max(page.height, 1)
        first = lines.index(window[0])
        label = ""
        if first > 0:
            before = lines[first - 1].line.text.strip()
            # A short line ending in ':' (or just a few words) reads as a label.
            if before.endswith(":") or len(before.split()) <= 3:
                label = before.rstrip(":").strip()
        return TextMemory(
            field_name=field_name,
            value=value,
            printed=squash("".join(p.line.text for p in window)),
            label=label,
            page_number=page.page_number,
            box=(
                round(min(p.box[0] for p in window) / width, 4),
                round(min(p.box[1] for p in window) / height, 4),
                round(max(p.box[2] for p in window) / width, 4),
                round(max(p.box[3] for p in window) / height, 4),
            ),
            learned_from=learned_from,
            learned_on=learned_on,
        )
    return None


def _merge_texts(
    known: Sequence[TextMemory], new: Sequence[TextMemory]
) -> tuple[TextMemory, ...]:
    """Known memories plus the new ones; a new one replaces the memory of the
    same field whose printed text it repeats (the latest confirmation wins)."""
    merged = list(known)
    for memory in new:
        merged = [
            m
            for m in merged
            if m.field_name != memory.field_name
            or Levenshtein.distance(m.printed, memory.printed)
            > max(SNAP_EDITS, SNAP_SHARE * len(memory.printed))
        ]
        merged.append(memory)
    return tuple(merged)


def _merge_hints(
    known: Sequence[VendorLayoutHint], new: Sequence[VendorLayoutHint]
) -> tuple[VendorLayoutHint, ...]:
    # A correction's hint is kept over a later confirmation's: the later
    # document was often read right because that hint moved its value.
    corrections = {h.field_name for h in known if not h.confirms}
    new = [h for h in new if not (h.confirms and h.field_name in corrections)]
    names = {hint.field_name for hint in new}
    return tuple(h for h in known if h.field_name not in names) + tuple(new)


# Tax registration numbers printed in a document's head ("GST ID: 000381399040",
# "VAT Reg No. GB 123 4567 89", "USt-IdNr. DE 811907980"); OCR often reads
# the I of ID as 1. The head is the sender's: a buyer's number prints lower.
_REGISTRATION = re.compile(
    r"(?:GST|VAT|TVA|USt|MwSt|Tax)[\s.-]*(?:[I1]D|Reg|No|Nr|IdNr|Registration)"
    r"[\s.:#/A-Za-z-]{0,12}?([A-Z]{0,2}[\s]?[0-9][0-9\s-]{7,16}[0-9])",
    re.IGNORECASE,
)


def registration_ids(pages: Sequence[PageText]) -> list[str]:
    """Tax registration numbers printed in the first page's head, compact."""
    found = []
    for layout in layout_pages(pages)[:1]:
        for placed in layout.lines[:HEAD_LINES]:
            for match in _REGISTRATION.finditer(placed.line.text):
                compact = re.sub(r"[^0-9A-Z]", "", match.group(1).upper())
                if len(compact) >= 8 and compact not in found:
                    found.append(compact)
    return found


def learn_from_review(
    *,
    vendor: DirectoryVendor | None,
    extraction: Extraction,
    pages: Sequence[PageText],
    confirmed: Mapping[str, str],
    kinds: Mapping[str, str],
    document: str,
    day: str,
) -> DirectoryVendor | None:
    """What an approved document teaches the directory: its vendor (a new
    confirmed vendor when `vendor` is None and a name was confirmed), the
    confirmed text fields as canonical values with their place, and the place
    of every number, date or amount a person confirmed or corrected.
    `confirmed` holds the document's final values; `extraction` what the
    machine read. Returns the vendor as it now stands."""
    name = confirmed.get("vendor_name", "")
    if vendor is None:
        if not name:
            return None
        vendor = DirectoryVendor(
            key=f"confirmed:{squash(name)}",
            name=name,
            source="confirmed",
            vat_ids=tuple(v for v in [confirmed.get("vendor_vat_id", "")] if v),
            ibans=tuple(v for v in [confirmed.get("iban", "")] if v),
        )
    texts = [
        memory
        for field_name in TEXT_FIELDS
        if confirmed.get(field_name)
        and (
            memory := learn_text(
                field_name=field_name,
                value=confirmed[field_name],
                pages=pages,
                learned_from=document,
                learned_on=day,
            )
        )
        is not None
    ]
    hints = []
    for field_name, value in confirmed.items():
        kind = kinds.get(field_name)
        if kind not in ("code", "date", "amount") or not value:
            continue
        # Read right or corrected, the place is learned: a value a person
        # confirmed where this vendor prints it is what makes its next
        # document's value sure, not only what moves a misread one.
        hint = learn_hint(
            field_name=field_name,
            kind=value_kind(kind),
            value=value,
            pages=pages,
            learned_from=document,
            learned_on=day,
        )
        if hint is not None:
            read = extraction.get(field_name)
            hints.append(
                replace(hint, confirms=read is not None and read.value == value)
            )
    vat_ids, ibans = list(vendor.vat_ids), list(vendor.ibans)
    if vendor.source == "confirmed":
        # The master's keys are the ERP's to change; a confirmed vendor's grow
        # with what its approved documents print.
        for known, values in (
            (vat_ids, [confirmed.get("vendor_vat_id", ""), *registration_ids(pages)]),
            (ibans, [confirmed.get("iban", "")]),
        ):
            known.extend(v for v in values if v and v not in known)
    return replace(
        vendor,
        vat_ids=tuple(vat_ids),
        ibans=tuple(ibans),
        texts=_merge_texts(vendor.texts, texts),
        hints=_merge_hints(vendor.hints, hints),
    )


class Directory:
    """An in-memory directory (for `evaluate --history` and the replay): the
    master's vendors plus those confirmed so far, updated per approval."""

    def __init__(self, vendors: Sequence[DirectoryVendor] = ()) -> None:
        self.vendors: list[DirectoryVendor] = list(vendors)

    def read(
        self,
        extraction: Extraction,
        pages: Sequence[PageText],
        *,
        sure_score: float = 95.0,
    ) -> DirectoryOutcome:
        fields = {f.name: f.value for f in extraction.fields}
        match = identify(fields, pages, self.vendors)
        return apply_directory(
            extraction,
            pages,
            match,
            sure_score=sure_score,
            unidentified_reason="" if match else why_unidentified(fields, self.vendors),
        )

    def approve(
        self,
        extraction: Extraction,
        pages: Sequence[PageText],
        confirmed: Mapping[str, str],
        *,
        kinds: Mapping[str, str],
        document: str,
        day: str,
        sure_score: float = 95.0,
        vendor_key: str = "",
    ) -> DirectoryVendor | None:
        """Learn from an approved document whose final values are `confirmed`.
        Its vendor is `vendor_key`'s (the document's matched or chosen vendor)
        when given, else the one the confirmed values identify (as a person
        would choose it), else a new confirmed vendor."""
        vendor = next((v for v in self.vendors if v.key == vendor_key), None)
        name = confirmed.get("vendor_name", "")
        if vendor is None and name and self.vendors:
            score, named = max(
                ((name_score(name, v.name, v.aliases), v) for v in self.vendors),
                key=lambda item: item[0],
            )
            if score >= sure_score:
                vendor = named
        if vendor is None:
            # The confirmed VAT id or IBAN of a known vendor names it too.
            keys = {
                k: v for k, v in confirmed.items() if k in ("vendor_vat_id", "iban")
            }
            match = identify(keys, (), self.vendors)
            vendor = match.vendor if match is not None else None
        learned = learn_from_review(
            vendor=vendor,
            extraction=extraction,
            pages=pages,
            confirmed=confirmed,
            kinds=kinds,
            document=document,
            day=day,
        )
        if learned is not None:
            self.vendors = [v for v in self.vendors if v.key != learned.key]
            self.vendors.append(learned)
        return learned
