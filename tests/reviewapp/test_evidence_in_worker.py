"""The evidence stage in the real worker: the same confidences `evaluate`
measures, weighed against the vendor master, and the same routing verdict."""

from __future__ import annotations

from pathlib import Path

import django_rq
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from rq.serializers import JSONSerializer

from pipeline.ocr import ocr_engines
from pipeline.run import run_pipeline
from reviewapp.demo.documents import demo_documents
from reviewapp.learning.extractor_versions import extractor_for_processing
from reviewapp.models.documents import Document
from reviewapp.models.master_data import Vendor
from reviewapp.runtime.worker import DocumentWorker
from reviewapp.services.ingest import decode_limits, document_ingest

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SCAN = "nordlicht-invoice-2026-0142-scan.jpg"


def test_a_scanned_invoice_gets_in_the_worker_the_confidences_evaluate_measures(
    clerk: User, media_root: Path
) -> None:
    Vendor.objects.create(
        number="V-1001",
        name="Nordlicht Bürobedarf GmbH",
        vat_id="DE811907980",
        ibans=["DE89 3704 0044 0532 0130 00"],
        address="Hafenstrasse 12, 20457 Hamburg",
        currency="EUR",
    )
    scan = next(d for d in demo_documents() if d.name == SCAN)
    django_rq.get_queue("default").empty()
    document = document_ingest(
        content=scan.content,
        original_name=SCAN,
        channel=Document.Channel.UPLOAD,
        uploaded_by=clerk,
    ).document
    worker = django_rq.get_worker(
        "default", worker_class=DocumentWorker, serializer=JSONSerializer
    )
    worker.work(burst=True)

    document.refresh_from_db()
    assert document.status != Document.Status.FAILED, document.failure_reason
    stored = {f.name: f for f in document.fields.all()}
    # evaluate's path: the same pipeline function on the same bytes, without
    # a vendor master or an arrival date.
    extractor, _ = extractor_for_processing()
    measured = run_pipeline(
        scan.content,
        # The engine the worker read with: production's default.
        ocr=ocr_engines.get(settings.VOUCH_OCR_ENGINE),
        extractor=extractor,
        limits=decode_limits(),
    )
    for value in measured.extraction.fields:
        if value.name in (
            "iban",
            "bic",
            "vendor_vat_id",
            "vendor_name",
            "vendor_address",
            "currency",
        ):
            continue  # weighed against, or taken from, the master: worker only
        assert stored[value.name].confidence == pytest.approx(value.confidence), (
            value.name,
            stored[value.name].explanation,
        )
    # The vendor master was weighed in the worker, and said so.
    assert "vendor master" in stored["iban"].explanation
    assert stored["vendor_address"].explanation.startswith("from vendor master")
    assert "check digits pass" in stored["iban"].explanation
    assert "the bank of an IBAN on file for the vendor master" in (
        stored["bic"].explanation
    )
    assert stored["total_amount"].explanation.count("agrees") >= 1
