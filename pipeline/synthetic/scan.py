"""Scan-like page images of a rendered invoice, and the OCR lines a reader of
those images would see (for training without running OCR).

Degradation, each drawn from the seed: resolution (150-200 dpi), a slight
skew, blur, sensor noise, uneven exposure and JPEG compression; grey or colour.
"""

from __future__ import annotations

import io
import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageFilter

from pipeline.synthetic.render import Printed, Rendered

# A line's polygon (x1, y1, ... x4, y4) in pixels, and its text.
OcrBox = tuple[tuple[int, ...], str]


@dataclass(frozen=True)
class Degradation:
    dpi: int
    angle: float  # degrees
    blur: float  # Gaussian radius in pixels
    noise: float  # standard deviation in grey levels
    contrast: float
    brightness: float
    jpeg_quality: int
    grey: bool

    @classmethod
    def draw(cls, rng: random.Random) -> Degradation:
        return cls(
            dpi=rng.choice((150, 200, 200)),
            angle=round(rng.uniform(-1.2, 1.2), 2),
            blur=round(rng.choice((0.0, rng.uniform(0.3, 1.1))), 2),
            noise=round(rng.uniform(0, 12), 1),
            contrast=round(rng.uniform(0.75, 1.0), 2),
            brightness=round(rng.uniform(-15, 20), 1),
            jpeg_quality=rng.randint(35, 85),
            grey=rng.random() < 0.7,
        )


def degrade(rendered: Rendered, seed: int) -> tuple[list[Image.Image], Degradation]:
    """Every page as a scan-like image, and the degradation applied."""
    rng = random.Random(seed * 104729 + 3)
    noise = np.random.default_rng(seed)
    how = Degradation.draw(rng)
    document = pdfium.PdfDocument(rendered.pdf)
    images = []
    try:
        for index in range(len(document)):
            page = document[index].render(scale=how.dpi / 72).to_pil()
            images.append(_degrade_page(page, how, noise))
    finally:
        document.close()
    return images, how


def _degrade_page(
    page: Image.Image, how: Degradation, noise: np.random.Generator
) -> Image.Image:
    image = page.convert("L" if how.grey else "RGB")
    fill = 255 if how.grey else (255, 255, 255)
    image = image.rotate(how.angle, resample=Image.Resampling.BICUBIC, fillcolor=fill)
    if how.blur:
        image = image.filter(ImageFilter.GaussianBlur(how.blur))
    pixels = np.asarray(image, dtype=np.float32)
    pixels = pixels * how.contrast + (255 * (1 - how.contrast)) / 2 + how.brightness
    pixels += noise.normal(0, how.noise, pixels.shape).astype(np.float32)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    # A round trip through JPEG leaves its block artefacts in the page.
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=how.jpeg_quality)
    buffer.seek(0)
    return Image.open(buffer).copy()


def encode_scan(images: Sequence[Image.Image], dpi: int) -> tuple[bytes, str]:
    """One page as a JPEG; several as an image-only PDF, as office scanners
    send them. Returns (bytes, extension)."""
    buffer = io.BytesIO()
    if len(images) == 1:
        images[0].save(buffer, "JPEG", quality=90, dpi=(dpi, dpi))
        return buffer.getvalue(), "jpg"
    first, *rest = [image.convert("RGB") for image in images]
    first.save(buffer, "PDF", save_all=True, append_images=rest, resolution=dpi)
    return buffer.getvalue(), "pdf"


def ocr_lines(rendered: Rendered, dpi: int) -> list[list[OcrBox]]:
    """Per page, the lines an OCR engine reads off the page: strings on one
    baseline that nearly touch become one line (as PP-OCR joins them), in
    pixels at `dpi`. Each line is (x1, y1, x2, y2, x3, y3, x4, y4), text."""
    scale = dpi / 72
    pages: list[list[OcrBox]] = []
    for number in range(1, rendered.pages + 1):
        printed = sorted(
            (p for p in rendered.printed if p.page == number),
            key=lambda p: (round(p.box[3]), p.box[0]),
        )
        merged: list[Printed] = []
        for item in printed:
            previous = merged[-1] if merged else None
            if (
                previous is not None
                and not item.in_image
                and not previous.in_image
                and abs(previous.box[3] - item.box[3]) < 1.5
                and 0 <= item.box[0] - previous.box[2] < 0.9 * item.size
            ):
                gap = " " if item.box[0] - previous.box[2] > 0.15 * item.size else ""
                merged[-1] = Printed(
                    number,
                    previous.text + gap + item.text,
                    (
                        previous.box[0],
                        min(previous.box[1], item.box[1]),
                        item.box[2],
                        max(previous.box[3], item.box[3]),
                    ),
                    item.size,
                )
                continue
            merged.append(item)
        lines: list[OcrBox] = []
        for item in merged:
            x0, y0, x1, y1 = (round(v * scale) for v in item.box)
            text = item.text.strip()
            if text:
                lines.append(((x0, y0, x1, y0, x1, y1, x0, y1), text))
        pages.append(lines)
    return pages


def boxes_text(lines: Sequence[OcrBox]) -> str:
    """Lines in the SROIE box format the dev manifests use."""
    return "".join(
        ",".join(str(v) for v in polygon) + "," + text + "\n" for polygon, text in lines
    )
