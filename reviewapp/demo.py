"""Sample documents Vouch draws itself, so the demo needs no data from outside.

Each spec in fixtures/demo_documents.json becomes a printed-looking page (PNG,
JPEG, PDF or multi-page TIFF) with the totals computed from its lines. Rendering
is deterministic, so loading the demo twice recognises the same files.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from PIL import Image, ImageDraw, ImageFont

SPECS = Path(settings.BASE_DIR) / "fixtures" / "demo_documents.json"
CURRENCY_SIGNS = {"EUR": "EUR", "USD": "$", "MYR": "RM", "GBP": "£"}


@dataclass(frozen=True)
class DemoDocument:
    name: str
    content: bytes
    total: Decimal


def demo_documents() -> list[DemoDocument]:
    return [render(spec) for spec in json.loads(SPECS.read_text())]


def render(spec: dict[str, Any]) -> DemoDocument:
    receipt = spec["kind"] == "receipt"
    size = (900, 1500) if receipt else (1240, 1754)  # receipt roll / A4 at 150 dpi
    page = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(page)
    big, normal = ImageFont.load_default(size=40), ImageFont.load_default(size=26)
    sign = CURRENCY_SIGNS.get(spec["currency"], spec["currency"])
    x, y = 70, 70
    draw.text((x, y), spec["vendor"], font=big, fill="black")
    y += 64
    for line in spec["vendor_lines"]:
        draw.text((x, y), line, font=normal, fill="#222")
        y += 36
    if spec["title"]:
        draw.text((size[0] - 330, 70), spec["title"], font=big, fill="#123a6b")
    y += 30
    for label, value in spec["meta"]:
        draw.text((x, y), label, font=normal, fill="#222")
        draw.text((x + 260, y), value, font=normal, fill="black")
        y += 38
    y += 20
    for line in spec["customer"]:
        draw.text((x, y), line, font=normal, fill="#222")
        y += 36
    y += 40
    right = size[0] - 70
    if not receipt:
        # Column headings, as invoices print them: the line reader finds the
        # item table by them.
        draw.text((x, y), "Description", font=normal, fill="#444")
        draw.text((right - 380, y), "Qty x Unit price", font=normal, fill="#444")
        _right_text(draw, right, y, "Amount", normal)
        y += 40
    draw.line((x, y, right, y), fill="#888", width=2)
    y += 16
    subtotal = Decimal("0.00")
    for description, quantity, unit_price in spec["lines"]:
        amount = Decimal(unit_price) * quantity
        subtotal += amount
        draw.text((x, y), description, font=normal, fill="black")
        draw.text(
            (right - 380, y), f"{quantity} x {unit_price}", font=normal, fill="#222"
        )
        _right_text(draw, right, y, f"{amount:.2f}", normal)
        y += 40
    draw.line((x, y + 6, right, y + 6), fill="#888", width=2)
    y += 30
    tax = (subtotal * Decimal(spec["tax_rate"]) / 100).quantize(Decimal("0.01"))
    total = subtotal + tax
    rows = [("Subtotal", subtotal), (f"Tax {spec['tax_rate']}%", tax)] if tax else []
    rows.append((f"TOTAL {sign}", total))
    for label, amount in rows:
        font = big if label.startswith("TOTAL") else normal
        draw.text((right - 480, y), label, font=font, fill="black")
        _right_text(draw, right, y, f"{amount:.2f}", font)
        y += 56 if font is big else 40
    draw.text((x, size[1] - 120), spec["footer"], font=normal, fill="#444")
    pages = [page]
    if spec.get("second_page"):
        second = Image.new("RGB", size, "white")
        second_draw = ImageDraw.Draw(second)
        for index, line in enumerate(spec["second_page"]):
            second_draw.text((x, 90 + index * 40), line, font=normal, fill="black")
        pages.append(second)
    return DemoDocument(spec["file"], _encode(pages, spec["file"]), total)


def _right_text(
    draw: ImageDraw.ImageDraw, right: int, y: int, text: str, font: Any
) -> None:
    width = draw.textlength(text, font=font)
    draw.text((right - width, y), text, font=font, fill="black")


def _encode(pages: list[Image.Image], name: str) -> bytes:
    buffer = io.BytesIO()
    suffix = Path(name).suffix.lower()
    if suffix == ".pdf":
        # An image-only PDF, like a scan: the worker must OCR it.
        pages[0].save(buffer, format="PDF", resolution=150.0)
    elif suffix in (".tif", ".tiff"):
        grey = [page.convert("L") for page in pages]
        grey[0].save(
            buffer, format="TIFF", save_all=True, append_images=grey[1:],
            compression="tiff_deflate", dpi=(150, 150),
        )  # fmt: skip
    elif suffix in (".jpg", ".jpeg"):
        pages[0].save(buffer, format="JPEG", quality=88, dpi=(150, 150))
    else:
        pages[0].save(buffer, format="PNG", dpi=(150, 150))
    return buffer.getvalue()
