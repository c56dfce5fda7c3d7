"""The decode stage against the hostile corpus: each file refused with a reason
or read, never an unexpected exception, and bombs cost no memory."""

from __future__ import annotations

import pytest

from pipeline.decode import DecodeLimits, decode_document
from pipeline.errors import UnreadableDocument
from pipeline.filetypes import sniff
from pipeline.pdf_limits import MAX_CONTENT_BYTES_PER_PAGE, check_pdf_limits
from tests.hostile_corpus import (
    REFUSE,
    HostileFile,
    corpus,
    pdf,
    pdf_encrypted,
    pdf_image_bomb,
    pdf_stream_bomb,
    zero_page_pdf,
)

CASES = corpus()


def test_the_corpus_has_at_least_forty_distinct_cases() -> None:
    assert len(CASES) >= 40
    assert len({case.case for case in CASES}) == len(CASES)


@pytest.mark.parametrize("hostile", CASES, ids=lambda case: case.case)
def test_each_hostile_file_is_refused_with_a_reason_or_read(
    hostile: HostileFile,
) -> None:
    if sniff(hostile.content[:1024]) is None:
        assert hostile.expect == REFUSE  # the door refuses it by type
        return
    try:
        pages = decode_document(hostile.content, DecodeLimits())
    except UnreadableDocument as refusal:
        assert hostile.expect == REFUSE, refusal.reason
        assert len(refusal.reason) > 15
        return
    assert hostile.expect != REFUSE, f"{hostile.case} was read ({len(pages)} pages)"
    assert all(page.width <= 2400 and page.height <= 2400 for page in pages)


def test_a_content_stream_bomb_is_refused_before_rendering() -> None:
    with pytest.raises(UnreadableDocument, match="unpack to more than 32 MB"):
        check_pdf_limits(pdf_stream_bomb(MAX_CONTENT_BYTES_PER_PAGE + 1), max_pixels=1)


def test_a_content_stream_under_the_limit_is_read() -> None:
    pages = decode_document(pdf_stream_bomb(4 << 20), DecodeLimits())
    assert len(pages) == 1


def test_an_image_larger_than_the_pixel_limit_is_refused() -> None:
    with pytest.raises(UnreadableDocument, match="image of 3000 × 3000 pixels"):
        check_pdf_limits(pdf_image_bomb(3000), max_pixels=8_000_000)
    check_pdf_limits(pdf_image_bomb(2000), max_pixels=8_000_000)


def test_a_damaged_pdf_after_an_encrypted_one_is_not_called_password_protected() -> (
    None
):
    # PDFium's last error code outlives the document it was about.
    with pytest.raises(UnreadableDocument, match="password"):
        decode_document(pdf_encrypted("s3cret"), DecodeLimits())
    with pytest.raises(UnreadableDocument) as refusal:
        decode_document(zero_page_pdf(), DecodeLimits())
    assert "password" not in refusal.value.reason
    assert "no pages" in refusal.value.reason


def test_an_ordinary_pdf_passes_the_limits() -> None:
    check_pdf_limits(pdf(pages=3), max_pixels=60_000_000)
