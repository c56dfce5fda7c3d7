"""A scanner batch of three real invoices in one PDF: held with the split
proposed, shown, corrected and confirmed by a reviewer, and each part read
as a document of its own from the text the batch was read with."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from django.contrib.auth.models import Group, Permission, User
from django.urls import reverse
from pytest_django.fixtures import Settings as SettingsWrapper

from reviewapp import jobs
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import BatchSplit, Document
from reviewapp.services.ingest import document_ingest
from tests.conftest import DATASETS, logged_in

pytestmark = pytest.mark.django_db
EventType = AuditEvent.EventType
READ = (Document.Status.READY, Document.Status.APPROVED, Document.Status.ESCALATED)

# Three real invoices: a 2-page ad-buy invoice, a 1-page Factur-X invoice
# (its IBAN printed) and a 3-page ad-buy invoice.
PARTS = (
    ("deepform-vrdu-adbuy", 2, None),
    (
        "zugferd-corpus",
        1,
        "pdfs/ZUGFeRDv2__correct__FNFE-factur-x-examples__Facture_FR_BASICWL.pdf",
    ),
    ("deepform-vrdu-adbuy", 3, None),
)
PROPOSED = [1, 3, 4]


def dev_invoice(folder: str, pages: int, file: str | None) -> tuple[bytes, str]:
    """A dev PDF (the named one, else the first with `pages` pages) and its
    labelled invoice number."""
    manifest = DATASETS / folder / "manifest.jsonl"
    if not manifest.is_file():
        pytest.skip(f"no dev datasets at {DATASETS}")
    for row in map(json.loads, manifest.read_text().splitlines()):
        if (file and row["file"] == file) or (
            not file and row["file"].endswith(".pdf") and row.get("pages") == pages
        ):
            data = (DATASETS / folder / row["file"]).read_bytes()
            return data, row["labels"]["invoice_number"]
    raise AssertionError(f"no such dev invoice in {folder}")


def three_invoice_batch() -> tuple[bytes, list[str]]:
    """The three invoices in one PDF, as a scanner batch arrives (built here
    with PDFium from the real files), and their invoice numbers."""
    batch = pdfium.PdfDocument.new()
    numbers = []
    for folder, pages, file in PARTS:
        data, number = dev_invoice(folder, pages, file)
        source = pdfium.PdfDocument(data)
        batch.import_pages(source)
        numbers.append(number)
    written = io.BytesIO()
    batch.save(written)
    return written.getvalue(), numbers


@pytest.fixture
def held_batch(
    clerk: User, media_root: Path, settings: SettingsWrapper
) -> tuple[Document, list[str]]:
    """The batch uploaded by the clerk and read by the worker's job: held."""
    settings.VOUCH_SPLIT_AUTO_CONFIDENCE = 101  # always a person
    content, numbers = three_invoice_batch()
    batch = document_ingest(
        content=content, original_name="scanner-batch.pdf", channel="upload",
        uploaded_by=clerk,
    ).document  # fmt: skip
    assert jobs.process_document(batch.pk).startswith("split to confirm")
    batch.refresh_from_db()
    return batch, numbers


def events(document: Document, event_type: str) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            document_public_id=document.public_id, event_type=event_type
        ).order_by("sequence")
    )


def confirm(client: object, batch: Document, starts: list[int]) -> object:
    return client.post(  # type: ignore[attr-defined]
        reverse("document-split-confirm", args=[batch.public_id]),
        {"starts": [str(page) for page in starts]},
    )


def test_a_three_invoice_batch_is_held_confirmed_and_read_as_three(
    held_batch: tuple[Document, list[str]], clerk: User
) -> None:
    batch, numbers = held_batch
    assert batch.status == Document.Status.SPLIT_TO_CONFIRM
    assert batch.page_count == 6
    split = BatchSplit.objects.get(batch=batch)
    assert split.proposed_starts == PROPOSED
    assert not batch.fields.exists()  # nothing extracted before the split
    [proposed] = events(batch, EventType.SPLIT_PROPOSED)
    assert proposed.details["parts"] == [[1, 2], [3], [4, 5, 6]]

    client = logged_in(clerk)
    page = client.get(reverse("document-split", args=[batch.public_id]))
    assert page.status_code == 200
    html = page.content.decode()
    for number in range(1, 7):
        assert reverse("page-image", args=[batch.public_id, number]) in html
    assert "Confirm 3 documents" in html
    assert (
        client.get(reverse("page-image", args=[batch.public_id, 4])).status_code == 200
    )

    response = confirm(client, batch, PROPOSED)
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == Document.Status.SPLIT
    parts = list(batch.split_parts.order_by("id"))
    assert [part.split_pages for part in parts] == [[1, 2], [3], [4, 5, 6]]
    for part in parts:
        assert part.status == Document.Status.QUEUED
        assert part.uploaded_by == clerk
        assert len(pdfium.PdfDocument(part.original.read())) == len(part.split_pages)
    [confirmed] = events(batch, EventType.SPLIT_CONFIRMED)
    assert confirmed.actor_username == clerk.username
    assert not confirmed.details["automatic"]
    assert not events(batch, EventType.SPLIT_CORRECTED)

    for part, number in zip(parts, numbers, strict=True):
        assert jobs.process_document(part.pk).startswith("ready")
        part.refresh_from_db()
        assert part.status in READ
        assert part.page_count == len(part.split_pages)
        invoice_number = part.fields.get(name="invoice_number").value
        assert invoice_number.startswith(number) or number.startswith(invoice_number)
        # Read from the batch's stored page text: nothing decoded or read again.
        run = part.runs.get()
        assert "decode" not in run.stage_seconds
        assert run.stage_seconds["text"] == 0.0
        [ingested] = events(part, EventType.DOCUMENT_INGESTED)
        assert ingested.details["split_from"] == str(batch.public_id)

    detail = client.get(reverse("document-detail", args=[parts[0].public_id]))
    assert reverse("document-split", args=[batch.public_id]) in detail.content.decode()


