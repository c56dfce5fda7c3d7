"""Exporting the audit log: command, browser page, filters, formats, benchmark."""

from __future__ import annotations

import csv
import io
import json
import warnings
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import AsyncClient, Client
from django.urls import reverse
from django.utils import timezone

from reviewapp.audit.export import COLUMNS
from reviewapp.audit.trail import (
    GENESIS_HASH,
    PlainEvent,
    append_plain_events,
    canonical_json,
    hashlib,
    record_event,
    verify_chain,
)
from reviewapp.models.audit import AuditEvent
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

EventType = AuditEvent.EventType
DOCUMENT = "7d7a0d4e-2f61-4a53-9d68-3f0c8a52f1a4"
IBAN = "DE89370400440532013000"


@pytest.fixture
def trail(clerk: User, supervisor: User) -> None:
    record_event(EventType.LOGIN, actor=clerk)
    record_event(
        EventType.FIELD_CHANGED,
        actor=clerk,
        details={"field": "iban", "reason": "typo"},
        sensitive={"old_value": "", "new_value": IBAN},
    )
    record_event(EventType.LOGIN, actor=supervisor)


def export(*args: str) -> str:
    out = io.StringIO()
    call_command("export_audit", *args, stdout=out)
    return out.getvalue()


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_command_exports_csv_filtered_by_user(trail: None) -> None:
    rows = csv_rows(export("--format", "csv", "--user", "clerk"))
    assert [row["event_type"] for row in rows] == ["login", "field_changed"]
    assert list(rows[0]) == list(COLUMNS)
    details = json.loads(rows[1]["details"])
    assert details["new_value"]["mask"] == "DE****************3000"
    assert IBAN not in json.dumps(rows)
    [exported] = AuditEvent.objects.filter(event_type=EventType.AUDIT_EXPORTED)
    assert exported.details["format"] == "csv"
    assert exported.details["filters"]["user"] == "clerk"
    assert "standard output" in exported.details["destination"]


def test_jsonl_rows_let_an_auditor_recompute_every_hash(
    trail: None, tmp_path: Path
) -> None:
    target = tmp_path / "audit.jsonl"
    export("--format", "jsonl", "--output", str(target))
    records = [json.loads(line) for line in target.read_text().splitlines()]
    # The export is itself an event, and the last row of its own file.
    assert [r["sequence"] for r in records] == list(range(1, len(records) + 1))
    assert records[-1]["event_type"] == "audit_exported"
    assert len(records) == AuditEvent.objects.count()
    previous = GENESIS_HASH
    for record in records:
        content = {key: value for key, value in record.items() if key != "content_hash"}
        assert record["previous_hash"] == previous
        digest = hashlib.sha256(canonical_json(content).encode())
        assert digest.hexdigest() == record["content_hash"]
        previous = record["content_hash"]


def test_the_command_filters_by_type_document_and_day(trail: None) -> None:
    append_plain_events(
        [PlainEvent(EventType.DOCUMENT_DOWNLOADED, document_public_id=UUID(DOCUMENT))]
    )
    today = timezone.now().date()
    assert len(csv_rows(export("--event-type", "login"))) == 2
    [row] = csv_rows(export("--document", DOCUMENT))
    assert (row["event_type"], row["document_public_id"]) == (
        "document_downloaded",
        DOCUMENT,
    )
    so_far = AuditEvent.objects.count()
    assert len(csv_rows(export("--since", str(today), "--until", str(today)))) == (
        so_far + 1  # and the export's own event
    )
    yesterday = str(today - timedelta(days=1))
    assert csv_rows(export("--until", yesterday)) == []


def test_the_command_explains_bad_filters(trail: None) -> None:
    with pytest.raises(CommandError, match="--since: Enter a valid date"):
        export("--since", "last tuesday")
    with pytest.raises(CommandError, match="--event-type: Select a valid choice"):
        export("--event-type", "coffee_made")
    with pytest.raises(CommandError, match="--until: The last day cannot be before"):
        export("--since", "2026-02-01", "--until", "2026-01-01")
    assert not AuditEvent.objects.filter(event_type=EventType.AUDIT_EXPORTED).exists()


