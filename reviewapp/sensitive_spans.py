"""Where sensitive values sit inside text and on a page image, so that exactly
those characters and word boxes are masked, and nothing around them.

Two sources say what is sensitive: the values of a document's sensitive fields
(`SecretSet.of`) and the shape of the text itself (an IBAN that passes its
checksum, a VAT id that passes its country's check), so a second IBAN printed
on the page, or one that an address swallowed, is masked too. A string that
only looks like an IBAN but fails the checksum is not one: an invoice number
misread into the IBAN field stays readable everywhere but in that field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pipeline.validate.identifiers import check_iban, check_vat_id
from reviewapp.ocr_evidence import Box, line_words

MASK = "•"
# Shorter values cannot identify an account and would match inside any number.
MIN_SECRET_CHARACTERS = 6
IBAN_FIELDS = frozenset({"iban"})
VAT_FIELDS = frozenset({"vendor_vat_id", "customer_vat_id"})
BIC_FIELDS = frozenset({"bic"})

# Country code, check digits, then 11-30 letters or digits, spaced in fours or not.
_IBAN_SHAPE = re.compile(
    r"(?<![A-Z0-9])[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?![A-Z0-9])"
)
_IBAN_COMPACT = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
_VAT_SHAPE = re.compile(r"(?<![A-Z0-9])(?:ATU[0-9]{8}|[A-Z]{2}[0-9A-Z]{8,12})(?![A-Z0-9])")
_BIC_SHAPE = re.compile(r"[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?")
_WORD = re.compile(r"\S+")


def compact(text: str) -> str:
    return "".join(text.split()).upper()


def mask_value(value: str) -> str:
    """Keep a few characters at each end (enough to tell two accounts apart,
    never enough to use one) and the spacing; hide the rest.

    "DE89 3704 0044 0532 0130 00" -> "DE89 •••• •••• •••• ••30 00"

    An IBAN stored compact is shown in its printed groups of four first, so
    the mask reads like the document.
    """
    if _IBAN_COMPACT.fullmatch(value):
        value = " ".join(value[start : start + 4] for start in range(0, len(value), 4))
    characters = [index for index, char in enumerate(value) if not char.isspace()]
    shown = min(4, len(characters) // 4)
    hidden = set(characters[shown : len(characters) - shown])
    return "".join(
        MASK if index in hidden else char for index, char in enumerate(value)
    )


def is_real_secret(name: str, value: str) -> bool:
    """Whether the value of sensitive field `name` is what the field says: an
    IBAN passing its checksum, a VAT id passing its country's check, a BIC in
    its format. Such values are hunted wherever they appear; a value that is
    not (an invoice number misread as an IBAN) is masked only in its field."""
    text = compact(value)
    if len(text) < MIN_SECRET_CHARACTERS:
        return False
    if name in IBAN_FIELDS:
        return check_iban(text).valid
    if name in VAT_FIELDS:
        check = check_vat_id(text)
        return check.valid and bool(check.country)
    if name in BIC_FIELDS:
        return bool(_BIC_SHAPE.fullmatch(text))
    # A sensitive field Vouch has no check for (a bank account number): its
    # value is hunted when it holds enough digits to be one.
    return sum(character.isdigit() for character in text) >= MIN_SECRET_CHARACTERS


@dataclass(frozen=True)
class SecretSet:
    """The clear sensitive values of one document, compact and upper-case."""

    values: tuple[str, ...] = ()

    @classmethod
    def of(cls, named_values: Iterable[tuple[str, str]]) -> SecretSet:
        """From (sensitive field name, value) pairs; values that are not real
        secrets of their kind are left out (see is_real_secret)."""
        found = {
            compact(value)
            for name, value in named_values
            if value and is_real_secret(name, value)
        }
        return cls(tuple(sorted(found, key=len, reverse=True)))

    def with_values(self, values: Iterable[str]) -> SecretSet:
        """These secrets and `values` (the clear text of the fields a message
        names: masked there even when they fail their check)."""
        extra = {
            compact(value)
            for value in values
            if len(compact(value)) >= MIN_SECRET_CHARACTERS
        }
        merged = set(self.values) | extra
        return SecretSet(tuple(sorted(merged, key=len, reverse=True)))


def _compact_index(text: str) -> tuple[str, list[int]]:
    """`text` without whitespace, upper-cased, and for each of its characters
    the index of the same character in `text`."""
    positions = [index for index, char in enumerate(text) if not char.isspace()]
    return "".join(text[index] for index in positions).upper(), positions


def secret_spans(text: str, secrets: SecretSet) -> list[tuple[int, int]]:
    """The [start, end) character ranges of `text` that show a sensitive value:
    a known one (spaced as printed or not) or any valid IBAN or VAT id. Sorted,
    merged where they touch."""
    if not text or not any(character.isdigit() for character in text):
        return []
    squeezed, positions = _compact_index(text)
    spans: list[tuple[int, int]] = []
    for value in secrets.values:
        start = squeezed.find(value)
        while start != -1:
            end = start + len(value)
            spans.append((positions[start], positions[end - 1] + 1))
            start = squeezed.find(value, end)
    upper = text.upper()
    for match in _IBAN_SHAPE.finditer(upper):
        if check_iban(match[0]).valid:
            spans.append(match.span())
    for match in _VAT_SHAPE.finditer(upper):
        check = check_vat_id(match[0])
        if check.valid and check.country:
            spans.append(match.span())
    return _merged(spans)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def mask_text(text: str, secrets: SecretSet) -> str:
    """`text` with each sensitive value in it masked, the rest untouched:
    "Paiement a 30 jours - IBAN FR76 •••• •••• •••• •••• •••0 189"."""
    spans = secret_spans(text, secrets)
    if not spans:
        return text
    pieces, last = [], 0
    for start, end in spans:
        pieces += [text[last:start], mask_value(text[start:end])]
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def secret_word_indexes(text: str, secrets: SecretSet) -> set[int]:
    """The positions (0-based, as ocr_evidence.line_words numbers them) of the
    words of `text` that show part of a sensitive value."""
    spans = secret_spans(text, secrets)
    if not spans:
        return set()
    return {
        index
        for index, word in enumerate(_WORD.finditer(text))
        if any(word.start() < end and start < word.end() for start, end in spans)
    }


def secret_boxes(text: str, box: Sequence[int], secrets: SecretSet) -> list[Box]:
    """The word boxes of one OCR line that show a sensitive value, cut from the
    line's box the way ocr_evidence cuts word boxes (so a click never lands on
    a word that was blacked out, and the words beside it stay readable)."""
    indexes = secret_word_indexes(text, secrets)
    if not indexes:
        return []
    return [word.box for word in line_words(text, box) if word.index in indexes]
