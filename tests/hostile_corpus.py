"""Hostile uploads, generated (no committed binaries): bombs, damage, polyglots,
active PDFs, XML attacks, disguised files and nasty names.

Each case says what Vouch must do with it:
- REFUSE: refused at the door or marked failed by the worker, with a reason;
- ACCEPT: a file that is valid whatever else it carries (a PDF with a ZIP
  appended is still a PDF, a hostile name on a valid image): it is read, and
  the test checks what matters for it instead (the name kept harmless, the
  active content never run or served as anything but its sniffed type).
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import (
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    TextStringObject,
)

REFUSE = "refuse"
ACCEPT = "accept"


@dataclass(frozen=True)
class HostileFile:
    case: str
    name: str
    content: bytes
    expect: str
    why: str


# --- small builders -------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def _zeros_deflated(total: int, *, chunk: int = 1 << 20) -> bytes:
    """zlib of `total` zero bytes, compressed without ever holding them all."""
    compressor = zlib.compressobj(9)
    block = bytes(chunk)
    out = []
    remaining = total
    while remaining > 0:
        size = min(chunk, remaining)
        out.append(compressor.compress(block[:size]))
        remaining -= size
    out.append(compressor.flush())
    return b"".join(out)


def png_bomb(width: int, height: int) -> bytes:
    """A 1-bit grey PNG of width x height whose IDAT inflates to ~width*height/8."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = (width + 7) // 8 + 1  # filter byte per row
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", _zeros_deflated(row * height))
        + _png_chunk(b"IEND", b"")
    )


def png_text_bomb() -> bytes:
    """A tiny valid PNG with a zTXt chunk inflating to 64 MB of text."""
    small = image_bytes("PNG")
    text = _png_chunk(b"zTXt", b"Comment\x00\x00" + _zeros_deflated(64 << 20))
    return small[:33] + text + small[33:]


def image_bytes(fmt: str, size: tuple[int, int] = (400, 300), **save: object) -> bytes:
    image = Image.new("RGB", size, "white")
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save)
    return buffer.getvalue()


def tiff_with_header(width: int, height: int, *, deflate_bytes: int) -> bytes:
    """A one-strip deflate TIFF claiming width x height (8-bit grey)."""
    strip = _zeros_deflated(deflate_bytes)
    entries = [
        (256, 4, 1, width),  # ImageWidth
        (257, 4, 1, height),  # ImageLength
        (258, 3, 1, 8),  # BitsPerSample
        (259, 3, 1, 8),  # Compression: deflate
        (262, 3, 1, 1),  # Photometric: black is zero
        (273, 4, 1, 0),  # StripOffsets, patched below
        (277, 3, 1, 1),  # SamplesPerPixel
        (278, 4, 1, height),  # RowsPerStrip
        (279, 4, 1, len(strip)),  # StripByteCounts
    ]
    ifd_offset = 8
    ifd_size = 2 + 12 * len(entries) + 4
    data_offset = ifd_offset + ifd_size
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        if tag == 273:
            value = data_offset
        packed = struct.pack("<I", value) if kind == 4 else struct.pack("<HH", value, 0)
        ifd += struct.pack("<HHI", tag, kind, count) + packed
    ifd += struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", ifd_offset) + ifd + strip


