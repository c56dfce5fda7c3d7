"""Masking of sensitive values (IBAN, BIC, VAT ID ... as listed in the
SensitiveField table): everyone sees them masked in HTML, JSON and page images
until someone allowed reveals one with a reason (services.sensitive_value_reveal).

Only the value is masked, never the text around it: `mask_text` hides the
characters of each sensitive value inside a line or a message, and
`secret_boxes` the word boxes that show it on a page image. Two sources say
what is sensitive: the values of a document's sensitive fields (`SecretSet`)
and the shape of the text itself (an IBAN that passes its checksum, a VAT id
that passes its country's check), so a second IBAN printed on the page, or one
an address swallowed, is masked too. A string that only looks like an IBAN but
fails the checksum is not one: an invoice number misread into the IBAN field
stays readable everywhere but in that field.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from PIL import Image, ImageDraw

from pipeline.validate.identifiers import check_iban, check_vat_id
from reviewapp.models.configuration import SensitiveField
from reviewapp.models.documents import TextLine
from reviewapp.models.fields import Field
from reviewapp.ocr_evidence import Box, line_words

MASK = "•"
# Lines shorter than this cannot hold an identifying part of a value.
MIN_MATCH_CHARACTERS = 4


# Country code, check digits, then 11-30 letters or digits, spaced in fours or not.
_IBAN_SHAPE = re.compile(
    r"(?<![A-Z0-9])[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?"
    r"(?![A-Z0-9])"
)
_IBAN_COMPACT = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
_VAT_SHAPE = re.compile(
    r"(?<![A-Z0-9])(?:ATU[0-9]{8}|[A-Z]{2}[0-9A-Z]{8,12})(?![A-Z0-9])"
)
_BIC_SHAPE = re.compile(r"[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?")
_WORD = re.compile(r"\S+")


def sensitive_field_names() -> frozenset[str]:
    """The names admins marked sensitive (one query)."""
    return frozenset(SensitiveField.objects.values_list("name", flat=True))


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


def _compact(text: str) -> str:
    return "".join(text.split()).upper()


@dataclass(frozen=True)
class PageMask:
    """What to hide on one page: the boxes of sensitive fields and of the text
    lines that show a sensitive value."""

    clear_values: tuple[str, ...]
    boxes: tuple[tuple[int, int, int, int], ...]

    def hides(self, line: TextLine) -> bool:
        text = _compact(line.text)
        if any(value in text for value in self.clear_values):
            return True
        x0, y0, x1, y1 = line.box
        return any(
            x0 < bx1 and bx0 < x1 and y0 < by1 and by0 < y1
            for bx0, by0, bx1, by1 in self.boxes
        )


def page_mask(
    fields: Iterable[Field], page_id: int, sensitive: frozenset[str]
) -> PageMask:
    values: set[str] = set()
    boxes = []
    for field in fields:
        if field.name not in sensitive:
            continue
        for value in (field.value, field.machine_value, field.raw_value):
            if len(_compact(value)) >= MIN_MATCH_CHARACTERS:
                values.add(_compact(value))
        if field.page_id == page_id and field.box:
            boxes.append(tuple(int(edge) for edge in field.box[:4]))
    return PageMask(clear_values=tuple(sorted(values)), boxes=tuple(boxes))  # type: ignore[arg-type]


def document_mask(fields: Iterable[Field], sensitive: frozenset[str]) -> PageMask:
    """The sensitive values of a document, whichever page shows them."""
    return page_mask(fields, page_id=-1, sensitive=sensitive)


def document_secrets(fields: Iterable[Field], sensitive: frozenset[str]) -> SecretSet:
    """The real secrets among the values (as read, normalised and corrected)
    of a document's sensitive fields."""
    return SecretSet.of(
        (
            (field.name, value)
            for field in fields
            if field.name in sensitive
            for value in (field.value, field.machine_value, field.raw_value)
        ),
        sensitive,
    )


def document_secret_set(document_id: int) -> SecretSet:
    """The real secrets of one document (two queries), for text about it:
    check messages, history, notes, exports."""
    sensitive = sensitive_field_names()
    return document_secrets(
        Field.objects.filter(document_id=document_id, name__in=sensitive), sensitive
    )


