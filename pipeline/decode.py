"""Bytes in, page images out: the first stage, and the only one that parses files.

Limits are checked from headers before anything is decoded in full, so a
decompression bomb or a 10,000-page PDF costs nothing but a refusal.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pillow_heif
import pypdfium2 as pdfium
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError
from pypdf import PdfReader

from pipeline.einvoice_file import render_einvoice_file
from pipeline.errors import UnreadableDocument
from pipeline.filetypes import PDF, XML, FileType, describe_accepted, sniff
from pipeline.pdf_limits import check_pdf_limits
from pipeline.pdftext import text_layer_lines
from pipeline.types import PageImage

# Pillow opens HEIC/HEIF photos through pillow-heif, which applies the
# photo's rotation as it decodes and reports EXIF orientation 1, so the
# `ImageOps.exif_transpose` every format goes through never turns it twice.
pillow_heif.register_heif_opener()


@dataclass(frozen=True)
class DecodeLimits:
    max_pages: int = 50
    max_pixels: int = 60_000_000  # per page, as stored in the file
    # Pages are scaled so their longest side is at most this: enough for OCR of
    # small print on A4 at ~200 dpi, and it bounds worker memory per page.
    max_side: int = 2400
    pdf_dpi: int = 200
    # False reads every page as a scan: no PDF text layer and no embedded
    # e-invoice XML (the --ocr-only measurement, or a distrusted digital layer).
    use_text_layer: bool = True


@dataclass(frozen=True)
class ImageHeader:
    width: int
    height: int
    frames: int


def read_image_header(data: bytes, limits: DecodeLimits) -> ImageHeader:
    """Open an image lazily and check its size and frame count against the limits.

    Raises UnreadableDocument for anything that is not a readable image or that
    exceeds a limit. Nothing beyond the header is decoded.
    """
    if not data:
        raise UnreadableDocument("the file is empty")
    try:
        # Only the header is read here, so Pillow's own bomb check may stand aside
        # for ours, which can name the size.
        with _pillow_pixel_limit(None), Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            frames = int(getattr(image, "n_frames", 1))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(None, None, limits) from None
    except UnidentifiedImageError:
        # Pillow's own message names an in-memory object, which helps nobody.
        raise UnreadableDocument(
            "the image is damaged: its header cannot be read; scan or export it again"
        ) from None
    except (OSError, SyntaxError, ValueError) as error:
        raise UnreadableDocument(
            f"the image is truncated or damaged ({error})"
        ) from None
    if width * height > limits.max_pixels:
        raise _too_many_pixels(width, height, limits)
    if frames > limits.max_pages:
        raise UnreadableDocument(
            f"the image has {frames} pages; the limit is {limits.max_pages}"
        )
    return ImageHeader(width=width, height=height, frames=frames)


def decode_document(data: bytes, limits: DecodeLimits) -> tuple[PageImage, ...]:
    """Render every page of a PDF, PNG, JPEG, WebP, HEIC or (multi-page) TIFF,
    or of the page Vouch lays out for a UBL or CII e-invoice XML file.

    Raises UnreadableDocument with a reason the sender can act on.
    """
    if not data:
        raise UnreadableDocument("the file is empty")
    file_type = sniff(data[:1024])
    if file_type is None:
        raise UnreadableDocument(f"the file is not a {describe_accepted(last='or')}")
    if file_type is PDF:
        return _decode_pdf(data, limits)
    if file_type is XML:
        # Rendered as a PDF so the page comes with a text layer: each value
        # read from the XML can then be pointed at on the review page.
        rendered = render_einvoice_file(data, max_pages=limits.max_pages)
        return _decode_pdf(rendered, limits)
    return _decode_image(data, file_type, limits)


def _decode_image(
    data: bytes, file_type: FileType, limits: DecodeLimits
) -> tuple[PageImage, ...]:
    read_image_header(data, limits)
    pages: list[PageImage] = []
    try:
        with (
            _pillow_pixel_limit(limits.max_pixels),
            Image.open(io.BytesIO(data)) as image,
        ):
            dpi = _dpi_of(image)
            if image.format == "JPEG":
                # Let libjpeg decode at 1/2, 1/4 or 1/8 scale: a 35 MP phone photo
                # never exists at full size in memory.
                image.draft("RGB", (limits.max_side, limits.max_side))
            for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
                pages.append(_page_from_pil(frame, number, dpi, limits))
    except UnreadableDocument:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(None, None, limits) from None
    except (OSError, SyntaxError, ValueError) as error:
        raise UnreadableDocument(
            f"the {file_type.label} is truncated or damaged ({error})"
        ) from None
    return tuple(pages)


def _decode_pdf(data: bytes, limits: DecodeLimits) -> tuple[PageImage, ...]:
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        # PDFium's error code is its last one, which may be left over from an
        # earlier document in this process: ask the file itself too.
        if getattr(
            error, "err_code", None
        ) == pdfium.raw.FPDF_ERR_PASSWORD and _is_encrypted(data):
            raise UnreadableDocument(
                "the PDF is password-protected; upload an unprotected copy"
            ) from None
        raise UnreadableDocument(
            "could not read this PDF: it is truncated or damaged, or has no pages"
        ) from None
    try:
        page_count = len(document)
        if page_count == 0:
            raise UnreadableDocument("the PDF has no pages")
        if page_count > limits.max_pages:
            raise UnreadableDocument(
                f"the PDF has {page_count} pages; the limit is {limits.max_pages}"
            )
        check_pdf_limits(data, max_pixels=limits.max_pixels)
        pages = []
        for index in range(page_count):
            try:
                page = document[index]
            except pdfium.PdfiumError as error:
                raise UnreadableDocument(
                    f"could not read page {index + 1} of this PDF ({error}); "
                    "it is damaged"
                ) from None
            try:
                width_pt, height_pt = page.get_size()
                longest_pt = max(width_pt, height_pt, 1.0)
                scale = min(limits.pdf_dpi / 72, limits.max_side / longest_pt)
                bitmap = page.render(scale=scale)
                image = bitmap.to_pil()
                lines = (
                    text_layer_lines(page, scale, index + 1)
                    if limits.use_text_layer
                    else None
                )
            except pdfium.PdfiumError as error:
                raise UnreadableDocument(
                    f"could not read page {index + 1} of this PDF ({error})"
                ) from None
            finally:
                page.close()
            page_image = _page_from_pil(image, index + 1, round(scale * 72), limits)
            pages.append(
                PageImage(
                    number=page_image.number,
                    width=page_image.width,
                    height=page_image.height,
                    dpi=page_image.dpi,
                    image_bytes=page_image.image_bytes,
                    image_format=page_image.image_format,
                    text_lines=lines,
                )
            )
        return tuple(pages)
    finally:
        document.close()


def _is_encrypted(data: bytes) -> bool:
    try:
        return bool(PdfReader(io.BytesIO(data), strict=False).is_encrypted)
    except Exception:  # pypdf raises many kinds of error on broken files
        return False


def _page_from_pil(
    image: Image.Image, number: int, dpi: int, limits: DecodeLimits
) -> PageImage:
    image = ImageOps.exif_transpose(image) or image
    image = _to_rgb(image)
    longest = max(image.size)
    if longest > limits.max_side:
        ratio = limits.max_side / longest
        size = (max(1, round(image.width * ratio)), max(1, round(image.height * ratio)))
        image = image.resize(size, Image.Resampling.LANCZOS)
        dpi = max(1, round(dpi * ratio))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90, optimize=True)
    return PageImage(
        number=number,
        width=image.width,
        height=image.height,
        dpi=dpi,
        image_bytes=buffer.getvalue(),
        image_format="JPEG",
    )


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA") or (
        image.mode == "P" and "transparency" in image.info
    ):
        # Transparent areas are paper: composite onto white, not black.
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        return ImageOps.autocontrast(image.convert("L")).convert("RGB")
    return image.convert("RGB")


def _dpi_of(image: Image.Image) -> int:
    dpi = image.info.get("dpi")
    try:
        value = round(float(dpi[0])) if dpi else 0
    except (TypeError, ValueError, IndexError):
        value = 0
    return value if 30 <= value <= 2400 else 150


def _too_many_pixels(
    width: int | None, height: int | None, limits: DecodeLimits
) -> UnreadableDocument:
    size = f" ({width} × {height} pixels)" if width and height else ""
    return UnreadableDocument(
        f"the image is too large{size}; the limit is "
        f"{limits.max_pixels / 1_000_000:.0f} megapixels per page"
    )


@contextmanager
def _pillow_pixel_limit(max_pixels: int | None) -> Iterator[None]:
    """Make Pillow refuse, at our limit, images it would only warn about."""
    saved = Image.MAX_IMAGE_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        Image.MAX_IMAGE_PIXELS = max_pixels
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved
