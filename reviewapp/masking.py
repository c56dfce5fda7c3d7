"""Masking of sensitive values (IBAN, BIC, VAT ID ... as listed in the
SensitiveField table): everyone sees them masked in HTML, JSON and page images
until someone allowed reveals one with a reason (services.sensitive_value_reveal).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass

from PIL import Image, ImageDraw

from reviewapp.models.configuration import SensitiveField
from reviewapp.models.documents import TextLine
from reviewapp.models.fields import Field

MASK = "•"
# Lines shorter than this cannot hold an identifying part of a value.
MIN_MATCH_CHARACTERS = 4


def sensitive_field_names() -> frozenset[str]:
    """The names admins marked sensitive (one query)."""
    return frozenset(SensitiveField.objects.values_list("name", flat=True))


_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")


def mask_value(value: str) -> str:
    """Keep a few characters at each end (enough to tell two accounts apart,
    never enough to use one) and the spacing; hide the rest.

    "DE89 3704 0044 0532 0130 00" -> "DE89 •••• •••• •••• ••30 00"

    An IBAN stored compact is shown in its printed groups of four first, so
    the mask reads like the document.
    """
    if _IBAN_SHAPE.fullmatch(value):
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


def scrub(text: str, mask: PageMask) -> str:
    """`text` masked whole when a sensitive value appears in it, spaced or not:
    an address that ran into the IBAN line must not show the IBAN."""
    compact = _compact(text)
    if any(value in compact for value in mask.clear_values):
        return mask_value(text)
    return text


def document_mask(fields: Iterable[Field], sensitive: frozenset[str]) -> PageMask:
    """The sensitive values of a document, whichever page shows them."""
    return page_mask(fields, page_id=-1, sensitive=sensitive)


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