def redact_image(
    image_bytes: bytes, boxes: Iterable[tuple[int, int, int, int]]
) -> bytes:
    """The page image with each box filled black, re-encoded: the clear pixels
    never leave the server (a CSS overlay could be removed by anyone)."""
    with Image.open(io.BytesIO(image_bytes)) as opened:
        image = opened.convert("RGB")
    draw = ImageDraw.Draw(image)
    margin = 3
    for x0, y0, x1, y1 in boxes:
        draw.rectangle(
            (x0 - margin, y0 - margin, x1 + margin, y1 + margin), fill="black"
        )
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


# ---------- values inside text and on page images ----------

# Shorter values cannot identify an account and would match inside any number.
MIN_SECRET_CHARACTERS = 6
IBAN_FIELDS = frozenset({"iban"})
VAT_FIELDS = frozenset({"vendor_vat_id", "customer_vat_id"})
BIC_FIELDS = frozenset({"bic"})


def is_real_secret(name: str, value: str) -> bool:
    """Whether the value of sensitive field `name` is what the field says: an
    IBAN passing its checksum, a VAT id passing its country's check, a BIC in
    its format. Such values are hunted wherever they appear; a value that is
    not (an invoice number misread as an IBAN) is masked only in its field."""
    text = _compact(value)
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
    """The clear sensitive values of one document, compact and upper-case, and
    whether any valid IBAN or VAT id counts as one by its shape (as long as
    those fields are marked sensitive: an admin may make them ordinary)."""

    values: tuple[str, ...] = ()
    ibans_by_shape: bool = True
    vat_ids_by_shape: bool = True

    @classmethod
    def of(
        cls,
        named_values: Iterable[tuple[str, str]],
        sensitive: frozenset[str] | None = None,
    ) -> SecretSet:
        """From (sensitive field name, value) pairs; values that are not real
        secrets of their kind are left out (see is_real_secret). `sensitive`:
        the names marked sensitive (None: the defaults' kinds all are)."""
        found = {
            _compact(value)
            for name, value in named_values
            if value and is_real_secret(name, value)
        }
        return cls(
            tuple(sorted(found, key=len, reverse=True)),
            ibans_by_shape=sensitive is None or bool(sensitive & IBAN_FIELDS),
            vat_ids_by_shape=sensitive is None or bool(sensitive & VAT_FIELDS),
        )

    def with_values(self, values: Iterable[str]) -> SecretSet:
        """These secrets and `values` (the clear text of the fields a message
        names: masked there even when they fail their check)."""
        extra = {
            _compact(value)
            for value in values
            if value and len(_compact(value)) >= MIN_SECRET_CHARACTERS
        }
        merged = set(self.values) | extra
        return replace(self, values=tuple(sorted(merged, key=len, reverse=True)))


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
    if secrets.ibans_by_shape:
        for match in _IBAN_SHAPE.finditer(upper):
            if check_iban(match[0]).valid:
                spans.append(match.span())
    if secrets.vat_ids_by_shape:
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
    a word that was blacked out, and the words beside it stay readable). Each
    is widened by half a character on both sides: the cut is proportional, and
    printed glyphs are not all the same width."""
    indexes = secret_word_indexes(text, secrets)
    if not indexes:
        return []
    slack = round((int(box[2]) - int(box[0])) / max(len(text), 1) / 2)
    return [
        (word.box[0] - slack, word.box[1], word.box[2] + slack, word.box[3])
        for word in line_words(text, box)
        if word.index in indexes
    ]


def masked_rendition_pdf(page_images: Iterable[bytes]) -> bytes:
    """A PDF of the given (already redacted) page images, one per page: what
    someone who may not see sensitive values downloads instead of the
    original, which may hold them in its pixels, text layer or embedded XML."""
    pages = []
    for image_bytes in page_images:
        with Image.open(io.BytesIO(image_bytes)) as opened:
            pages.append(opened.convert("RGB"))
    if not pages:
        raise ValueError("a rendition needs at least one page image")
    buffer = io.BytesIO()
    pages[0].save(
        buffer, format="PDF", save_all=True, append_images=pages[1:], resolution=150.0
    )
    return buffer.getvalue()
