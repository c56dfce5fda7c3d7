"""Each dashboard figure on constructed documents whose answer is known, the
CSV behind every chart, and who may see the page."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper

from reviewapp.metric_arithmetic import DURATION_PRECISION
from reviewapp.models.documents import Document
from reviewapp.models.fields import Field
from reviewapp.models.review import ReviewTime
from reviewapp.models.validation import ValidationIssue
from reviewapp.selectors.operations import (
    DashboardFilters,
    cycle_times,
    dashboard_chart,
    dashboard_charts,
    document_types,
    exception_rates,
    field_accuracy,
    review_time,
    straight_through_rate,
    throughput,
    waiting_work,
)
from reviewapp.services.operations import operations_rollup
from tests.conftest import logged_in, make_document

DAY = date(2026, 3, 2)
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
RANGE = DashboardFilters(start=DAY, end=DAY + timedelta(days=1))
SURE = 0.99


def at(document: Document, **moments: datetime | None) -> Document:
    Document.objects.filter(pk=document.pk).update(**moments)
    document.refresh_from_db()
    return document


def approved(
    *, by_routing: bool = False, when: datetime = NOON, **kwargs: object
) -> Document:
    document = make_document(status="approved", **kwargs)  # type: ignore[arg-type]
    Document.objects.filter(pk=document.pk).update(straight_through=by_routing)
    return at(document, created_at=when - timedelta(hours=2),
              processed_at=when - timedelta(hours=1), decided_at=when)  # fmt: skip


def correct(document: Document, name: str, value: str) -> None:
    Field.objects.filter(document=document, name=name).update(
        value=value, set_by=Field.SetBy.HUMAN
    )


def row(chart_rows: list[list[object]], key: object) -> list[object]:
    return next(r for r in chart_rows if r[0] == key)


def test_straight_through_rate_per_day_of_approval(db: None) -> None:
    fields = {"vendor_name": ("ACME", SURE), "total_amount": ("10.00", SURE)}
    approved(by_routing=True, fields=fields)
    approved(fields=fields)  # a person approved it without editing
    edited = approved(fields=fields)
    correct(edited, "total_amount", "11.00")
    approved(fields=fields, when=NOON - timedelta(days=3))  # outside the range

    chart = straight_through_rate(RANGE)

    assert row(chart.rows, "2026-03-02") == ["2026-03-02", 3, 2, 1]
    assert row(chart.rows, "2026-03-03") == ["2026-03-03", 0, 0, 0]
    assert dict(chart.summary)["No human edit"] == "67 %"
    assert dict(chart.summary)["By routing"] == "33 %"
    assert "<svg" in chart.svg


def test_exception_rate_counts_each_reason_over_documents_read(
    db: None, settings: SettingsWrapper
) -> None:
    settings.VOUCH_FLAG_BELOW_CONFIDENCE = 0.9
    sure = {"vendor_name": ("ACME", SURE), "invoice_date": ("2026-03-01", SURE),
            "total_amount": ("10.00", SURE)}  # fmt: skip
    clean = make_document(fields=sure)
    make_document(fields={**sure, "total_amount": ("", SURE)})  # key field missing
    make_document(fields={**sure, "total_amount": ("10.00", 0.05)})  # low confidence
    unsure_type = make_document(fields=sure)
    Document.objects.filter(pk=unsure_type.pk).update(document_type_confidence=0.5)
    make_document(status="failed")
    held = make_document(status="needs_new_copy")
    Document.objects.filter(pk=held.pk).update(quality_score=31.0)
    forced = make_document(fields=sure)  # held, then a person had it read
    Document.objects.filter(pk=forced.pk).update(quality_score=42.0)
    ValidationIssue.objects.create(
        document=clean, rule="duplicate_invoice", code="duplicate", severity="error",
        message="seen before",
    )  # fmt: skip
    make_document(status="processing")  # not read yet: not counted
    for document in Document.objects.all():
        at(document, created_at=NOON)

    chart = exception_rates(RANGE)

    assert dict(chart.summary) == {"Documents read": "7"}
    by_reason = {r[0]: (r[1], r[3]) for r in chart.rows}
    share = pytest.approx(1 / 7)
    assert by_reason == {
        "Could not be read": (1, share),
        "Key field missing": (1, share),  # not the held copy: it was never read
        "Low confidence": (1, share),
        "Document type unsure": (1, share),
        "Needs a new copy (capture check)": (2, pytest.approx(2 / 7)),
        "Possible duplicate": (1, share),
    }


def test_first_pass_accuracy_per_field_and_vendor(db: None) -> None:
    for number in range(4):
        document = approved(
            fields={
                "vendor_name": ("ACME", SURE),
                "total_amount": (f"{number}.00", SURE),
            }
        )
        Document.objects.filter(pk=document.pk).update(vendor_name="ACME")
        if number == 0:
            correct(document, "total_amount", "9.99")
    other = approved(
        fields={"vendor_name": ("Globex", SURE), "total_amount": ("5.00", SURE)}
    )
    Document.objects.filter(pk=other.pk).update(vendor_name="Globex")
    correct(other, "total_amount", "5.50")
    correct(other, "vendor_name", "Globex Ltd")
    # Nobody looked at a straight-through document: not evidence either way.
    approved(by_routing=True, fields={"total_amount": ("1.00", SURE)})

    per_field, per_vendor, most_corrected = field_accuracy(RANGE)

    assert row(per_field.rows, "total_amount") == ["total_amount", 5, 3, 2, 0.6]
    assert row(per_field.rows, "vendor_name") == ["vendor_name", 5, 4, 1, 0.8]
    assert row(per_vendor.rows, "Globex") == ["Globex", 2, 0, 2, 0.0]
    assert row(per_vendor.rows, "ACME") == ["ACME", 8, 7, 1, 0.875]
    assert most_corrected.rows == [["total_amount", 2], ["vendor_name", 1]]


def test_cycle_time_percentiles_per_step(db: None) -> None:
    for hours in (1, 2, 3, 4, 10):
        document = make_document(status="approved")
        at(document, created_at=NOON, processed_at=NOON + timedelta(minutes=hours),
           decided_at=NOON + timedelta(hours=hours),
           exported_at=NOON + timedelta(hours=hours + 1))  # fmt: skip
    at(make_document(status="ready"), created_at=NOON, processed_at=NOON)

    chart = cycle_times(RANGE)
    # Read from 2 %-wide duration buckets: each percentile within 1 %.
    within = DURATION_PRECISION

    upload_ready = row(chart.rows, "Upload → ready")
    assert upload_ready[1] == 6
    # p50 of 0, 1, 2, 3, 4 and 10 minutes
    assert upload_ready[2] == pytest.approx(150.0, rel=within)
    ready_approved = row(chart.rows, "Ready → approved")
    assert ready_approved[1] == 5
    assert ready_approved[2] == pytest.approx(3 * 3600 - 3 * 60, rel=within)
    # p90 of 1, 2, 3, 4, 10 times 59 min: rank 3.6, between the 4th and 5th
    assert ready_approved[3] == pytest.approx(
        0.6 * (10 * 3540) + 0.4 * (4 * 3540), rel=within
    )
    assert row(chart.rows, "Upload → exported")[2] == pytest.approx(
        4 * 3600, rel=within
    )


def test_waiting_work_ages_against_the_queue_sla(
    db: None, settings: SettingsWrapper
) -> None:
    now = timezone.now()
    settings.VOUCH_SLA_REVIEW_HOURS = 4
    settings.VOUCH_SLA_EXCEPTIONS_HOURS = 4
    at(make_document(status="ready"), processed_at=now - timedelta(hours=1))
    at(make_document(status="claimed"), processed_at=now - timedelta(hours=3.5))
    at(make_document(status="escalated"), status_changed_at=now - timedelta(hours=5))

    chart = waiting_work(RANGE, now=now)

    queues = {q.name: q for q in chart.extra}
    clerks = queues["Clerks' review"]
    assert clerks.count == 2
    assert clerks.oldest_seconds == pytest.approx(3.5 * 3600)
    assert clerks.p50_seconds == pytest.approx(2.25 * 3600)
    assert clerks.state == "warning"
    assert queues["Exceptions"].state == "late"
    assert queues["Processing"].count == 0 and queues["Processing"].state == "ok"
    assert 'fill="#D55E00"' in chart.svg  # late is red


def test_review_time_per_reviewer_and_minutes_per_hundred_documents(
    db: None, clerk: User, other_clerk: User
) -> None:
    documents = [approved() for _ in range(4)]
    spent = [(clerk, documents[0], 90.0, {"total_amount": 30.0}),
             (clerk, documents[1], 60.0, {"total_amount": 10.0, "vendor_name": 5.0}),
             (other_clerk, documents[1], 30.0, {})]  # fmt: skip
    for number, (user, document, seconds, fields) in enumerate(spent):
        ReviewTime.objects.create(
            document=document, user=user, username=user.username,
            page_view=f"{number:032d}", active_seconds=seconds, field_seconds=fields,
        )  # fmt: skip
    ReviewTime.objects.update(updated_at=NOON)

    reviewers, per_field = review_time(RANGE)

    assert reviewers.rows == [["clerk", 150.0, 2], ["other_clerk", 30.0, 1]]
    summary = dict(reviewers.summary)
    assert summary["Documents reviewed"] == "2"
    assert summary["Per reviewed document"] == "2 min"  # 180 s over 2 documents
    # 180 s of work for 4 decided documents: 45 s each, 75 minutes per 100.
    assert summary["Minutes of human work per 100 documents"] == "75.0"
    assert per_field.rows == [["total_amount", 40.0], ["vendor_name", 5.0]]


def test_throughput_per_day(db: None) -> None:
    first = approved()
    at(first, exported_at=NOON + timedelta(days=1))
    at(make_document(status="ready"), created_at=NOON, processed_at=NOON)
    at(make_document(status="queued"), created_at=NOON + timedelta(days=1),
       processed_at=None)  # fmt: skip

    chart = throughput(RANGE)

    assert chart.columns == ["day", "in", "processed", "approved", "exported"]
    assert chart.rows == [["2026-03-02", 2, 2, 1, 0], ["2026-03-03", 1, 0, 0, 1]]


def test_a_batch_counts_as_its_documents_not_as_one_read_without_fields(
    db: None,
) -> None:
    """A scanner batch waiting for its split is in, but not read: no "key
    field missing" for a file that holds several documents. Once split, its
    parts are the documents counted, and the batch is not counted again."""
    sure = {"vendor_name": ("ACME", SURE), "invoice_date": ("2026-03-01", SURE),
            "total_amount": ("10.00", SURE)}  # fmt: skip
    make_document(status="split_to_confirm")
    split = make_document(status="split")
    for _ in range(2):
        part = make_document(fields=sure)
        Document.objects.filter(pk=part.pk).update(split_from=split)
    for document in Document.objects.all():
        at(document, created_at=NOON, processed_at=NOON)

    assert throughput(RANGE).rows[0] == ["2026-03-02", 3, 3, 0, 0]
    chart = exception_rates(RANGE)
    assert dict(chart.summary) == {"Documents read": "2"}
    assert "Key field missing" not in {r[0] for r in chart.rows}


def test_the_document_type_filter_narrows_every_figure(db: None) -> None:
    invoice, receipt = approved(), approved()
    Document.objects.filter(pk=invoice.pk).update(document_type="invoice")
    Document.objects.filter(pk=receipt.pk).update(document_type="receipt")
    only_receipts = DashboardFilters(
        start=RANGE.start, end=RANGE.end, document_type="receipt"
    )
    assert row(throughput(only_receipts).rows, "2026-03-02")[1:] == [1, 1, 1, 0]
    assert row(throughput(RANGE).rows, "2026-03-02")[1:] == [2, 2, 2, 0]


def test_the_page_is_for_supervisors_and_admins_and_each_chart_downloads(
    db: None, clerk: User, supervisor: User
) -> None:
    approved(fields={"total_amount": ("10.00", SURE)})
    assert logged_in(clerk).get("/operations/").status_code == 403
    page = logged_in(supervisor).get("/operations/?start=2026-03-02&end=2026-03-03")
    assert page.status_code == 200
    html = page.content.decode()
    slugs = ["straight-through", "exceptions", "field-accuracy", "field-corrections",
             "vendor-corrections", "cycle-time", "waiting", "review-time",
             "review-time-fields", "throughput"]  # fmt: skip
    for slug in slugs:
        assert f'id="chart-{slug}"' in html
        response = logged_in(supervisor).get(
            f"/operations/?start=2026-03-02&end=2026-03-03&chart={slug}&format=csv"
        )
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        header = next(csv.reader(io.StringIO(response.content.decode())))
        assert header and all(header)
    throughput_csv = logged_in(supervisor).get(
        "/operations/?start=2026-03-02&end=2026-03-03&chart=throughput&format=csv"
    )
    assert list(csv.reader(io.StringIO(throughput_csv.content.decode())))[1] == [
        "2026-03-02", "1", "1", "1", "0"
    ]  # fmt: skip
    bad = logged_in(supervisor).get("/operations/?start=2026-03-04&end=2026-03-01")
    assert "swap the dates" in bad.content.decode()


def test_a_chart_alone_is_the_chart_the_dashboard_draws(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: now)  # waiting ages agree
    correct(approved(fields={"total_amount": ("10.00", 0.5)}), "total_amount", "11")
    approved(by_routing=True, fields={"total_amount": ("10.00", SURE)})
    operations_rollup()
    every_chart = dashboard_charts(RANGE)
    for chart in every_chart:
        alone = dashboard_chart(RANGE, chart.slug)
        assert alone is not None
        assert (alone.slug, alone.columns, alone.rows, alone.summary) == (
            chart.slug, chart.columns, chart.rows, chart.summary
        ), chart.slug  # fmt: skip
    assert dashboard_chart(RANGE, "no-such-chart") is None


def test_a_chart_download_reads_only_what_its_chart_needs(
    db: None, supervisor: User
) -> None:
    approved(fields={"total_amount": ("10.00", SURE)})
    operations_rollup()
    client = logged_in(supervisor)
    url = "/operations/?start=2026-03-02&end=2026-03-03"
    client.get(url)
    with CaptureQueriesContext(connection) as whole_page:
        client.get(url)
    with CaptureQueriesContext(connection) as download:
        client.get(f"{url}&chart=throughput&format=csv")
    # Neither the waiting queues nor review time: a throughput CSV is the
    # range's day rows.
    assert len(download) < len(whole_page)
    assert not any("reviewapp_reviewtime" in q["sql"] for q in download)


def test_the_type_filter_lists_the_types_the_day_rows_hold_and_new_ones(
    db: None,
) -> None:
    invoice, receipt = approved(), approved()
    Document.objects.filter(pk=invoice.pk).update(document_type="invoice")
    Document.objects.filter(pk=receipt.pk).update(document_type="receipt")
    assert document_types() == ["invoice", "receipt"]  # no rollup yet: counted
    operations_rollup()
    assert document_types() == ["invoice", "receipt"]  # from the day rows
    credit_note = approved()  # after the rollup: counted live
    Document.objects.filter(pk=credit_note.pk).update(document_type="credit_note")
    assert document_types() == ["credit_note", "invoice", "receipt"]
