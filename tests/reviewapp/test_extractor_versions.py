"""Extractor versions: retraining from corrections behind the gate, rollback,
the worker recording the version, and the admin page with its RQ job."""

from __future__ import annotations

import json
import uuid
from io import StringIO
from pathlib import Path
from typing import Any

import django_rq
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from pytest_django.fixtures import Settings as SettingsWrapper
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from pipeline.extract.calibration_fit import fold_of
from pipeline.extract.layout import layout_pages
from pipeline.extract.scorer import (
    MODEL_PATH,
    content_hash,
)
from pipeline.extract.scorer_gate import DEV_DATA
from pipeline.extract.scorer_training import LabelledDocument, load_documents, train
from pipeline.types import PageText
from reviewapp import jobs
from reviewapp.learning import extractor_versions
from reviewapp.learning.extractor_versions import (
    baseline_version,
    extractor_for_processing,
    extractor_retrain,
    extractor_version_activate,
    is_held_back,
    reset_cache,
)
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document, Page, ProcessingRun
from reviewapp.models.fields import Field
from reviewapp.models.learning import ExtractorVersion
from reviewapp.services.ingest import document_ingest
from reviewapp.services.processing import page_lines_store
from tests.conftest import DATASETS, logged_in, make_document, processed_upload

pytestmark = pytest.mark.django_db

TRAIN_TEXT = DATASETS / "sroie-train-ocr-text" / "manifest.jsonl"


@pytest.fixture(autouse=True)
def _fresh_version_cache() -> Any:
    reset_cache()
    yield
    reset_cache()


@pytest.fixture(scope="module")
def receipts() -> list[LabelledDocument]:
    documents, _ = load_documents([TRAIN_TEXT])
    return documents


@pytest.fixture(scope="module")
def base(receipts: list[LabelledDocument]) -> list[LabelledDocument]:
    """The dev data of these tests: 24 recorded receipts (none of the
    corrected documents below, which come from other folds of 5)."""
    return [d for d in receipts if fold_of(d.doc_id, 5) in (0, 1)][:24]


@pytest.fixture(scope="module")
def good_artefact(base: list[LabelledDocument]) -> dict[str, Any]:
    return train(base, folds=3)


def public_ids(held_back: bool, count: int) -> list[uuid.UUID]:
    """Document ids that do (or do not) fall in the held-back slice."""
    found = []
    for number in range(1, 10_000):
        candidate = uuid.UUID(int=number)
        document = LabelledDocument(f"corrections/{candidate}", "", (), {})
        if is_held_back(document) == held_back:
            found.append(candidate)
            if len(found) == count:
                return found
    raise AssertionError("not enough ids")


def corrected_document(
    public_id: uuid.UUID, page: PageText, labels: dict[str, str], user: User
) -> Document:
    """A document a person corrected: its stored text and human field values."""
    document = make_document(uploaded_by=user, name="receipt.jpg")
    Document.objects.filter(pk=document.pk).update(public_id=public_id)
    document.refresh_from_db()
    stored = Page.objects.create(
        document=document,
        number=1,
        image="",
        width=page.width,
        height=page.height,
        dpi=150,
        text_source="ocr",
    )
    page_lines_store(page=stored, lines=page.lines)
    for name, value in labels.items():
        Field.objects.create(
            document=document,
            name=name,
            value=value,
            raw_value=value,
            machine_value="",
            set_by=Field.SetBy.HUMAN,
        )
    return document


def third_row(page: PageText) -> str:
    return " ".join(p.line.text for p in layout_pages([page])[0].rows[2])


def version_from(artefact: dict[str, Any], *, active: bool) -> ExtractorVersion:
    return ExtractorVersion.objects.create(
        name=artefact["name"],
        content_hash=artefact["content_hash"],
        artefact=artefact,
        scores=artefact["scores"],
        training_summary=artefact["training"],
        decision=ExtractorVersion.Decision.BASELINE,
        is_active=active,
    )


