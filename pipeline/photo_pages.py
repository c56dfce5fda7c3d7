"""Several phone photos, one per page, as one document.

The mobile capture page sends the pages of one document as separate photos.
They become one multi-page TIFF: each page upright (its EXIF orientation
applied, since TIFF pages carry none of their own), at its own size, JPEG
compressed as the camera's own file was, so nothing is scaled and the file
stays near the photos' size. The decoder reads it like a scanner's batch.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image, ImageOps, UnidentifiedImageError

from pipeline.errors import UnreadableDocument

JPEG_QUALITY = 92


def photos_as_one_document(photos: Sequence[bytes]) -> bytes:
    """The photos as the pages of one TIFF, in the order given. One photo is
    returned as it is (its own bytes are the best copy there is). Raises
    UnreadableDocument naming the page that is not an image."""
    if not photos:
        raise UnreadableDocument("no page was sent")
    if len(photos) == 1:
        return photos[0]
    pages = []
    for number, photo in enumerate(photos, start=1):
        try:
            with Image.open(io.BytesIO(photo)) as opened:
                upright = ImageOps.exif_transpose(opened) or opened
                pages.append(upright.convert("RGB"))
        except (UnidentifiedImageError, OSError) as error:
            reason = f"page {number} is not a photo ({error})"
            raise UnreadableDocument(reason) from None
    buffer = io.BytesIO()
    pages[0].save(
        buffer,
        format="TIFF",
        save_all=True,
        append_images=pages[1:],
        compression="jpeg",
        quality=JPEG_QUALITY,
    )
    return buffer.getvalue()
