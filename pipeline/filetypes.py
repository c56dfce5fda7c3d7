"""Decide what a file is from its first bytes, never from its name."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class FileType:
    content_type: str
    extension: str
    label: str
    # How a list of accepted formats names it; the label's first word if empty.
    listed_as: str = ""


PDF = FileType("application/pdf", ".pdf", "PDF")
PNG = FileType("image/png", ".png", "PNG image")
JPEG = FileType("image/jpeg", ".jpg", "JPEG image")
TIFF = FileType("image/tiff", ".tif", "TIFF image")
WEBP = FileType("image/webp", ".webp", "WebP image")
HEIC = FileType("image/heic", ".heic", "HEIC image")
# UBL or CII e-invoices; whether it is one is decided by parsing, in decode.
XML = FileType("application/xml", ".xml", "XML e-invoice", "e-invoice XML")

ACCEPTED: tuple[FileType, ...] = (PDF, PNG, JPEG, TIFF, WEBP, HEIC, XML)
# ISO base media "ftyp" brands of still HEIF images: what iPhones and most
# Android phones save photos as.
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1")
BY_CONTENT_TYPE = {file_type.content_type: file_type for file_type in ACCEPTED}

# How many leading bytes `sniff` needs: PDF readers accept "%PDF-" anywhere in the
# first kilobyte, so we do too.
SNIFF_BYTES = 1024
# An XML declaration, or a root element's start tag straight away (the
# declaration is optional).
_XML_START = re.compile(rb"<\?xml[\s?]|<[A-Za-z_][\w.:-]*[\s/>]")
_FIRST_ELEMENT = re.compile(rb"<(?:[\w.-]+:)?([A-Za-z_][\w.-]*)[\s/>]")
# Markup that runs scripts in a browser is never an e-invoice: refused at the
# door like any other file Vouch cannot read, never stored.
_ACTIVE_MARKUP = frozenset({b"svg", b"html"})


def sniff(head: bytes) -> FileType | None:
    """The accepted type these leading bytes belong to, or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return TIFF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return HEIC
    if b"%PDF-" in head[:SNIFF_BYTES]:
        return PDF
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if _XML_START.match(text):
        root = _FIRST_ELEMENT.search(text)
        if root is None or root.group(1).lower() not in _ACTIVE_MARKUP:
            return XML
    return None


def describe_accepted(*, last: str = "") -> str:
    """The accepted formats for a message: "PDF, PNG, ..., e-invoice XML", or
    with `last="or"`: "PDF, PNG, ... or e-invoice XML"."""
    names = [
        file_type.listed_as or file_type.label.split()[0] for file_type in ACCEPTED
    ]
    if not last:
        return ", ".join(names)
    return ", ".join(names[:-1]) + f" {last} {names[-1]}"
