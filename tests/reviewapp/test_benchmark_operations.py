from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from reviewapp.models.documents import Document
from reviewapp.models.operations import OperationsDay

# The benchmark makes and drops a database of its own: no test transaction
# may wrap it.
pytestmark = pytest.mark.django_db(transaction=True)


def test_it_times_every_page_in_a_scratch_database_of_its_own() -> None:
    configured = connection.settings_dict["NAME"]
    out = StringIO()
    call_command(
        "benchmark_operations", "--documents", "60", "--requests", "2", stdout=out
    )
    output = out.getvalue()
    rows = {line[:32].strip(): line[32:].split() for line in output.splitlines()}
    for label in (
        "dashboard, last 30 days",
        "dashboard, 30 days, receipts",
        "dashboard CSV (throughput)",
        "simulator, total amount",
        "metrics (Prometheus scrape)",
    ):
        p50, p95, slowest, *_ = rows[label]
        assert 0 < float(p50) <= float(p95) <= float(slowest), label
    prepared = next(line for line in output.splitlines() if "scratch" in line)
    assert "60 documents" in prepared
    assert "committed" in prepared
    assert connection.settings_dict["NAME"] == configured
    assert Document.objects.count() == 0
    assert OperationsDay.objects.count() == 0
