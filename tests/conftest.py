"""Personas, factories and shared fixtures for the whole suite."""

from __future__ import annotations

import io
import logging
import logging.config
import os
import secrets
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from PIL import Image, ImageDraw, ImageFont
from pytest_django.fixtures import Settings as SettingsWrapper

from pipeline.extract import extractors
from pipeline.ocr import ocr_engines
from pipeline.ocr.recorded import RecordedOcrEngine
from pipeline.types import OcrLine
from reviewapp import jobs, roles
from reviewapp.audit.log_masking import SensitiveValueFilter
from reviewapp.models.documents import Document
from reviewapp.models.fields import Field, LineItem
from reviewapp.runtime.local_stack import database_url
from reviewapp.services.ingest import document_ingest
from reviewapp.services.validation import document_refresh_review_columns

REPO = Path(__file__).resolve().parent.parent


def _datasets_dir() -> Path:
    """The shared dev datasets: $VOUCH_DATASETS, else `../shared/datasets` beside
    the checkout, else the workplace's /work/shared/datasets (a clean clone in
    CI may live elsewhere). Tests read them in place; they are never copied."""
    configured = os.environ.get("VOUCH_DATASETS")
    if configured:
        return Path(configured)
    candidates = [REPO.parent / "shared" / "datasets", Path("/work/shared/datasets")]
    return next((path for path in candidates if path.is_dir()), candidates[0])


DATASETS = _datasets_dir()
SROIE = DATASETS / "sroie2019-receipts"
RECEIPT = SROIE / "images" / "X00016469620.jpg"  # total 33.90, date 2019-01-12
RECORDED_OCR = "pipeline.ocr.recorded.RecordedOcrEngine"
PASSWORD = "correct horse 42"


def make_user(username: str, role: str | None) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD)
    if role is not None:
        # Transactional tests flush the groups the migration made: sync them again.
        roles.sync_roles(Group, Permission)
        user.groups.add(Group.objects.get(name=role))
    return user


def logged_in(user: User | None, *, csrf: bool = False) -> Client:
    """A test client signed in as `user` (anonymous for None); `csrf` makes it
    check CSRF tokens as a browser's requests are checked."""
    client = Client(enforce_csrf_checks=csrf)
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def clerk(db: None) -> User:
    return make_user("clerk", roles.CLERK)


@pytest.fixture
def other_clerk(db: None) -> User:
    return make_user("other_clerk", roles.CLERK)


@pytest.fixture
def supervisor(db: None) -> User:
    return make_user("supervisor", roles.SUPERVISOR)


@pytest.fixture
def admin_user(db: None) -> User:
    return make_user("admin", roles.ADMIN)


@pytest.fixture
def outsider(db: None) -> User:
    return make_user("outsider", None)


def make_document(
    *,
    uploaded_by: User | None = None,
    status: str = "ready",
    fields: dict[str, tuple[str, float]] | None = None,
    name: str = "invoice.pdf",
) -> Document:
    """A read document without files: what the review workflow needs. `fields`
    maps a name to (value, confidence)."""
    document = Document.objects.create(
        original_name=name,
        sha256=secrets.token_hex(32),
        content_type="application/pdf",
        size_bytes=1,
        page_count=1,
        status=status,
        channel=Document.Channel.UPLOAD,
        uploaded_by=uploaded_by,
    )
    for field_name, (value, confidence) in (fields or {}).items():
        Field.objects.create(
            document=document,
            name=field_name,
            value=value,
            raw_value=value,
            machine_value=value,
            confidence=confidence,
            machine_confidence=confidence,
        )
    document_refresh_review_columns(document=document)
    document.refresh_from_db()
    return document


def processed_upload(
    content: bytes, *, name: str = "acme.png", uploaded_by: User | None
) -> Document:
    """A browser upload of `content`, read by the processing job in-process."""
    document = document_ingest(
        content=content,
        original_name=name,
        channel=Document.Channel.UPLOAD,
        uploaded_by=uploaded_by,
    ).document
    jobs.process_document(document.pk)
    document.refresh_from_db()
    return document