def multipage_tiff(frames: list[tuple[int, int]]) -> bytes:
    images = [Image.new("L", size, 255) for size in frames]
    buffer = io.BytesIO()
    images[0].save(
        buffer,
        format="TIFF",
        save_all=True,
        append_images=images[1:],
        compression="tiff_adobe_deflate",
    )
    return buffer.getvalue()


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small JPEG whose frame header (SOF0) is patched to claim width x height."""
    data = bytearray(image_bytes("JPEG", (64, 64)))
    at = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, at + 5, height, width)
    return bytes(data)


def pdf(
    *,
    pages: int = 1,
    size: tuple[float, float] = (595, 842),
    text: str = "Invoice 1001 Total 12.50",
    extra: dict[str, object] | None = None,
    content: bytes | None = None,
) -> bytes:
    """A PDF with `pages` pages of one text line; `extra` goes into the catalog."""
    writer = PdfWriter()
    font = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
    )
    stream = DecodedStreamObject()
    stream.set_data(content or f"BT /F1 12 Tf 50 780 Td ({text}) Tj ET".encode())
    stream_ref = writer._add_object(stream)
    for _ in range(pages):
        page = writer.add_blank_page(width=size[0], height=size[1])
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
        page[NameObject("/Contents")] = stream_ref
    for key, value in (extra or {}).items():
        writer._root_object[NameObject(key)] = value  # type: ignore[assignment]
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def pdf_with_attachment(name: str, data: bytes) -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(pdf()))
    writer.add_attachment(name, data)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def pdf_encrypted(user_password: str) -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(pdf()))
    writer.encrypt(user_password=user_password, owner_password="owner-secret")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def pdf_stream_bomb(inflated: int) -> bytes:
    """A page whose content stream is FlateDecode of `inflated` bytes of spaces'
    worth of zeros (a no-op stream a reader must still inflate)."""
    raw = pdf(content=b"%%BOMB%%")
    bomb = _zeros_deflated(inflated)
    marker = raw.index(b"%%BOMB%%")
    dictionary_start = raw.rindex(b"<<", 0, marker)
    head = raw[:dictionary_start]
    tail = raw[raw.index(b"endstream", marker) + len(b"endstream") :]
    stream = (
        f"<< /Length {len(bomb)} /Filter /FlateDecode >>\nstream\n".encode()
        + bomb
        + b"\nendstream"
    )
    # The xref offsets after the stream are now wrong; PDF readers rebuild them,
    # which is itself part of what a hostile file makes them do.
    return head + stream + tail


def pdf_image_bomb(side: int) -> bytes:
    """A page drawing a side x side grey image XObject of deflated zeros."""
    bomb = _zeros_deflated(side * side)
    image = (
        (
            f"<< /Type /XObject /Subtype /Image /Width {side} /Height {side} "
            f"/ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode "
            f"/Length {len(bomb)} >>\nstream\n"
        ).encode()
        + bomb
        + b"\nendstream"
    )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /XObject << /Im1 4 0 R >> >> /Contents 5 0 R >>",
        image,
        b"<< /Length 33 >>\nstream\nq 595 0 0 842 0 0 cm /Im1 Do Q\nendstream",
    ]
    return _raw_pdf(objects)


def _raw_pdf(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n"
        f"startxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


def zero_page_pdf() -> bytes:
    return _raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [] /Count 0 >>",
        ]
    )


def page_tree_loop_pdf() -> bytes:
    """A page tree whose Pages node lists itself as its own kid."""
    return _raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>",
        ]
    )


def zip_bytes(members: dict[str, bytes]) -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def corrupt(data: bytes, keep: int = 32) -> bytes:
    """The first `keep` bytes (the magic and header) followed by noise."""
    noise = bytes((index * 131 + 7) % 256 for index in range(4096))
    return data[:keep] + noise


XXE = (
    b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    b'<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:'
    b'CrossIndustryInvoice:100"><rsm:ExchangedDocument>&xxe;</rsm:ExchangedDocument>'
    b"</rsm:CrossIndustryInvoice>"
)


def billion_laughs() -> bytes:
    entities = b'<!ENTITY l0 "lol">'
    for level in range(1, 10):
        entities += f'<!ENTITY l{level} "{f"&l{level - 1};" * 10}">'.encode()
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE r [' + entities + b"]>\n"
        b'<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:'
        b'CrossIndustryInvoice:100">&l9;</rsm:CrossIndustryInvoice>'
    )


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" '
    b'height="10"><script>alert(document.cookie)</script></svg>'
)
HTML = (
    b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
)


def corpus() -> list[HostileFile]:
    """Every hostile case (at least 40)."""
    png, jpeg = image_bytes("PNG"), image_bytes("JPEG")
    tiff, a_pdf = image_bytes("TIFF"), pdf()
    js = DictionaryObject(
        {
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.alert('pwned');"),
        }
    )
    launch = DictionaryObject(
        {
            NameObject("/S"): NameObject("/Launch"),
            NameObject("/F"): TextStringObject("calc.exe"),
        }
    )
    cases = [
        # decompression bombs
        HostileFile("png-bomb-20k", "bomb.png", png_bomb(20_000, 20_000), REFUSE,
                    "400 MP PNG, 50 MB inflated"),
        HostileFile("png-bomb-tall", "tall.png", png_bomb(1_000, 200_000), REFUSE,
                    "200 MP PNG"),
        HostileFile("png-ztxt-bomb", "text-bomb.png", png_text_bomb(), REFUSE,
                    "64 MB zTXt chunk on a small valid image"),
        HostileFile("tiff-bomb", "bomb.tif",
                    tiff_with_header(30_000, 30_000, deflate_bytes=1 << 20), REFUSE,
                    "900 MP deflate TIFF"),
        HostileFile("tiff-big-second-frame", "frames.tif",
                    multipage_tiff([(100, 100), (9_000, 9_000)]), REFUSE,
                    "small first page, 81 MP second page"),
        HostileFile("pdf-stream-bomb", "stream-bomb.pdf",
                    pdf_stream_bomb(256 << 20), REFUSE,
                    "content stream inflating to 256 MB"),
        HostileFile("pdf-image-bomb", "image-bomb.pdf", pdf_image_bomb(20_000),
                    REFUSE, "20000² image XObject (400 MB inflated) on an A4 page"),
        # huge dimensions and page counts
        HostileFile("jpeg-65k-claimed", "huge.jpg", jpeg_claiming(65_000, 65_000),
                    REFUSE, "JPEG header claiming 65000 × 65000"),
        HostileFile("pdf-huge-page", "poster.pdf", pdf(size=(14_400, 14_400)),
                    ACCEPT, "a 200 × 200 inch page (PDF's maximum)"),
        HostileFile("pdf-3000-pages", "pages.pdf", pdf(pages=3_000), REFUSE,
                    "3,000 pages"),
        HostileFile("tiff-200-frames", "frames200.tif",
                    multipage_tiff([(20, 20)] * 200), REFUSE, "200 pages"),
        # truncated and corrupt files of every accepted format
        HostileFile("png-truncated", "cut.png", png[: len(png) // 2], REFUSE, "half"),
        HostileFile("jpeg-truncated", "cut.jpg", jpeg[: len(jpeg) // 3], REFUSE,
                    "a third"),
        HostileFile("tiff-truncated", "cut.tif", tiff[:200], REFUSE, "200 bytes"),
        HostileFile("pdf-truncated", "cut.pdf", a_pdf[: len(a_pdf) // 2], REFUSE,
                    "half"),
        HostileFile("png-corrupt", "noise.png", corrupt(png), REFUSE,
                    "header then noise"),
        HostileFile("jpeg-corrupt", "noise.jpg", corrupt(jpeg, 20), REFUSE,
                    "header then noise"),
        HostileFile("tiff-corrupt", "noise.tif", corrupt(tiff, 8), REFUSE,
                    "header then noise"),
        HostileFile("pdf-corrupt", "noise.pdf", corrupt(a_pdf, 9), REFUSE,
                    "header then noise"),
        HostileFile("png-bad-crc", "crc.png", png[:29] + b"\x00\x00\x00\x00" + png[33:],
                    REFUSE, "IHDR checksum wrong"),
        HostileFile("pdf-page-tree-loop", "loop.pdf", page_tree_loop_pdf(), REFUSE,
                    "page tree that contains itself"),
        # polyglots
        HostileFile("pdf-zip-polyglot", "polyglot.pdf",
                    a_pdf + zip_bytes({"evil.exe": b"MZ" + bytes(64)}), ACCEPT,
                    "a valid PDF with a ZIP appended"),
        HostileFile("jpeg-html-polyglot", "polyglot.jpg", jpeg + HTML, ACCEPT,
                    "a valid JPEG with HTML appended"),
        HostileFile("zip-named-pdf", "archive.pdf", zip_bytes({"a.txt": b"x"}),
                    REFUSE, "a ZIP archive"),
        # active and protected PDFs
        HostileFile("pdf-javascript", "script.pdf",
                    pdf(extra={"/OpenAction": js}), ACCEPT,
                    "OpenAction JavaScript (never run: pages are rendered)"),
        HostileFile("pdf-launch", "launch.pdf",
                    pdf(extra={"/OpenAction": launch}), ACCEPT,
                    "OpenAction Launch calc.exe (never run)"),
        HostileFile("pdf-embedded-exe", "embedded.pdf",
                    pdf_with_attachment("payload.exe", b"MZ" + bytes(256)), ACCEPT,
                    "an embedded .exe (ignored: not e-invoice XML)"),
        HostileFile("pdf-encrypted", "locked.pdf", pdf_encrypted("s3cret"), REFUSE,
                    "needs a password to open"),
        HostileFile("pdf-owner-password-only", "owner.pdf", pdf_encrypted(""),
                    ACCEPT, "encrypted, opens without a password"),
        # e-invoice XML attacks
        HostileFile("xml-xxe-raw", "invoice.xml", XXE, REFUSE, "bare XML with XXE"),
        HostileFile("xml-billion-laughs-raw", "laughs.xml", billion_laughs(), REFUSE,
                    "bare XML with 10⁹ entity expansion"),
        HostileFile("xml-not-an-invoice", "catalog.xml",
                    b'<?xml version="1.0"?><catalog><book>Dune</book></catalog>',
                    REFUSE, "well-formed XML that is no invoice"),
        HostileFile("pdf-xxe-facturx", "xxe.pdf",
                    pdf_with_attachment("factur-x.xml", XXE), ACCEPT,
                    "Factur-X XML with an external entity (not resolved)"),
        HostileFile("pdf-billion-laughs", "laughs.pdf",
                    pdf_with_attachment("factur-x.xml", billion_laughs()), ACCEPT,
                    "Factur-X XML with 10⁹ entity expansion (not expanded)"),
        # disguised files
        HostileFile("svg-named-png", "logo.png", SVG, REFUSE, "SVG with script"),
        HostileFile("html-named-jpg", "photo.jpg", HTML, REFUSE, "HTML with script"),
        HostileFile("exe-named-pdf", "invoice.pdf", b"MZ" + bytes(1000), REFUSE,
                    "a Windows executable"),
        HostileFile("gif-named-png", "anim.png", image_bytes("GIF"), REFUSE,
                    "GIF, not an accepted format"),
        # WebP is a phone format Vouch reads (by content, whatever the name):
        # this blank one is kept and held for a new copy, not read.
        HostileFile("webp-named-jpg", "photo2.jpg", image_bytes("WEBP"), ACCEPT,
                    "WebP named .jpg, read by its content"),
        HostileFile("bmp-named-tif", "scan.tif", image_bytes("BMP"), REFUSE,
                    "BMP, not an accepted format"),
        # names
        HostileFile("name-path-traversal", "../../../../etc/cron.d/invoice.png",
                    image_bytes("PNG", (401, 300)), ACCEPT, "../ in the name"),
        HostileFile("name-nul", "invoice\x00.exe.png", image_bytes("PNG", (402, 300)),
                    ACCEPT, "NUL byte in the name"),
        HostileFile("name-very-long", "a" * 1_000 + ".png",
                    image_bytes("PNG", (403, 300)), ACCEPT, "1,004-character name"),
        HostileFile("name-rtl", "invoice\u202egnp.exe", image_bytes("PNG", (404, 300)),
                    ACCEPT, "right-to-left override hides .exe"),
        HostileFile("name-absolute-windows", "C:\\Windows\\System32\\inv.png",
                    image_bytes("PNG", (405, 300)), ACCEPT, "absolute Windows path"),
        # empty and zero-page
        HostileFile("empty", "empty.pdf", b"", REFUSE, "0 bytes"),
        HostileFile("pdf-zero-pages", "nopages.pdf", zero_page_pdf(), REFUSE,
                    "a PDF with no pages"),
    ]  # fmt: skip
    return cases
