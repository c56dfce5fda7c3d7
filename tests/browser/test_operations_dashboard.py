"""The operations dashboard in a real browser, fed by a clerk's real review
time: the review page counts active seconds (page visible, person active)
and sends them when the clerk leaves; a supervisor then sees them on the
dashboard beside the other charts, and downloads a chart as CSV."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import expect

from reviewapp.models.audit import AuditEvent
from reviewapp.models.configuration import FieldThreshold
from reviewapp.models.documents import Document
from reviewapp.models.fields import Field
from reviewapp.models.review import ReviewTime
from reviewapp.roles import ADMIN, SUPERVISOR
from reviewapp.thresholds import review_thresholds
from tests.browser.conftest import LoginAs
from tests.conftest import make_document, make_user

pytestmark = [pytest.mark.browser, pytest.mark.integration]

SCREENSHOTS = os.environ.get("VOUCH_SCREENSHOTS", "")


def test_review_time_reaches_the_dashboard_and_charts_download(
    login_as: LoginAs, clerk: User
) -> None:
    document = make_document(
        fields={"vendor_name": ("ACME GmbH", 0.99), "total_amount": ("120.50", 0.4)}
    )
    approved = make_document(status="approved", fields={"total_amount": ("9.00", 0.9)})
    Document.objects.filter(pk=approved.pk).update(
        decided_at=timezone.now(), processed_at=timezone.now()
    )

    page = login_as(clerk)
    page.goto(f"/documents/{document.public_id}/")
    page.locator("#field-total_amount").focus()
    for step in range(6):  # about three seconds of a person at work
        page.mouse.move(300 + step, 300)
        page.wait_for_timeout(500)
    counted = page.evaluate("window.vouchReviewTime()")
    assert counted["active"] >= 2
    assert counted["fields"].get("total_amount", 0) >= 1
    page.goto("/documents/")  # leaving sends the last report
    page.wait_for_timeout(500)
    spent = ReviewTime.objects.get(document=document)
    assert spent.username == "clerk"
    assert 2 <= spent.active_seconds <= 10
    assert spent.field_seconds.get("total_amount", 0) >= 1

    boss = login_as(make_user("supervisor", SUPERVISOR))
    boss.get_by_role("link", name="Operations").click()
    expect(boss.get_by_role("heading", name="Operations")).to_be_visible()
    for title in ("Straight-through rate", "Exception rate by reason",
                  "First-pass accuracy per field", "Cycle time (p90)",
                  "Age of waiting work", "Active review time per reviewer",
                  "Throughput per day"):  # fmt: skip
        expect(boss.get_by_role("heading", name=title, exact=True)).to_be_visible()
    reviewers = boss.locator("#chart-review-time")
    expect(reviewers.locator("svg")).to_contain_text("clerk")
    expect(boss.locator("#waiting-queues")).to_contain_text("Clerks' review")
    with boss.expect_download() as download:
        boss.locator("#chart-throughput").get_by_role("link", name="CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert sum(int(row["approved"]) for row in rows) == 1

    boss.get_by_label("Document type").select_option("")
    boss.get_by_label("From").fill("2026-01-05")
    boss.get_by_label("Until").fill("2026-01-01")
    boss.get_by_role("button", name="Show").click()
    expect(boss.get_by_role("alert")).to_contain_text("swap the dates")

    if SCREENSHOTS:
        boss.goto("/operations/")
        for width in (1440, 1024, 390):
            boss.set_viewport_size({"width": width, "height": 900})
            boss.screenshot(path=f"{SCREENSHOTS}/dashboard-{width}.png", full_page=True)


def test_an_admin_applies_a_threshold_from_the_curve_and_requeues_a_failed_job(
    login_as: LoginAs, roles: None
) -> None:
    for confidence, changed in [(0.99, False), (0.96, True), (0.92, False),
                                (0.85, True), (0.7, False)]:  # fmt: skip
        document = make_document(
            status="approved", fields={"total_amount": ("10.00", confidence)}
        )
        if changed:
            Field.objects.filter(document=document).update(
                value="11.00", set_by="human"
            )
    failed = make_document(status="failed", name="broken-scan.pdf")
    Document.objects.filter(pk=failed.pk).update(
        failure_reason="the PDF is encrypted; send it without a password"
    )

    page = login_as(make_user("admin", ADMIN))
    page.goto("/operations/thresholds/")
    page.get_by_label("Field", exact=True).select_option("total_amount")
    page.get_by_label("Candidate threshold").fill("0.9")
    page.get_by_role("button", name="Simulate").click()
    expect(page.locator("#figures-candidate")).to_contain_text("60 %")
    expect(page.locator("#figures-candidate")).to_contain_text("200.0 errors")
    current = review_thresholds()["total_amount"]
    expect(page.locator("svg .chart-marker").first).to_contain_text(
        f"now {current:.3f}"
    )
    if SCREENSHOTS:
        for width in (1440, 1024, 390):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=f"{SCREENSHOTS}/simulator-{width}.png", full_page=True)
        page.set_viewport_size({"width": 1400, "height": 900})
    page.get_by_label("Why (recorded in the audit trail)").fill("pilot for totals")
    page.get_by_role("button", name="Apply 0.900 to Total").click()
    expect(page.get_by_role("status").first).to_contain_text("0.900 and above")
    expect(page.locator("#figures-current")).to_contain_text("Now, at 0.900")
    assert FieldThreshold.objects.get(name="total_amount").threshold == 0.9

    page.goto("/operations/failed/")
    row = page.get_by_role("row").filter(has_text="broken-scan.pdf")
    expect(row).to_contain_text("the PDF is encrypted")
    if SCREENSHOTS:
        for width in (1440, 1024, 390):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=f"{SCREENSHOTS}/failed-{width}.png", full_page=True)
        page.set_viewport_size({"width": 1400, "height": 900})
    row.get_by_role("button", name="Requeue broken-scan.pdf").click()
    expect(page.get_by_role("status").first).to_contain_text("1 document requeued.")
    assert AuditEvent.objects.filter(
        event_type=AuditEvent.EventType.DOCUMENT_RETRY, actor_username="admin"
    ).exists()