def broken(artefact: dict[str, Any]) -> dict[str, Any]:
    """The artefact with its vendor model turned upside down (and trusted)."""
    data = json.loads(json.dumps(artefact))
    vendor = data["fields"]["vendor_name"]
    vendor["coefficients"] = [-c for c in vendor["coefficients"]]
    vendor["use_scorer"] = True
    vendor["use_for"] = ["receipt"]
    data["version"] = "broken"
    data["content_hash"] = content_hash(data)
    return data


def events(kind: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event_type=kind))


def test_retraining_promotes_a_candidate_that_reads_corrections_better(
    admin_user: User,
    receipts: list[LabelledDocument],
    base: list[LabelledDocument],
    good_artefact: dict[str, Any],
    settings: SettingsWrapper,
) -> None:
    # Six held-back documents are enough to judge here: the live version reads
    # every vendor name wrong, which no noise margin can excuse.
    settings.VOUCH_GATE_MIN_HELD_BACK = 6
    live = version_from(broken(good_artefact), active=True)
    others = [d for d in receipts if fold_of(d.doc_id, 5) == 2]
    held, used = public_ids(True, 6), public_ids(False, 6)
    for public_id, document in zip([*held, *used], others, strict=False):
        corrected_document(
            public_id, document.pages[0], dict(document.labels), admin_user
        )

    outcome = extractor_retrain(actor=admin_user, base_documents=base, folds=3)

    assert outcome.created and outcome.decision is not None
    assert outcome.decision.promote, outcome.decision.reasons
    version = outcome.version
    assert version.decision == ExtractorVersion.Decision.PROMOTED
    assert version.is_active and version.promoted_at is not None
    live.refresh_from_db()
    assert not live.is_active
    assert version.training_summary["corrected_documents_used"] == 6
    assert version.training_summary["corrected_documents_held_back"] == 6
    assert version.evaluation["against"] == live.label
    held_back = [
        c
        for c in version.evaluation["comparisons"]
        if c["slice"] == "held-back corrections"
    ]
    vendor = next(c for c in held_back if c["field"] == "vendor_name")
    assert vendor["candidate"] > vendor["live"]
    assert [e.details["version"] for e in events("model_trained")] == [version.label]
    assert [e.details["previous"] for e in events("model_promoted")] == [live.label]
    assert events("model_trained")[0].actor_username == admin_user.username

    # The same data trains the same model: nothing new is recorded.
    again = extractor_retrain(actor=admin_user, base_documents=base, folds=3)
    assert not again.created and again.version == version
    assert ExtractorVersion.objects.count() == 2


def test_retraining_refuses_a_candidate_taught_wrong_corrections(
    admin_user: User,
    receipts: list[LabelledDocument],
    good_artefact: dict[str, Any],
) -> None:
    live = version_from(good_artefact, active=True)
    others = [d for d in receipts if fold_of(d.doc_id, 5) == 3]
    held, used = public_ids(True, 6), public_ids(False, 30)
    for public_id, document in zip(held, others[:6], strict=True):
        corrected_document(
            public_id, document.pages[0], dict(document.labels), admin_user
        )
    # Someone "corrected" the vendor to the third printed row, thirty times.
    for public_id, document in zip(used, others[6:36], strict=True):
        labels = {"vendor_name": third_row(document.pages[0])}
        corrected_document(public_id, document.pages[0], labels, admin_user)

    # Trained on those corrections alone, the candidate learns the wrong rule
    # well enough for its own cross-validation to trust it.
    outcome = extractor_retrain(actor=admin_user, base_documents=[], folds=3)

    assert outcome.decision is not None and not outcome.decision.promote
    version = outcome.version
    assert version.decision == ExtractorVersion.Decision.REJECTED
    assert not version.is_active
    live.refresh_from_db()
    assert live.is_active
    assert any(
        "vendor_name" in r and "worse beyond noise" in r
        for r in version.decision_reasons
    )
    assert [e.details["version"] for e in events("model_rejected")] == [version.label]
    assert events("model_promoted") == []


