"""The chaos run, small: uploads through the API while workers are killed with
SIGKILL and Redis is killed and restarted; every document read exactly once."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewapp.measurement.chaos import chaos_run
from reviewapp.models.documents import Document

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_every_document_is_processed_exactly_once_through_kills_and_a_redis_restart(
    media_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = chaos_run(documents=40, workers=2, kill_interval=(0.5, 2.0), seed=7)
    print("\n".join(report.lines()))

    # How many kills land depends on how fast the documents drain.
    assert report.kills >= 1
    assert report.restarts >= report.kills
    assert report.redis_restarts == 1
    assert report.accepted == 40
    assert report.lost == [] and report.duplicated == [] and report.stuck == []
    assert report.failed == []
    assert report.chain_problem == ""
    assert Document.objects.filter(status=Document.Status.QUEUED).count() == 0
    assert report.exactly_once
