"""The mobile capture page's two answers: a photo's capture check (nothing
stored) and the pages sent as one document."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from pipeline.decode import DecodeLimits, decode_document
from pipeline.photo_pages import photos_as_one_document
from reviewapp.models.documents import Document
from tests.conftest import RECEIPT, logged_in, make_user, text_image
from tests.reviewapp.test_capture_quality import TOO_DARK, dark_receipt

pytestmark = pytest.mark.django_db


def photo(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="image/jpeg")


def test_a_photo_is_checked_without_being_stored(clerk: User, media_root: Path) -> None:
    client = logged_in(clerk)

    good = client.post(
        "/capture/check/", {"photo": photo("p1.jpg", RECEIPT.read_bytes())}
    )
    dark = client.post("/capture/check/", {"photo": photo("p2.jpg", dark_receipt())})
    pdf = client.post("/capture/check/", {"photo": photo("x.pdf", b"%PDF-1.7\n")})

    assert good.json() == {"score": 100, "acceptable": True, "advice": []}
    assert dark.json()["acceptable"] is False
    assert TOO_DARK in dark.json()["advice"]
    assert pdf.status_code == 400
    assert "not a photo" in pdf.json()["error"]
    assert not Document.objects.exists()


def test_the_pages_are_sent_as_one_document_in_their_order(
    clerk: User, media_root: Path
) -> None:
    pages = [
        text_image(["Page one"], size=(600, 800), fmt="JPEG"),
        text_image(["Page two"], size=(610, 800), fmt="JPEG"),
        text_image(["Page three"], size=(620, 800), fmt="JPEG"),
    ]
    response = logged_in(clerk).post(
        "/capture/send/",
        {"page": [photo(f"IMG_{n}.jpg", content) for n, content in enumerate(pages)]},
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "IMG_0 (3 pages).tif"
    assert body["url"].startswith("/documents/")
    document = Document.objects.get()
    assert document.uploaded_by == clerk
    with document.original.open("rb") as stored:
        decoded = decode_document(stored.read(), DecodeLimits(max_pages=10))
    assert [page.width for page in decoded] == [600, 610, 620]


def test_a_page_that_is_no_photo_is_named_and_nothing_is_stored(
    clerk: User, media_root: Path
) -> None:
    response = logged_in(clerk).post(
        "/capture/send/",
        {
            "page": [
                photo("a.jpg", RECEIPT.read_bytes()),
                photo("b.jpg", b"not a photo"),
            ]
        },
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith("page 2 (b.jpg)")
    assert not Document.objects.exists()
    empty = logged_in(clerk).post("/capture/send/", {})
    assert empty.json() == {"error": "Take a photo of at least one page."}


def test_a_sideways_photo_becomes_an_upright_page() -> None:
    image = Image.new("RGB", (300, 200), "white")
    exif = image.getexif()
    exif[0x0112] = 6  # the camera was held sideways: turn 90° clockwise to view
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    upright = text_image(["x"], size=(200, 300), fmt="JPEG")

    combined = photos_as_one_document([buffer.getvalue(), upright])

    pages = decode_document(combined, DecodeLimits(max_pages=10))
    assert [(page.width, page.height) for page in pages] == [(200, 300), (200, 300)]


def test_only_people_who_may_upload_use_the_page(db: None) -> None:
    auditor = make_user("auditor", None)
    client = logged_in(auditor)
    refused = client.post(
        "/capture/check/", {"photo": photo("p.jpg", RECEIPT.read_bytes())}
    )
    assert refused.status_code == 403
