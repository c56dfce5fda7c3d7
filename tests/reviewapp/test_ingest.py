"""Intake: what is refused at the door, what is kept, what is recognised again."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from PIL import Image
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks
from rq.serializers import JSONSerializer

from reviewapp.models.documents import Document
from reviewapp.services.ingest import IngestRefused, document_ingest
from tests.conftest import RECEIPT

pytestmark = pytest.mark.django_db


def ingest(content: bytes, name: str = "invoice.png", user: User | None = None):
    return document_ingest(
        content=content, original_name=name, channel="upload", uploaded_by=user
    )


def test_it_stores_the_original_untouched_under_a_generated_name(
    clerk: User, media_root: Path
) -> None:
    content = RECEIPT.read_bytes()
    result = ingest(content, name="../../etc/passwd.jpg", user=clerk)
    document = result.document
    assert not result.duplicate
    assert document.status == Document.Status.QUEUED
    assert document.content_type == "image/jpeg"
    assert document.original_name == "../../etc/passwd.jpg"  # display only
    stored = Path(document.original.path)
    assert stored.is_relative_to(media_root / "originals")
    assert stored.name == f"{document.public_id}.jpg"
    assert stored.read_bytes() == content
    assert document.sha256 == __import__("hashlib").sha256(content).hexdigest()


def test_the_same_file_twice_is_recognised_as_a_duplicate(
    clerk: User, media_root: Path
) -> None:
    first = ingest(RECEIPT.read_bytes(), user=clerk).document
    again = ingest(RECEIPT.read_bytes(), name="copy.jpg", user=clerk)
    assert again.duplicate
    assert again.document.pk == first.pk
    assert Document.objects.count() == 1


def test_it_enqueues_processing_only_after_commit(
    clerk: User,
    media_root: Path,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    import django_rq

    queue = django_rq.get_queue("default")
    queue.empty()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ingest(RECEIPT.read_bytes(), user=clerk)
        assert queue.count == 0
    for callback in callbacks:
        callback()
    assert queue.count == 1
    job = queue.jobs[0]
    assert job.func_name == "reviewapp.jobs.process_document"
    # Jobs travel as JSON, not pickle: a tuple of ids comes back as a list.
    assert job.serializer is JSONSerializer
    assert list(job.args) == [Document.objects.get().pk]
    queue.empty()


def png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", size, 255).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "empty.pdf", "empty.pdf is empty"),
        (b"MZ\x90\x00 an executable", "invoice.pdf", "not a file Vouch can read"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "scan.png", "not a file Vouch"),
        (png((9000, 9000)), "huge.png", "too large (9000 × 9000 pixels)"),
    ],
    ids=["empty", "exe-named-pdf", "svg-named-png", "pixel-bomb"],
)
def test_it_refuses_bad_files_with_a_clear_reason_and_stores_nothing(
    media_root: Path, content: bytes, name: str, message: str
) -> None:
    with pytest.raises(IngestRefused) as refused:
        ingest(content, name=name)
    assert message in refused.value.reason
    assert Document.objects.count() == 0
    assert not (media_root / "originals").exists()


def test_it_refuses_files_over_the_size_limit(settings, media_root: Path) -> None:
    settings.VOUCH_MAX_UPLOAD_BYTES = 1024
    with pytest.raises(IngestRefused, match="the limit is 0 MB"):
        ingest(b"%PDF-1.4" + b"0" * 2048, name="big.pdf")


def test_pdf_is_accepted_without_being_parsed_in_the_web_process(
    media_root: Path,
) -> None:
    # A damaged PDF is only found out in the worker: intake keeps it.
    document = ingest(b"%PDF-1.7\n damaged", name="damaged.pdf").document
    assert document.status == Document.Status.QUEUED
    assert Path(document.original.path).read_bytes().startswith(b"%PDF")
