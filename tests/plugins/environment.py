"""The test run's environment, set before pytest-django loads settings.

Settings read the environment once, so a private redis-server (when REDIS_URL is
unset) must exist first: this hook wraps `pytest_load_initial_conftests`, which is
where pytest-django configures Django.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Generator
from pathlib import Path

import pytest

from reviewapp.local_redis import PrivateRedis, ensure_redis_url

_server: PrivateRedis | None = None


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests() -> Generator[None, None, None]:
    global _server
    os.environ.setdefault("SECRET_KEY", "tests-only-" + secrets.token_hex(16))
    _server = ensure_redis_url(Path(tempfile.mkdtemp(prefix="vouch-redis-")))
    return (yield)


def pytest_unconfigure() -> None:
    if _server is not None:
        _server.stop()
