"""Exports in a real browser: a supervisor downloads the batch of approved
documents from the Export page; a clerk downloads one approved document from
its review page, with the IBAN masked."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import expect

from reviewapp.masking import mask_value
from reviewapp.models.configuration import SensitiveField
from reviewapp.models.documents import Document
from reviewapp.roles import SUPERVISOR
from tests.browser.conftest import LoginAs
from tests.conftest import make_document, make_user

pytestmark = [pytest.mark.browser, pytest.mark.integration]

IBAN = "DE89370400440532013000"


def approved(name: str) -> Document:
    document = make_document(
        name=name,
        status="approved",
        fields={
            "vendor_name": ("ACME GmbH", 0.99),
            "invoice_number": (name.split(".")[0].upper(), 0.99),
            "total_amount": ("120.50", 0.99),
            "iban": (IBAN, 0.99),
        },
    )
    Document.objects.filter(pk=document.pk).update(decided_at=timezone.now())
    return document


def rows_of(path: str | Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(Path(path).read_text())))


def test_a_supervisor_downloads_the_batch_not_exported_yet(
    login_as: LoginAs, roles: None
) -> None:
    approved("inv-1.pdf")
    approved("inv-2.pdf")
    page = login_as(make_user("supervisor", SUPERVISOR))
    page.get_by_role("link", name="Export").click()
    expect(page.locator("#export-count")).to_contain_text("2 approved documents match")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    rows = rows_of(download.value.path())
    assert sorted(row["invoice_number"] for row in rows) == ["INV-1", "INV-2"]
    assert {row["iban"] for row in rows} == {IBAN}  # a supervisor may reveal


def test_a_clerk_exports_one_approved_document_with_the_iban_masked(
    login_as: LoginAs, clerk: User
) -> None:
    # The flush between browser tests removed the list the migration seeds.
    SensitiveField.objects.get_or_create(name="iban")
    document = approved("inv-3.pdf")
    page = login_as(clerk)
    expect(page.get_by_role("link", name="Export")).to_have_count(0)
    page.goto(f"/documents/{document.public_id}/")
    buttons = page.get_by_role("group", name="Export")
    with page.expect_download() as download:
        buttons.get_by_role("link", name="CSV").click()
    (row,) = rows_of(download.value.path())
    assert row["invoice_number"] == "INV-3"
    assert row["iban"] == mask_value(IBAN)
