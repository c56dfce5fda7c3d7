"""Decoding: every accepted format becomes pages; bad input becomes a reason."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter

from pipeline.decode import DecodeLimits, decode_document, read_image_header
from pipeline.errors import UnreadableDocument
from pipeline.filetypes import HEIC, JPEG, PDF, PNG, TIFF, WEBP, FileType, sniff
from pipeline.types import PageImage
from tests.conftest import DATASETS, RECEIPT, text_image

DATASETS_INVOICE = DATASETS / "invoice2data-tests" / "files" / "AmazonWebServices.pdf"

LIMITS = DecodeLimits()


def image_bytes(fmt: str, size: tuple[int, int] = (300, 200), **save: object) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "white").save(buffer, format=fmt, **save)
    return buffer.getvalue()


def pdf_bytes(pages: int = 1, password: str | None = None) -> bytes:
    images = [Image.new("RGB", (850, 1100), "white") for _ in range(pages)]
    buffer = io.BytesIO()
    images[0].save(buffer, format="PDF", save_all=True, append_images=images[1:])
    if password is None:
        return buffer.getvalue()
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(buffer.getvalue())))
    writer.encrypt(password)
    encrypted = io.BytesIO()
    writer.write(encrypted)
    return encrypted.getvalue()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (image_bytes("PNG"), PNG),
        (image_bytes("JPEG"), JPEG),
        (image_bytes("TIFF"), TIFF),
        (pdf_bytes(), PDF),
        (b"\r\n%PDF-1.7 with junk before the header", PDF),
        (b"PK\x03\x04 a zip file", None),
        (b"<html>not a document</html>", None),
        (b"", None),
    ],
)
def test_type_is_decided_by_content(data: bytes, expected: object) -> None:
    assert sniff(data[:1024]) is expected


def test_a_real_receipt_becomes_one_page_with_its_size() -> None:
    pages = decode_document(RECEIPT.read_bytes(), LIMITS)
    assert len(pages) == 1
    assert (pages[0].width, pages[0].height) == (459, 949)
    assert pages[0].image_bytes.startswith(b"\xff\xd8")


def test_multi_page_tiff_gives_every_page() -> None:
    frames = [Image.new("L", (400, 300), shade) for shade in (255, 200, 150)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="TIFF", save_all=True, append_images=frames[1:])
    pages = decode_document(buffer.getvalue(), LIMITS)
    assert [page.number for page in pages] == [1, 2, 3]


def test_pdf_pages_are_rendered_at_the_configured_dpi() -> None:
    pages = decode_document(pdf_bytes(pages=2), LIMITS)
    assert len(pages) == 2
    # Pillow writes 850x1100 px at 72 dpi: an 11.8 x 15.3 inch page.
    assert max(pages[0].width, pages[0].height) == LIMITS.max_side


def test_large_images_are_scaled_to_the_longest_side_limit() -> None:
    pages = decode_document(image_bytes("PNG", (4800, 1200)), LIMITS)
    assert (pages[0].width, pages[0].height) == (2400, 600)


def test_transparent_png_is_flattened_onto_white() -> None:
    buffer = io.BytesIO()
    Image.new("RGBA", (50, 50), (0, 0, 0, 0)).save(buffer, format="PNG")
    page = decode_document(buffer.getvalue(), LIMITS)[0]
    with Image.open(io.BytesIO(page.image_bytes)) as image:
        assert image.getpixel((25, 25))[0] > 240


def test_pdf_text_layer_is_used_when_present() -> None:
    invoice = DATASETS_INVOICE.read_bytes()
    page = decode_document(invoice, LIMITS)[0]
    assert page.text_lines is not None
    assert any("Amazon Web Services" in line.text for line in page.text_lines)
    ocr_only = decode_document(invoice, DecodeLimits(use_text_layer=False))[0]
    assert ocr_only.text_lines is None


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (pdf_bytes()[:200], "truncated or damaged"),
        (b"%PDF-1.4\n" + b"\x00garbage" * 50, "truncated or damaged"),
        (pdf_bytes(password="s3cret"), "password-protected"),
        (image_bytes("JPEG")[:120], "truncated or damaged"),
        (image_bytes("PNG")[:60], "truncated or damaged"),
        (b"GIF89a not accepted",
         "not a PDF, PNG, JPEG, TIFF, WebP, HEIC or e-invoice XML"),
    ],
    ids=["empty", "truncated-pdf", "corrupt-pdf", "password-pdf", "truncated-jpeg",
         "truncated-png", "gif"],
)  # fmt: skip
def test_bad_input_gets_a_reason_a_person_can_act_on(data: bytes, reason: str) -> None:
    with pytest.raises(UnreadableDocument) as refused:
        decode_document(data, LIMITS)
    assert reason in refused.value.reason


def test_pixel_limit_is_checked_from_the_header_before_decoding() -> None:
    limits = DecodeLimits(max_pixels=1_000_000)
    bomb = image_bytes("PNG", (2000, 2000))
    with pytest.raises(UnreadableDocument, match=r"too large .*2000 × 2000"):
        read_image_header(bomb, limits)
    with pytest.raises(UnreadableDocument, match="limit is 1 megapixels"):
        decode_document(bomb, limits)


def test_page_limit_applies_to_pdf_and_tiff() -> None:
    limits = DecodeLimits(max_pages=2)
    with pytest.raises(UnreadableDocument, match="3 pages; the limit is 2"):
        decode_document(pdf_bytes(pages=3), limits)
    frames = [Image.new("L", (40, 30)) for _ in range(3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="TIFF", save_all=True, append_images=frames[1:])
    with pytest.raises(UnreadableDocument, match="3 pages; the limit is 2"):
        decode_document(buffer.getvalue(), limits)


def test_text_image_helper_makes_a_decodable_page() -> None:
    assert decode_document(text_image(["hello"]), LIMITS)[0].width == 800


def phone_photo(fmt: str) -> tuple[bytes, Image.Image]:
    """The receipt as a phone stores a photo taken sideways: pixels turned a
    quarter, EXIF orientation 6 ("turn 90° clockwise to view")."""
    with Image.open(RECEIPT) as image:
        upright = image.convert("RGB")
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    stored.save(buffer, format=fmt, exif=exif.tobytes(), quality=90)
    return buffer.getvalue(), upright


def same_picture(page: PageImage, upright: Image.Image) -> float:
    with Image.open(io.BytesIO(page.image_bytes)) as decoded:
        ours = np.asarray(decoded.convert("L").resize((100, 200)), np.float32)
    theirs = np.asarray(upright.convert("L").resize((100, 200)), np.float32)
    return float(np.corrcoef(ours.ravel(), theirs.ravel())[0, 1])


@pytest.mark.parametrize(("fmt", "expected"), [("WEBP", WEBP), ("HEIF", HEIC)])
def test_phone_photos_in_webp_and_heic_are_read_upright(
    fmt: str, expected: FileType
) -> None:
    data, upright = phone_photo(fmt)
    assert sniff(data[:1024]) is expected
    (page,) = decode_document(data, LIMITS)
    assert (page.width, page.height) == upright.size
    assert same_picture(page, upright) > 0.9


def test_a_damaged_heic_is_refused_with_a_reason() -> None:
    data, _ = phone_photo("HEIF")
    with pytest.raises(UnreadableDocument, match="damaged"):
        decode_document(data[: len(data) // 2], LIMITS)
