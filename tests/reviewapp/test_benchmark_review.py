from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from reviewapp.models.documents import Document

# The benchmark makes and drops a database of its own: no test transaction
# may wrap it.
pytestmark = pytest.mark.django_db(transaction=True)


def _scratch_database_exists(name: str) -> bool:
    if connection.vendor == "sqlite":
        return Path(name).exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return cursor.fetchone() is not None


def test_it_times_every_page_and_leaves_nothing_behind() -> None:
    configured = connection.settings_dict["NAME"]
    out = StringIO()
    call_command(
        "benchmark_review", "--documents", "120", "--requests", "3", stdout=out
    )
    output = out.getvalue()
    print(output)
    rows = {line[:28].strip(): line[28:].split() for line in output.splitlines()}
    for label in (
        "my queue, page 1",
        "my queue, page 2",
        "my queue, vendor filter",
        "my queue, least sure first",
        "exception queue",
        "admin overview",
        "review page",
    ):
        p50, p95, slowest, cpu_p50, cpu_p95, queries = rows[label]
        assert 0 < float(p50) <= float(p95) <= float(slowest), label
        assert 0 <= float(cpu_p50) <= float(cpu_p95), label
        assert int(queries) > 0, label
    assert "120 documents filled" in output
    assert "Load average" in output
    # It said where it ran and how the database was prepared ...
    prepared = next(line for line in output.splitlines() if "scratch" in line)
    assert "committed" in prepared
    if connection.vendor == "postgresql":
        assert "VACUUM ANALYZE" in prepared
    scratch = prepared.split(" database ", 1)[1].split(":", 1)[0]
    assert scratch != configured
    # ... wrote nothing into the configured one, and dropped its own.
    assert connection.settings_dict["NAME"] == configured
    assert Document.objects.count() == 0
    assert not _scratch_database_exists(scratch)


def test_it_refuses_to_run_inside_a_transaction() -> None:
    with transaction.atomic(), pytest.raises(CommandError, match="transaction"):
        call_command("benchmark_review", "--documents", "1", stdout=StringIO())