def test_csv_cells_that_a_spreadsheet_would_run_are_defused() -> None:
    sneaky = make_user("@SUM", None)
    record_event(EventType.LOGIN, actor=sneaky)
    [row] = csv_rows(export("--event-type", "login"))
    assert row["actor_username"] == "'@SUM"


def test_only_administrators_may_open_the_export_page(
    clerk: User, supervisor: User
) -> None:
    for user in (clerk, supervisor):
        client = Client()
        client.force_login(user)
        assert client.get(reverse("audit-export")).status_code == 403
        assert (
            client.post(reverse("audit-export"), {"format": "csv"}).status_code == 403
        )
    assert not AuditEvent.objects.filter(event_type=EventType.AUDIT_EXPORTED).exists()


def test_the_export_page_streams_the_file_and_records_the_export(
    trail: None, admin_user: User
) -> None:
    client = Client(REMOTE_ADDR="192.0.2.10")
    client.force_login(admin_user)
    page = client.get(reverse("audit-export"))
    assert page.status_code == 200
    assert b'name="event_type"' in page.content
    assert b"Audit log</a>" in page.content  # the admin's menu links here

    response = client.post(
        reverse("audit-export"), {"format": "jsonl", "event_type": "login"}
    )
    assert response.status_code == 200 and response.streaming
    assert response["Content-Disposition"].endswith('.jsonl"')
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert [json.loads(line)["actor_username"] for line in lines] == [
        "clerk",
        "supervisor",
        "admin",  # force_login is a login too
    ]
    [exported] = AuditEvent.objects.filter(event_type=EventType.AUDIT_EXPORTED)
    assert exported.actor_username == "admin" and exported.actor_role == "admin"
    assert exported.ip_address == "192.0.2.10"
    assert exported.request_id == response["X-Request-ID"]
    assert exported.details["filters"]["event_type"] == "login"


def test_the_export_page_explains_bad_filters(admin_user: User) -> None:
    client = Client()
    client.force_login(admin_user)
    response = client.post(
        reverse("audit-export"),
        {"format": "csv", "since": "2026-02-01", "until": "2026-01-01"},
    )
    assert response.status_code == 400
    assert b"The last day cannot be before the first day." in response.content


def test_clerks_do_not_see_the_audit_log_in_the_menu(clerk: User) -> None:
    client = Client()
    client.force_login(clerk)
    page = client.get(reverse("document-list"))
    assert page.status_code == 200
    assert reverse("audit-export").encode() not in page.content


def test_the_benchmark_builds_a_valid_chain_and_exports_it(tmp_path: Path) -> None:
    target = tmp_path / "bench.csv"
    out = io.StringIO()
    call_command(
        "benchmark_audit_export",
        events=120,
        batch=50,
        output=target,
        verify=True,
        stdout=out,
    )
    text = out.getvalue()
    assert "created 120 chained events" in text
    assert "exported 121 events as csv" in text  # plus the export's own event
    assert "verify: 121 events OK" in text
    assert "peak RSS during export:" in text
    rows = csv_rows(target.read_text())
    assert [int(row["sequence"]) for row in rows] == list(range(1, 122))
    assert verify_chain().ok
    with pytest.raises(CommandError, match="scratch database"):
        call_command("benchmark_audit_export", events=10, output=target)


def test_under_asgi_the_export_streams_chunk_by_chunk(
    trail: None, admin_user: User
) -> None:
    """Daphne serves through ASGI, where Django would read a plain generator to
    the end into memory before sending a byte (and warn): the page must hand it
    an asynchronous one."""

    async def scenario() -> list[bytes]:
        client = AsyncClient()
        await client.aforce_login(admin_user)
        response = await client.post(reverse("audit-export"), {"format": "jsonl"})
        assert response.status_code == 200 and response.is_async
        return [chunk async for chunk in response.streaming_content]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chunks = async_to_sync(scenario)()
    assert not [w for w in caught if "must consume" in str(w.message)]
    lines = b"".join(chunks).decode().splitlines()
    sequences = [json.loads(line)["sequence"] for line in lines]
    assert sequences == list(range(1, AuditEvent.objects.count() + 1))