def test_the_live_version_s_figures_on_the_page_are_the_ones_the_gate_used(
    admin_user: User,
    receipts: list[LabelledDocument],
    base: list[LabelledDocument],
    good_artefact: dict[str, Any],
) -> None:
    """The issue found the gate calling the live version 88.2 % while its row
    on the page said 0.813: each field's headline on the page must be the very
    figure the gate put beside the candidate's."""
    live = version_from(good_artefact, active=True)
    others = [d for d in receipts if fold_of(d.doc_id, 5) == 4]
    for public_id, document in zip(public_ids(False, 4), others, strict=False):
        corrected_document(
            public_id, document.pages[0], dict(document.labels), admin_user
        )

    outcome = extractor_retrain(actor=admin_user, base_documents=base, folds=3)

    assert outcome.decision is not None
    on_dev_data = [c for c in outcome.decision.comparisons if c.slice == DEV_DATA]
    assert {c.field for c in on_dev_data} >= {"total_amount", "vendor_name"}
    live_row = dict(live.field_scores)
    html = logged_in(admin_user).get(reverse("extractor-versions")).content.decode()
    for comparison in on_dev_data:
        shown = live_row[comparison.field]
        assert shown is not None
        figure = f"{100 * comparison.live_rate:.1f}%"
        assert shown["read_right"] == figure, comparison.field
        assert shown["read_right_documents"] == comparison.documents
        assert f"vs live {figure} on {comparison.documents} documents" in (
            comparison.reason()
        )
        assert f'<strong class="read-right">{figure}</strong>' in html


def test_rolling_back_switches_the_version_new_documents_record(
    admin_user: User,
    clerk: User,
    media_root: Path,
    invoice_png: bytes,
    good_artefact: dict[str, Any],
) -> None:
    first = version_from(good_artefact, active=False)
    second = version_from(broken(good_artefact), active=True)

    extractor_version_activate(version_id=first.pk, actor=admin_user)

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.is_active and not second.is_active
    (event,) = events("model_rolled_back")
    assert event.details == {"version": first.label, "previous": second.label}
    # Repeating it changes nothing and records nothing.
    extractor_version_activate(version_id=first.pk, actor=admin_user)
    assert len(events("model_rolled_back")) == 1

    document = document_ingest(
        content=invoice_png,
        original_name="invoice.png",
        channel="upload",
        uploaded_by=clerk,
    ).document
    assert jobs.process_document(document.pk).startswith("ready")
    run = ProcessingRun.objects.get(document=document)
    assert run.extractor_version == first
    assert first.label in run.extractor
    assert document.fields.get(name="total_amount").value == "120.50"

    # The worker notices the next change without a restart.
    extractor_version_activate(version_id=second.pk, actor=admin_user)
    assert extractor_for_processing()[1] == second


def test_without_an_active_version_the_configured_extractor_reads(
    media_root: Path, invoice_png: bytes
) -> None:
    extractor, version = extractor_for_processing()
    assert version is None
    assert extractor.name == "scored"
    document = processed_upload(invoice_png, name="invoice.png", uploaded_by=None)
    assert ProcessingRun.objects.get(document=document).extractor_version is None


def test_the_baseline_is_the_checked_in_model() -> None:
    version = baseline_version()
    data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    assert version.content_hash == data["content_hash"]
    assert version.decision == ExtractorVersion.Decision.BASELINE
    assert baseline_version() == version


def test_the_page_lists_versions_with_scores_for_admins_only(
    admin_user: User, supervisor: User, good_artefact: dict[str, Any]
) -> None:
    version_from(good_artefact, active=True)
    page = logged_in(admin_user).get(reverse("extractor-versions"))
    assert page.status_code == 200
    html = page.content.decode()
    assert good_artefact["content_hash"][:12] in html and "live" in html
    address = good_artefact["scores"]["vendor_address"]
    assert f"{address['scorer_cv']:.3f} / {address['heuristic']:.3f}" in html
    # The live version cannot be "rolled back to".
    assert "Roll back to this version" not in html
    assert logged_in(supervisor).get(reverse("extractor-versions")).status_code == 403


def test_a_version_can_be_rolled_back_to_from_the_page(
    admin_user: User, good_artefact: dict[str, Any]
) -> None:
    first = version_from(good_artefact, active=False)
    version_from(broken(good_artefact), active=True)
    response = logged_in(admin_user).post(
        reverse("extractor-version-activate", args=[first.pk])
    )
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.is_active
    missing = logged_in(admin_user).post(
        reverse("extractor-version-activate", args=[999])
    )
    assert missing.status_code == 404