def text_image(
    lines: list[str], *, size: tuple[int, int] = (800, 600), fmt: str = "PNG"
) -> bytes:
    """A page with `lines` of dark text on white, as the bytes of an image file."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=28)
    for index, line in enumerate(lines):
        draw.text((40, 40 + index * 48), line, fill="black", font=font)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def recorded_line(text: str, box: tuple[int, int, int, int]) -> OcrLine:
    x0, y0, x1, y1 = box
    return OcrLine(text, 0.99, ((x0, y0), (x1, y0), (x1, y1), (x0, y1)))


def recorded_text_image(lines: list[str]) -> bytes:
    """`text_image(lines)` with its OCR recorded line by line where text_image
    draws them (use with the `recorded_ocr` fixture)."""
    RecordedOcrEngine.record(
        800,
        600,
        tuple(
            recorded_line(text, (40, 40 + i * 48, 40 + 15 * len(text), 70 + i * 48))
            for i, text in enumerate(lines)
        ),
    )
    return text_image(lines)


@pytest.fixture
def recorded_ocr(settings: SettingsWrapper) -> Iterator[type[RecordedOcrEngine]]:
    """Replace PaddleOCR with recorded lines keyed by page size (fast tests)."""
    settings.VOUCH_OCR_ENGINE = RECORDED_OCR
    RecordedOcrEngine.recordings.clear()
    yield RecordedOcrEngine
    RecordedOcrEngine.recordings.clear()
    ocr_engines.reset()


@pytest.fixture
def invoice_png(recorded_ocr: type[RecordedOcrEngine]) -> bytes:
    """An 800x600 invoice image whose OCR is recorded: total 120.50 EUR. The
    large heading and the remittance line are what make the classifier call so
    short a page an invoice at all (76 %: unsure, so checked as one)."""
    recorded_ocr.record(
        800,
        600,
        (
            recorded_line("ACME GMBH", (40, 40, 300, 80)),
            recorded_line("INVOICE", (520, 30, 760, 90)),
            recorded_line("Invoice No: INV-1001", (40, 100, 420, 130)),
            recorded_line("Date: 16.09.2019", (40, 150, 360, 180)),
            recorded_line("Total EUR 120,50", (40, 400, 420, 430)),
            recorded_line("Remit to: ACME GmbH", (40, 500, 600, 530)),
        ),
    )
    return text_image(
        ["ACME GMBH            INVOICE", "Invoice No: INV-1001", "Date: 16.09.2019",
         "", "", "", "", "Total EUR 120,50", "", "Remit to: ACME GmbH"],
    )  # fmt: skip


@pytest.fixture
def media_root(settings: SettingsWrapper, tmp_path: Path) -> Path:
    """Keep each test's stored files in its own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "media", "base_url": None},
        },
    }
    return tmp_path / "media"


@pytest.fixture(autouse=True)
def _one_job_per_document_in_process(settings: SettingsWrapper) -> None:
    """Tests that call the processing job in their own process have no worker
    for page jobs: they read each document in one job. Page jobs run in every
    test with real workers (their environment keeps the default), and
    tests/reviewapp/test_page_jobs.py covers them."""
    settings.VOUCH_PAGE_JOBS_MIN_PAGES = 0


@pytest.fixture(autouse=True)
def _fresh_extractors() -> Iterator[None]:
    yield
    extractors.reset()


def shared_database_url() -> str:
    """The test database as a DATABASE_URL, for processes a test starts (daphne,
    workers, commands): they must see the rows the test commits."""
    return database_url()


def make_line_item(
    document: Document,
    position: int,
    description: str = "",
    *,
    quantity: str | None = None,
    unit_price: str | None = None,
    amount: str | None = None,
    **extra: Any,
) -> LineItem:
    """A line on `document`; numbers as plain decimals ("4.50"), None when
    not printed."""

    def number(text: str | None) -> Decimal | None:
        return None if text is None else Decimal(text)

    return LineItem.objects.create(
        document=document,
        position=position,
        description=description,
        quantity=number(quantity),
        unit_price=number(unit_price),
        amount=number(amount),
        **extra,
    )


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    """What the configured console handler writes (settings.LOGGING)."""
    # Configured afresh: a library run earlier in the session (Locust, in the
    # load benchmark's test) may have replaced the root logger's handlers.
    logging.config.dictConfig(settings.LOGGING)
    [handler] = [
        handler
        for handler in logging.getLogger().handlers
        if any(isinstance(each, SensitiveValueFilter) for each in handler.filters)
    ]
    assert isinstance(handler, logging.StreamHandler)
    written = io.StringIO()
    previous = handler.setStream(written)
    yield written
    handler.setStream(previous)
