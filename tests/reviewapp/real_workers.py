"""Real RQ worker processes for tests: a private Redis, workers on the test
database and shared media storage, and waiting on what they do."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper

from reviewapp.runtime.local_redis import PrivateRedis, start_private_redis
from tests.conftest import RECORDED_OCR, REPO, shared_database_url


@pytest.fixture
def private_redis(tmp_path: Path, settings: SettingsWrapper) -> Iterator[PrivateRedis]:
    server = start_private_redis(tmp_path / "redis")
    settings.REDIS_URL = server.url
    settings.RQ_QUEUES = {
        "default": {**settings.RQ_QUEUES["default"], "URL": server.url}
    }
    yield server
    server.stop()


def start_worker(
    name: str,
    redis_url: str,
    media: Path,
    log: Path,
    environment: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """A DocumentWorker process on the test database and `media` (shared
    storage, as on several machines); recorded OCR unless `environment` says
    otherwise."""
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DATABASE_URL": shared_database_url(),
        "VOUCH_MEDIA_ROOT": str(media),  # shared storage, as on several machines
        "VOUCH_OCR_ENGINE": RECORDED_OCR,
        "DJANGO_SETTINGS_MODULE": "reviewapp.settings",
        **(environment or {}),
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "manage.py", "rqworker", "default",
             "--worker-class", "reviewapp.runtime.worker.DocumentWorker",
             "--serializer", "rq.serializers.JSONSerializer", "--name", name],
            cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip


def wait_for(condition: object, what: str, logs: list[Path], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            text = "\n".join(log.read_text(errors="replace")[-3000:] for log in logs)
            pytest.fail(f"{what} did not happen in {timeout:.0f} s\n{text}")
        time.sleep(0.25)