@pytest.mark.django_db(transaction=True)
def test_the_retrain_button_runs_a_job_whose_progress_the_page_polls(
    admin_user: User, base: list[LabelledDocument], monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = django_rq.get_queue("retrain")
    queue.empty()
    # The job trains on the small dev set of these tests, not every manifest.
    monkeypatch.setattr(extractor_versions, "dev_documents", lambda: base)
    client = logged_in(admin_user)
    response = client.post(reverse("extractor-retrain"))
    assert response.status_code == 302
    job_id = response["Location"].split("job=")[1]
    status = client.get(reverse("extractor-retrain-status", args=[job_id])).json()
    assert status["status"] == "queued"

    # A plain worker: the document worker would load PaddleOCR first.
    worker = django_rq.get_worker(
        "retrain", worker_class=SimpleWorker, serializer=JSONSerializer
    )
    worker.work(burst=True)

    status = client.get(reverse("extractor-retrain-status", args=[job_id])).json()
    assert status["status"] == "finished", status
    assert status["progress"].startswith(("promoted", "rejected"))
    assert status["percent"] == 100
    version = ExtractorVersion.objects.exclude(
        decision=ExtractorVersion.Decision.BASELINE
    ).get()
    assert version.label in status["result"]
    assert version.created_by == admin_user
    page = client.get(f"{reverse('extractor-versions')}?job={job_id}")
    assert (
        f'data-status-url="{reverse("extractor-retrain-status", args=[job_id])}"'
        in (page.content.decode())
    )
    assert (
        client.get(reverse("extractor-retrain-status", args=["nope"])).status_code
        == 404
    )


def test_the_retrain_command_reports_the_gate_s_decision(
    admin_user: User, tmp_path: Path
) -> None:
    folder = tmp_path / "mini"
    folder.mkdir()
    entries = [json.loads(line) for line in TRAIN_TEXT.read_text().splitlines()[:15]]
    for entry in entries:
        entry["ocr_boxes_file"] = str(TRAIN_TEXT.parent / entry["ocr_boxes_file"])
    (folder / "manifest.jsonl").write_text(
        "\n".join(json.dumps(entry) for entry in entries) + "\n"
    )
    out = StringIO()
    call_command(
        "retrain", str(folder / "manifest.jsonl"), "--user", "admin", stdout=out
    )
    # Nothing to compare with the checked-in model on: never promoted blind.
    assert "no field was measured on the same documents" in out.getvalue()
    assert "Rejected by the gate: vouch-field-scorer@" in out.getvalue()
    version = ExtractorVersion.objects.get(decision=ExtractorVersion.Decision.REJECTED)
    assert version.created_by == admin_user
    assert version.training_summary["documents"] == 15
    with pytest.raises(CommandError, match="no user"):
        call_command("retrain", str(folder / "manifest.jsonl"), "--user", "nobody")


@pytest.mark.django_db(transaction=True)
def test_a_failed_retrain_stays_on_the_page_with_its_reason(
    admin_user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = django_rq.get_queue("retrain")
    queue.empty()
    for job_id in queue.failed_job_registry.get_job_ids():
        queue.failed_job_registry.remove(job_id)
    # Nothing to train on: no base set, no corrections.
    monkeypatch.setattr(extractor_versions, "dev_documents", lambda: [])
    client = logged_in(admin_user)
    job_id = client.post(reverse("extractor-retrain"))["Location"].split("job=")[1]
    django_rq.get_worker(
        "retrain", worker_class=SimpleWorker, serializer=JSONSerializer
    ).work(burst=True)

    status = client.get(reverse("extractor-retrain-status", args=[job_id])).json()
    assert status["status"] == "failed"
    assert status["error"].startswith("training failed: ValueError: nothing to train")
    # Later, without the job in the address: still there, with the reason.
    page = client.get(reverse("extractor-versions")).content.decode()
    assert "Retraining failed" in page
    assert "nothing to train on: the base training set is empty" in page
