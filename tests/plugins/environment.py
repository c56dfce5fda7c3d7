"""The test run's environment, set before pytest-django loads settings.

Settings read the environment once, so a private redis-server (when REDIS_URL is
unset) must exist first: this hook wraps `pytest_load_initial_conftests`, which is
where pytest-django configures Django.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Generator
from pathlib import Path

import pytest

from reviewapp.runtime.local_redis import PrivateRedis, ensure_redis_url

_server: PrivateRedis | None = None
_var_dir: Path | None = None


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests() -> Generator[None, None, None]:
    global _server, _var_dir
    os.environ.setdefault("SECRET_KEY", "tests-only-" + secrets.token_hex(16))
    os.environ.setdefault("VOUCH_AUDIT_KEY", "tests-only-" + secrets.token_hex(16))
    if "VOUCH_VAR_DIR" not in os.environ:
        # Each run gets its own test database file and media, so two runs on one
        # machine never share (and corrupt) a SQLite file.
        _var_dir = Path(tempfile.mkdtemp(prefix="vouch-test-"))
        os.environ["VOUCH_VAR_DIR"] = str(_var_dir)
    _server = ensure_redis_url(Path(tempfile.mkdtemp(prefix="vouch-redis-")))
    return (yield)


def pytest_unconfigure() -> None:
    if _server is not None:
        _server.stop()
    if _var_dir is not None:
        shutil.rmtree(_var_dir, ignore_errors=True)
