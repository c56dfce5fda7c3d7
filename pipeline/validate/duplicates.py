"""Finding an invoice that was already received, possibly by another channel.

Two signals: the same vendor with the same invoice number once spaces, dashes
and leading zeros are dropped; or the same vendor and total within a few days
whose text (character shingles) or page image (a 64-bit difference hash) is
nearly the same, which catches an emailed PDF and a scan of its printout.
"""

from __future__ import annotations

import io
import re
import zlib
from datetime import date

from PIL import Image

from pipeline.validate.types import (
    CURRENCY,
    INVOICE_DATE,
    INVOICE_NUMBER,
    TOTAL_AMOUNT,
    InvoiceData,
    Issue,
    PriorInvoice,
    ValidationContext,
)
from pipeline.validate.vendors import match_vendor
from pipeline.validate.wording import money

SHINGLE_SIZE = 5


def normalise_invoice_number(text: str) -> str:
    """ "INV-0042", "inv 42" and "INV0042" all become "INV42"; "2026-0142" and
    "2026/142" both "2026142". Leading zeros go from each run of digits."""
    pieces = re.findall(r"[0-9A-Z]+", text.upper())
    return "".join(re.sub(r"(?<![0-9])0+(?=[0-9])", "", piece) for piece in pieces)


def text_shingles(text: str) -> frozenset[int]:
    """Hashes of the overlapping 5-character pieces of `text`, with case,
    punctuation and spacing ignored (OCR and a text layer differ there).
    CRC32 keeps the hashes the same across processes, so they can be stored."""
    letters = re.sub(r"[\W_]+", "", text.lower())
    if len(letters) < SHINGLE_SIZE:
        return frozenset({zlib.crc32(letters.encode())}) if letters else frozenset()
    return frozenset(
        zlib.crc32(letters[i : i + SHINGLE_SIZE].encode())
        for i in range(len(letters) - SHINGLE_SIZE + 1)
    )


def shingle_similarity(first: frozenset[int], second: frozenset[int]) -> float:
    """Jaccard similarity 0..1 of two shingle sets; 0 when either is empty."""
    if not first or not second:
        return 0.0
    return len(first & second) / len(first | second)


def image_fingerprint(image_bytes: bytes) -> int:
    """A 64-bit difference hash of a page image: near-identical pages (a PDF
    render and a scan of its printout) differ in a few bits at most."""
    with Image.open(io.BytesIO(image_bytes)) as image:
        small = image.convert("L").resize((9, 8), Image.Resampling.LANCZOS)
        pixels = small.tobytes()  # one byte per pixel in mode L
    bits = 0
    for row in range(8):
        for column in range(8):
            left, right = pixels[row * 9 + column], pixels[row * 9 + column + 1]
            bits = (bits << 1) | (left > right)
    return bits


def fingerprint_distance(first: int, second: int) -> int:
    """How many of the 64 bits differ."""
    return (first ^ second).bit_count()


def _when(prior: PriorInvoice) -> date | None:
    return prior.invoice_date or prior.received_on


def _described(prior: PriorInvoice) -> str:
    when = _when(prior)
    parts = [f"dated {when.isoformat()}" if when else ""]
    if prior.channel:
        parts.append(f"received by {prior.channel}")
    return ", ".join(part for part in parts if part)


def duplicate_invoice(invoice: InvoiceData, context: ValidationContext) -> list[Issue]:
    """The invoice is not one already received from the same vendor.

    Needs a matched vendor. Reports each earlier document that has the same
    normalised invoice number, or the same total and currency within
    `tolerances.duplicate_window_days` and near-identical text or image.
    """
    match = match_vendor(invoice, context)
    if match is None:
        return []
    number = normalise_invoice_number(invoice.value(INVOICE_NUMBER))
    total = invoice.amount(TOTAL_AMOUNT)
    currency = invoice.value(CURRENCY).upper()
    invoice_date = invoice.date(INVOICE_DATE)
    shingles = text_shingles(invoice.text)
    tolerances = context.tolerances
    issues = []
    for prior in context.prior_invoices:
        if (
            prior.document_id == invoice.document_id
            or prior.vendor_id != match.vendor_id
        ):
            continue
        details = {"document_id": prior.document_id, "channel": prior.channel}
        if number and prior.invoice_number == number:
            issues.append(
                Issue(
                    code="duplicate_invoice_number",
                    severity="error",
                    fields=(INVOICE_NUMBER, "vendor_name"),
                    message=(
                        f"Invoice number {invoice.value(INVOICE_NUMBER)} from this "
                        f"vendor was already received ({_described(prior)})."
                    ),
                    details=details,
                )
            )
            continue
        if total is None or prior.total != total:
            continue
        if currency and prior.currency and prior.currency != currency:
            continue
        prior_date = _when(prior)
        if invoice_date is None or prior_date is None:
            continue
        if abs((invoice_date - prior_date).days) > tolerances.duplicate_window_days:
            continue
        similarity = shingle_similarity(shingles, prior.text_shingles)
        distance = (
            fingerprint_distance(invoice.image_fingerprint, prior.image_fingerprint)
            if invoice.image_fingerprint is not None
            and prior.image_fingerprint is not None
            else None
        )
        same_text = similarity >= tolerances.duplicate_text_similarity
        same_image = (
            distance is not None and distance <= tolerances.duplicate_image_max_distance
        )
        if not (same_text or same_image):
            continue
        evidence = (
            f"its text is {similarity:.0%} the same"
            if same_text
            else "its page looks the same"
        )
        issues.append(
            Issue(
                code="possible_duplicate",
                severity="error",
                fields=(TOTAL_AMOUNT, INVOICE_DATE, INVOICE_NUMBER),
                message=(
                    f"This looks like an invoice already received "
                    f"({_described(prior)}): same vendor and total "
                    f"{money(total)}, and {evidence}, though the invoice number "
                    "differs."
                ),
                details={
                    **details,
                    "text_similarity": round(similarity, 3),
                    "image_distance": distance,
                },
            )
        )
    return issues
