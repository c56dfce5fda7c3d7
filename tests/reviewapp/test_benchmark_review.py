from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from reviewapp.models.documents import Document

pytestmark = pytest.mark.django_db


def test_it_times_every_page_and_leaves_nothing_behind() -> None:
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
        "exception queue",
        "admin overview",
        "review page",
    ):
        p50, p95, slowest, cpu_p50, cpu_p95, queries = rows[label]
        assert 0 < float(p50) <= float(p95) <= float(slowest), label
        assert 0 <= float(cpu_p50) <= float(cpu_p95), label
        assert int(queries) > 0, label
    assert "120 created" in output
    assert "Load average" in output
    assert Document.objects.count() == 0
