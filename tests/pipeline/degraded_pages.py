"""Real receipt scans damaged the way phones and scanners damage them
(pipeline.degrade), as pages and as files, for the capture tests."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from pipeline.decode import DecodeLimits, decode_document
from pipeline.degrade import degrade
from pipeline.types import PageImage
from tests.conftest import RECEIPT


def page_of(image: Image.Image) -> PageImage:
    """`image` as the pipeline receives it: a JPEG file, decoded."""
    return decode_document(jpeg_of(image), DecodeLimits())[0]


def jpeg_of(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def damaged_image(kind: str, strength: int, source: Path = RECEIPT) -> Image.Image:
    with Image.open(source) as image:
        return degrade(image, kind, strength, seed=f"test-{kind}")


def damaged(kind: str, strength: int, source: Path = RECEIPT) -> PageImage:
    return page_of(damaged_image(kind, strength, source))
