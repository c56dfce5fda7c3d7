"""Refuse a PDF whose pages would unpack to far more than they weigh.

PDFium inflates every content stream and image a page draws before it renders
the page, whatever size the result has: a 300 KB file can hold a content
stream that inflates to gigabytes or a 20,000 by 20,000 image. These checks
read only the page tree and stream dictionaries, and measure compressed
content streams by inflating them in bounded pieces that are thrown away, so
a bomb costs a refusal and a few megabytes, never the worker.

A PDF that pypdf cannot walk is left to PDFium, which reports damage itself.
"""

from __future__ import annotations

import io
import logging
import zlib
from collections.abc import Iterator
from typing import Any

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

from pipeline.errors import UnreadableDocument

logger = logging.getLogger(__name__)

# A scanned or generated invoice page's drawing commands take kilobytes; this
# is generous and still keeps a bomb to a bounded, brief allocation.
MAX_CONTENT_BYTES_PER_PAGE = 32 * 1024 * 1024
_INFLATE_PIECE = 1024 * 1024
# Form XObjects nest; a loop of them must not recurse for ever.
_MAX_FORM_DEPTH = 8


def check_pdf_limits(data: bytes, *, max_pixels: int) -> None:
    """Raise UnreadableDocument if a page's content inflates beyond
    MAX_CONTENT_BYTES_PER_PAGE or it draws an image larger than `max_pixels`."""
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            return  # PDFium asks for the password
        pages = list(reader.pages)
    except Exception:  # pypdf raises many kinds of error on broken files
        logger.info("pdf limits: pypdf cannot walk this PDF", exc_info=True)
        return
    for number, page in enumerate(pages, start=1):
        try:
            _check_page(page, number, max_pixels)
        except UnreadableDocument:
            raise
        except Exception:
            logger.info("pdf limits: cannot walk page %s", number, exc_info=True)


def _check_page(page: DictionaryObject, number: int, max_pixels: int) -> None:
    inflated = 0
    for stream in _streams(page.get("/Contents")):
        inflated += _inflated_size(stream, MAX_CONTENT_BYTES_PER_PAGE - inflated)
        if inflated > MAX_CONTENT_BYTES_PER_PAGE:
            raise UnreadableDocument(
                f"page {number} of the PDF holds drawing instructions that unpack "
                f"to more than {MAX_CONTENT_BYTES_PER_PAGE // 1048576} MB; it is "
                "not a normal document. Print it to a new PDF or scan it"
            )
    _check_images(_resolve(page.get("/Resources")), number, max_pixels, depth=0)


def _check_images(resources: Any, number: int, max_pixels: int, *, depth: int) -> None:
    if not isinstance(resources, DictionaryObject) or depth > _MAX_FORM_DEPTH:
        return
    xobjects = _resolve(resources.get("/XObject"))
    if not isinstance(xobjects, DictionaryObject):
        return
    for value in xobjects.values():
        xobject = _resolve(value)
        if not isinstance(xobject, StreamObject):
            continue
        subtype = xobject.get("/Subtype")
        if subtype == "/Image":
            width = int(_resolve(xobject.get("/Width", 0)) or 0)
            height = int(_resolve(xobject.get("/Height", 0)) or 0)
            if width * height > max_pixels:
                raise UnreadableDocument(
                    f"page {number} of the PDF holds an image of {width} × "
                    f"{height} pixels; the limit is "
                    f"{max_pixels / 1_000_000:.0f} megapixels"
                )
        elif subtype == "/Form":
            _check_images(
                _resolve(xobject.get("/Resources")),
                number,
                max_pixels,
                depth=depth + 1,
            )


def _resolve(value: Any) -> Any:
    return value.get_object() if isinstance(value, IndirectObject) else value


def _streams(contents: Any) -> Iterator[StreamObject]:
    contents = _resolve(contents)
    if isinstance(contents, StreamObject):
        yield contents
    elif isinstance(contents, ArrayObject):
        for item in contents:
            item = _resolve(item)
            if isinstance(item, StreamObject):
                yield item


def _inflated_size(stream: StreamObject, budget: int) -> int:
    """The stream's decoded size, counted up to just past `budget`. Only
    FlateDecode expands much; other filters count as their encoded size."""
    raw = stream._data
    filters = _resolve(stream.get("/Filter"))
    if isinstance(filters, ArrayObject):
        filters = [_resolve(item) for item in filters]
    else:
        filters = [filters] if filters else []
    if not filters or filters[0] not in ("/FlateDecode", "/Fl"):
        return len(raw)
    inflater = zlib.decompressobj()
    size, pending = 0, raw
    try:
        while pending and size <= budget:
            piece = inflater.decompress(pending, _INFLATE_PIECE)
            size += len(piece)
            pending = inflater.unconsumed_tail
            if not piece and not pending:
                break
    except zlib.error:
        pass  # damaged: PDFium decides what it can draw
    return size
