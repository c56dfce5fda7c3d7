"""Straight through for real: a scanned invoice (a JPEG, no text layer, no XML)
from a known vendor (in the vendor master, its last invoice approved by a
clerk) goes through real Redis, a real rq worker process and real PaddleOCR,
and is approved with nobody touching it, because every value it read reaches
the threshold `evaluate` measures (pipeline/extract/calibration.json) and
every check passes. The first invoice from the same vendor is not: what the
clerk confirmed on it is what makes the next one sure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reviewapp.demo.documents import SPECS, render
from reviewapp.extraction_fields import auto_accept_thresholds
from reviewapp.models.documents import Document
from reviewapp.models.master_data import Vendor
from reviewapp.runtime.local_redis import PrivateRedis
from reviewapp.services.fields import field_confirm, field_correct
from reviewapp.services.ingest import document_ingest
from reviewapp.services.review import document_approve, document_claim
from tests.conftest import REPO, make_user, shared_database_url
from tests.reviewapp.real_workers import private_redis

__all__ = ["private_redis"]  # a fixture

pytestmark = pytest.mark.integration

# The demo's scan of Nordlicht's invoice 2026-0142 (total 756.60 EUR, under
# the straight-through limit); the demo also ingests the e-invoice first,
# which makes the scan a duplicate, so here the scan arrives alone, after the
# vendor's previous invoice, printed from the same template.
SCAN = "nordlicht-invoice-2026-0142-scan.jpg"
PREVIOUS = {
    "file": "nordlicht-invoice-2026-0117-scan.jpg",
    "meta": [
        ["Invoice No:", "2026-0117"],
        ["Invoice Date:", "06.10.2026"],
        ["Due Date:", "05.11.2026"],
    ],
    "lines": [
        ["Copy paper A4, 80 g (box of 5)", 8, "24.90"],
        ["Ring binders, A4 (pack of 10)", 2, "31.50"],
    ],
}
# What the clerk confirms on the previous invoice: what it prints.
PREVIOUS_VALUES = {
    "vendor_name": "Nordlicht Bürobedarf GmbH",
    "vendor_address": "Hafenstrasse 12, 20457 Hamburg",
    "vendor_vat_id": "DE811907980",
    "customer_name": "Brightwater Foods Ltd",
    "invoice_number": "2026-0117",
    "invoice_date": "2026-10-06",
    "due_date": "2026-11-05",
    "currency": "EUR",
    "subtotal_amount": "262.20",
    "tax_amount": "49.82",
    "total_amount": "312.02",
    "iban": "DE89370400440532013000",
    "bic": "COBADEFFXXX",
}
FINISHED = ("ready", "approved", "escalated", "failed")


def _run_worker(redis_url: str, media: Path, log: Path) -> int:
    """One real worker process in burst mode with the production OCR engine;
    returns its exit code once the queue is empty."""
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DATABASE_URL": shared_database_url(),
        "VOUCH_MEDIA_ROOT": str(media),
        "DJANGO_SETTINGS_MODULE": "reviewapp.settings",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.pop("VOUCH_OCR_ENGINE", None)  # the production default engine
    with log.open("wb") as output:
        return subprocess.run(
            [sys.executable, "manage.py", "rqworker", "default", "--burst",
             "--worker-class", "reviewapp.runtime.worker.DocumentWorker",
             "--serializer", "rq.serializers.JSONSerializer",
             "--name", f"straight-through-{os.getpid()}-{time.monotonic_ns()}"],
            cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT,
            timeout=600, check=False,
        ).returncode  # fmt: skip


def _scan(changes: dict[str, object]) -> bytes:
    spec = next(s for s in json.loads(SPECS.read_text()) if s["file"] == SCAN)
    content = render({**spec, **changes}).content
    assert content[:3] == b"\xff\xd8\xff"  # a JPEG: OCR is the only way in
    return content


def _below_threshold(document: Document) -> dict[str, tuple[str, float, float]]:
    """(value, confidence, threshold) of each value read under the threshold
    evaluate scores with: what keeps a document from going straight through."""
    thresholds = auto_accept_thresholds()
    return {
        f.name: (f.value, f.confidence, thresholds.get(f.name, 1.0))
        for f in document.fields.all()
        if f.value
        and f.confidence is not None
        and f.confidence < thresholds.get(f.name, 1.0)
    }


def test_a_scanned_invoice_from_a_known_vendor_is_approved_straight_through(
    transactional_db: None,
    private_redis: PrivateRedis,
    media_root: Path,
    tmp_path: Path,
) -> None:
    clerk = make_user("clerk", "clerk")
    Vendor.objects.create(
        number="V-1001",
        name="Nordlicht Bürobedarf GmbH",
        vat_id="DE811907980",
        ibans=["DE89 3704 0044 0532 0130 00"],
        address="Hafenstrasse 12, 20457 Hamburg",
        currency="EUR",
    )
    log = tmp_path / "worker.log"

    # The vendor's previous invoice: read, held for review (nothing tells the
    # machine yet how this vendor prints its numbers), corrected where the
    # machine misread it, confirmed and approved by the clerk.
    previous = document_ingest(
        content=_scan(PREVIOUS),
        original_name=PREVIOUS["file"],
        channel=Document.Channel.UPLOAD,
        uploaded_by=clerk,
    ).document
    assert _run_worker(private_redis.url, media_root, log) == 0
    previous.refresh_from_db()
    assert previous.status == Document.Status.READY, previous.failure_reason
    assert _below_threshold(previous)
    document_claim(document=previous, user=clerk)
    read = {f.name: f.value for f in previous.fields.all()}
    for name, value in PREVIOUS_VALUES.items():
        if read.get(name) == value:
            field_confirm(document=previous, name=name, user=clerk)
        else:
            field_correct(document=previous, name=name, value=value, user=clerk)
    document_approve(document=previous, user=clerk)

    document = document_ingest(
        content=_scan({}),
        original_name=SCAN,
        channel=Document.Channel.UPLOAD,
        uploaded_by=clerk,
    ).document
    returncode = _run_worker(private_redis.url, media_root, log)

    document.refresh_from_db()
    assert returncode == 0, log.read_text(errors="replace")[-3000:]
    assert document.status in FINISHED, log.read_text(errors="replace")[-3000:]
    assert document.status != Document.Status.FAILED, document.failure_reason
    values = {f.name: f.value for f in document.fields.all()}
    # Right: the values printed on the scan.
    assert values["total_amount"] == "756.60"
    assert values["subtotal_amount"] == "635.80"
    assert values["tax_amount"] == "120.80"
    assert values["invoice_number"] == "2026-0142"
    assert values["invoice_date"] == "2026-11-03"
    assert values["due_date"] == "2026-12-03"
    assert values["vendor_name"] == "Nordlicht Bürobedarf GmbH"  # from the master
    assert values["customer_name"] == "Brightwater Foods Ltd"  # as confirmed
    issues = list(document.validation_issues.values_list("code", "severity"))
    # Every value at or above the threshold evaluate scores with, so routing
    # approved it with nobody looking.
    assert not _below_threshold(document), (_below_threshold(document), issues)
    assert document.status == Document.Status.APPROVED, (document.status, issues)
    assert document.straight_through
    assert document.decided_by is None
