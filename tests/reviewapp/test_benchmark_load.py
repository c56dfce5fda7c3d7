"""The load benchmark runs Locust against a real local stack and prints figures
(a smoke run: two reviewers for a few seconds; the figures are not asserted)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_benchmark_load_prints_percentiles_errors_and_queries_per_action(
    media_root: Path,
) -> None:
    output = io.StringIO()
    call_command(
        "benchmark_load",
        reviewers=2,
        seconds=8,
        uploads_per_second=1.0,
        prepared=4,
        stdout=output,
    )
    table = output.getvalue()
    print(table)
    lines = table.splitlines()
    header = next(
        index for index, line in enumerate(lines) if line.startswith("action")
    )
    assert lines[header].split()[1:] == [
        "requests", "errors", "p50", "ms", "p95", "ms", "p99", "ms", "queries",
    ]  # fmt: skip
    # The command pads the action name to 18 characters.
    rows = {line[:18].strip(): line[18:].split() for line in lines[header + 1 :]}
    for action in ("sign in", "open queue", "upload (API)"):
        assert action in rows, table
    assert int(rows["open queue"][0]) > 0
    assert float(rows["open queue"][-1]) > 0  # queries per request
