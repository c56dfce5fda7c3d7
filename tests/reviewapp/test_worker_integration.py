"""A real receipt through real Redis, a real django-rq worker and real PaddleOCR."""

from __future__ import annotations

from pathlib import Path

import django_rq
import pytest
from django.contrib.auth.models import User
from rq.serializers import JSONSerializer

from pipeline.ocr import ocr_engines
from reviewapp.models.documents import Document, ProcessingRun
from reviewapp.models.fields import Field
from reviewapp.runtime.worker import DocumentWorker
from reviewapp.services.fields import field_correct
from reviewapp.services.ingest import document_ingest
from reviewapp.services.processing import document_reprocess
from tests.conftest import RECEIPT, SROIE

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def paddle_ocr(settings) -> None:  # type: ignore[no-untyped-def]
    # PaddleOCR is no longer the default engine; it stays supported, and
    # this module keeps a real worker reading with it.
    settings.VOUCH_OCR_ENGINE = "pipeline.ocr.paddle.PaddleOcrEngine"


def run_worker_burst() -> None:
    queue = django_rq.get_queue("default")
    worker = django_rq.get_worker(
        "default", worker_class=DocumentWorker, serializer=JSONSerializer
    )
    worker.work(burst=True)
    assert queue.count == 0


def test_a_real_receipt_is_read_by_a_real_worker(clerk: User, media_root: Path) -> None:
    django_rq.get_queue("default").empty()
    document = document_ingest(
        content=RECEIPT.read_bytes(),
        original_name=RECEIPT.name,
        channel=Document.Channel.UPLOAD,
        uploaded_by=clerk,
    ).document
    assert django_rq.get_queue("default").count == 1  # enqueued on commit

    run_worker_burst()

    document.refresh_from_db()
    assert document.status == Document.Status.READY, document.failure_reason
    fields = {field.name: field for field in document.fields.all()}
    assert fields["total_amount"].value == "33.90"
    assert fields["invoice_date"].value == "2019-01-12"
    # Classified from PaddleOCR's own lines, though it is headed "TAX INVOICE".
    assert document.document_type == "receipt"
    assert document.document_type_confidence > 0.9
    for field in fields.values():
        assert field.page is not None and field.box is not None
        assert 0.0 < field.confidence <= 1.0
    page = document.pages.get()
    assert page.lines.count() > 20
    assert any("33.90" in line.text for line in page.lines.all())
    run = document.runs.get()
    assert run.ocr_engine.startswith("paddleocr")
    assert run.worker and run.job_id


def test_the_engine_is_loaded_once_per_worker_process(
    clerk: User, media_root: Path
) -> None:
    django_rq.get_queue("default").empty()
    receipts = sorted((SROIE / "images").glob("*.jpg"))[1:3]
    for receipt in receipts:
        document_ingest(
            content=receipt.read_bytes(),
            original_name=receipt.name,
            channel=Document.Channel.CLI,
            uploaded_by=clerk,
        )
    engine_before = ocr_engines.get("pipeline.ocr.paddle.PaddleOcrEngine")
    run_worker_burst()
    assert ocr_engines.get("pipeline.ocr.paddle.PaddleOcrEngine") is engine_before
    assert Document.objects.filter(status=Document.Status.READY).count() == 2
    # Loading PaddleOCR takes seconds; a job in a warm worker takes next to none.
    for run in ProcessingRun.objects.all():
        assert run.stage_seconds["engine_load"] < 0.05


def test_a_person_s_correction_survives_a_real_rerun(
    clerk: User, media_root: Path
) -> None:
    django_rq.get_queue("default").empty()
    document = document_ingest(
        content=RECEIPT.read_bytes(),
        original_name=RECEIPT.name,
        channel=Document.Channel.UPLOAD,
        uploaded_by=clerk,
    ).document
    run_worker_burst()
    field_correct(
        document=document, name="vendor_name", value="MR DIY (JOHOR)", user=clerk
    )
    assert document_reprocess(document=document)
    run_worker_burst()
    vendor = document.fields.get(name="vendor_name")
    assert (vendor.value, vendor.set_by) == ("MR DIY (JOHOR)", Field.SetBy.HUMAN)
    assert vendor.machine_value  # what the machine read is kept beside it
    assert document.fields.get(name="total_amount").value == "33.90"
