"""Sample documents Vouch draws itself, so the demo needs no data from outside.

Each spec in fixtures/demo_documents.json becomes a printed-looking page (PNG,
JPEG, PDF or multi-page TIFF) with the totals computed from its lines; a spec
with an "einvoice" block becomes a digital Factur-X PDF instead (text layer and
embedded XML, see demo_einvoice). Rendering
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
from PIL import Image, ImageDraw, ImageFont, ImageSequence

from reviewapp.demo.einvoice import (
    InvoiceLine,
    PdfCanvas,
    cii_xml,
    factur_x_pdf,
)

SPECS = Path(settings.BASE_DIR) / "fixtures" / "demo_documents.json"
CURRENCY_SIGNS = {"EUR": "EUR", "USD": "$", "MYR": "RM", "GBP": "£"}


@dataclass(frozen=True)
class DemoDocument:
    name: str
    content: bytes
    total: Decimal
    # How the document reaches Vouch: the e-invoice arrives by email, the scans
    # are uploaded, so the duplicate check is seen working across channels.
    channel: str = "upload"


def demo_documents() -> list[DemoDocument]:
    return [render(spec) for spec in json.loads(SPECS.read_text())]


# A scanner batch: three of the scans above fed through the scanner together,
# the first with its terms printed on a back page that says nothing of whose
# it is (the page a person is asked about).
BATCH_NAME = "scanner-batch.tif"
BATCH_OF = (
    "harbor-supply-invoice-88412.pdf",
    "atelier-facture-FA-2026-311.tif",
    "nordlicht-invoice-2026-0142-scan.jpg",
)
BACK_PAGE = (
    "Terms and conditions of sale",
    "1. Goods remain our property until paid in full.",
    "2. Claims must be made within 8 days of delivery.",
    "3. Late payments bear interest at 1.5% per month.",
)


def demo_batch() -> DemoDocument:
    """Three demo invoices (five pages) in one TIFF, as a scanner delivers a
    batch: Vouch proposes where each begins and a reviewer confirms it."""
    specs = {spec["file"]: spec for spec in json.loads(SPECS.read_text())}
    frames: list[Image.Image] = []
    total = Decimal("0.00")
    for index, name in enumerate(BATCH_OF):
        scanned = render({**specs[name], "file": "scan.tif"})
        total += scanned.total
        with Image.open(io.BytesIO(scanned.content)) as image:
            frames += [frame.copy() for frame in ImageSequence.Iterator(image)]
        if index == 0:
            back = Image.new("L", frames[-1].size, "white")
            draw = ImageDraw.Draw(back)
            font = ImageFont.load_default(size=26)
            for row, line in enumerate(BACK_PAGE):
                _text(draw, (70, 90 + row * 40), line, font)
            frames.append(back)
    return DemoDocument(BATCH_NAME, _encode(frames, BATCH_NAME), total)


def render(spec: dict[str, Any]) -> DemoDocument:
    receipt = spec["kind"] == "receipt"
    size = (900, 1500) if receipt else (1240, 1754)  # receipt roll / A4 at 150 dpi
    page = Image.new("RGB", size, "white")
    digital = "einvoice" in spec
    draw: Any = PdfCanvas(size) if digital else ImageDraw.Draw(page)
    big, normal = ImageFont.load_default(size=40), ImageFont.load_default(size=26)
    sign = CURRENCY_SIGNS.get(spec["currency"], spec["currency"])
    x, y = 70, 70
    _text(draw, (x, y), spec["vendor"], big)
    y += 64
    for line in spec["vendor_lines"]:
        _text(draw, (x, y), line, normal, "#222")
        y += 36
    if spec["title"]:
        _text(draw, (size[0] - 330, 70), spec["title"], big, "#123a6b")
    y += 30
    for label, value in spec["meta"]:
        _text(draw, (x, y), label, normal, "#222")
        _text(draw, (x + 260, y), value, normal)
        y += 38
    y += 20
    for line in spec["customer"]:
        _text(draw, (x, y), line, normal, "#222")
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
        _text(draw, (x, y), description, normal)
        _text(draw, (right - 380, y), f"{quantity} x {unit_price}", normal, "#222")
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
        _text(draw, (right - 480, y), label, font)
        _right_text(draw, right, y, f"{amount:.2f}", font)
        y += 56 if font is big else 40
    _text(draw, (x, size[1] - 120), spec["footer"], normal, "#444")
    if digital:
        lines = [InvoiceLine(d, q, Decimal(p)) for d, q, p in spec["lines"]]
        xml = cii_xml(spec, lines, tax)
        content = factur_x_pdf(draw.pdf(), xml)
        return DemoDocument(spec["file"], content, total, spec.get("channel", "upload"))
    pages = [page]
    if spec.get("second_page"):
        second = Image.new("RGB", size, "white")
        second_draw = ImageDraw.Draw(second)
        for index, line in enumerate(spec["second_page"]):
            _text(second_draw, (x, 90 + index * 40), line, normal)
        pages.append(second)
    return DemoDocument(
        spec["file"], _encode(pages, spec["file"]), total, spec.get("channel", "upload")
    )


def _text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    font: Any,
    fill: str = "black",
) -> None:
    """Draw text word by word with a print-like word gap: Pillow's bundled font
    spaces words so tightly that OCR reads "NORDLICHTBUEROBEDARF" as one word,
    which no real invoice would make it do."""
    x, y = xy
    if isinstance(draw, PdfCanvas):
        # A text layer carries its own spaces: one run per line.
        draw.text(xy, text, font=font, fill=fill)
        return
    for word in text.split(" "):
        draw.text((x, y), word, font=font, fill=fill)
        x += draw.textlength(word, font=font) + _word_gap(font)


def _word_gap(font: Any) -> float:
    return float(font.size) * 0.4


def _text_width(draw: ImageDraw.ImageDraw, text: str, font: Any) -> float:
    words = text.split(" ")
    return sum(draw.textlength(w, font=font) for w in words) + _word_gap(font) * (
        len(words) - 1
    )


def _right_text(
    draw: ImageDraw.ImageDraw, right: int, y: int, text: str, font: Any
) -> None:
    _text(draw, (right - _text_width(draw, text, font), y), text, font)


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