def test_a_person_merges_and_splits_before_confirming(
    held_batch: tuple[Document, list[str]], clerk: User
) -> None:
    batch, _ = held_batch
    client = logged_in(clerk)
    confirm(client, batch, [1, 3, 5])  # merge at page 4, split at page 5
    batch.refresh_from_db()
    assert [part.split_pages for part in batch.split_parts.order_by("id")] == [
        [1, 2],
        [3, 4],
        [5, 6],
    ]
    [corrected] = events(batch, EventType.SPLIT_CORRECTED)
    assert corrected.actor_username == clerk.username
    assert corrected.details["split_at"] == [5]
    assert corrected.details["merged_at"] == [4]
    assert corrected.details["proposed_parts"] == [[1, 2], [3], [4, 5, 6]]
    history = client.get(reverse("document-detail", args=[batch.public_id]))
    text = history.content.decode()
    assert "corrected the split: split at page 5, merged at page 4" in text
    assert "Vouch found 3 documents in this file" in text


def test_merging_every_page_reads_the_batch_as_one_document(
    held_batch: tuple[Document, list[str]], clerk: User
) -> None:
    batch, _ = held_batch
    response = confirm(logged_in(clerk), batch, [1])
    assert response["Location"] == reverse("document-detail", args=[batch.public_id])
    batch.refresh_from_db()
    assert batch.status == Document.Status.QUEUED
    assert not batch.split_parts.exists()
    jobs.process_document(batch.pk)
    batch.refresh_from_db()
    assert batch.status in READ
    assert batch.page_count == 6
    assert "decode" not in batch.runs.order_by("attempt").last().stage_seconds


def test_a_split_at_a_page_the_batch_lacks_is_refused(
    held_batch: tuple[Document, list[str]], clerk: User
) -> None:
    batch, _ = held_batch
    client = logged_in(clerk)
    response = confirm(client, batch, [1, 9])
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == Document.Status.SPLIT_TO_CONFIRM
    assert not batch.split_parts.exists()
    page = client.get(response["Location"])
    assert "The batch has no page 9 to split at." in page.content.decode()


def test_only_reviewers_confirm_a_split(
    held_batch: tuple[Document, list[str]], outsider: User, other_clerk: User
) -> None:
    batch, _ = held_batch
    # May upload and see their own uploads, but not review: an intake role.
    intake = Group.objects.create(name="intake")
    intake.permissions.add(
        *Permission.objects.filter(codename__in=["view_document", "add_document"])
    )
    uploader = User.objects.create(username="uploader")
    uploader.groups.add(intake)
    Document.objects.filter(pk=batch.pk).update(uploaded_by=uploader)

    own = logged_in(uploader).get(reverse("document-split", args=[batch.public_id]))
    assert own.status_code == 200
    assert "split-confirm" not in own.content.decode()
    assert confirm(logged_in(uploader), batch, PROPOSED).status_code == 403
    assert confirm(logged_in(outsider), batch, PROPOSED).status_code == 404
    batch.refresh_from_db()
    assert batch.status == Document.Status.SPLIT_TO_CONFIRM

    # Another reviewer (not the uploader) may confirm; a second confirmation
    # changes nothing.
    assert confirm(logged_in(other_clerk), batch, PROPOSED).status_code == 302
    confirm(logged_in(other_clerk), batch, [1, 2])
    batch.refresh_from_db()
    assert batch.split_parts.count() == 3
    assert len(events(batch, EventType.SPLIT_CONFIRMED)) == 1


def test_a_certain_split_is_made_without_a_person(
    clerk: User, media_root: Path, settings: SettingsWrapper
) -> None:
    settings.VOUCH_SPLIT_AUTO_CONFIDENCE = 0  # every proposal counts as certain
    content, _ = three_invoice_batch()
    batch = document_ingest(
        content=content, original_name="batch.pdf", channel="upload",
        uploaded_by=clerk,
    ).document  # fmt: skip
    jobs.process_document(batch.pk)
    batch.refresh_from_db()
    assert batch.status == Document.Status.SPLIT
    assert batch.split_parts.count() == 3
    [confirmed] = events(batch, EventType.SPLIT_CONFIRMED)
    assert confirmed.details["automatic"] is True
    assert confirmed.actor_username == ""


def test_a_single_multi_page_invoice_is_not_held(clerk: User, media_root: Path) -> None:
    data, _ = dev_invoice("deepform-vrdu-adbuy", 3, None)
    document = document_ingest(
        content=data, original_name="one.pdf", channel="upload", uploaded_by=clerk
    ).document
    assert jobs.process_document(document.pk).startswith("ready")
    document.refresh_from_db()
    assert document.status in READ
    assert not BatchSplit.objects.filter(batch=document).exists()
    assert "split" in document.runs.get().stage_seconds  # asked, not held


def test_a_batch_page_shows_its_iban_masked(
    held_batch: tuple[Document, list[str]], clerk: User
) -> None:
    batch, _ = held_batch
    page = batch.pages.get(number=3)  # the Factur-X invoice, its IBAN printed
    assert any("FR20" in line.text.replace(" ", "") for line in page.lines.all())
    shown = logged_in(clerk).get(reverse("page-image", args=[batch.public_id, 3]))
    with page.image.open("rb") as stored:
        assert shown.content != stored.read()  # blacked out where the IBAN is
    detail = logged_in(clerk).get(reverse("document-detail", args=[batch.public_id]))
    assert "FR20 1242 1242" not in detail.content.decode()
    assert "FR2012421242" not in detail.content.decode()
