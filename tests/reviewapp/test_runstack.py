"""`make run` (reviewapp.runtime.runstack) survives a worker or a web process
killed with SIGKILL: it comes back, and the site never stops answering."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


def _command_line(process: psutil.Process) -> str:
    """The process's command line; "" once it has died (a zombie until the
    supervisor reaps it)."""
    try:
        return " ".join(process.cmdline())
    except (psutil.ZombieProcess, psutil.NoSuchProcess):
        return ""


def _workers(stack: psutil.Process) -> list[psutil.Process]:
    """The document workers (not the retrain queue's worker)."""
    return [
        child
        for child in stack.children()
        if "rqworker default" in _command_line(child) and child.is_running()
    ]


def _web(stack: psutil.Process) -> list[psutil.Process]:
    return [
        child
        for child in stack.children()
        if "daphne" in _command_line(child) and child.is_running()
    ]


def _until(process, condition, seconds: float, what: str, log: Path) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"make run exited\n{log.read_text()[-4000:]}")
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"{what} within {seconds:.0f} s\n{log.read_text()[-4000:]}")


@pytest.fixture
def runstack(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    port = _free_port()
    log = tmp_path / "runstack.log"
    env = {
        **os.environ,
        "VOUCH_VAR_DIR": str(tmp_path / "var"),
        "VOUCH_PORT": str(port),
        "VOUCH_LOAD_DEMO": "0",
        "VOUCH_WEB_PROCESSES": "2",
        "VOUCH_OCR_ENGINE": "pipeline.ocr.recorded.RecordedOcrEngine",
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("REDIS_URL", "DATABASE_URL", "VOUCH_MEDIA_ROOT"):
        env.pop(name, None)  # its own Redis and database, as on a fresh checkout
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "reviewapp.runtime.runstack"],
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process, f"http://127.0.0.1:{port}/accounts/login/", log
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def serving(
    runstack: tuple[subprocess.Popen[bytes], str, Path],
) -> tuple[subprocess.Popen[bytes], str, Path, psutil.Process]:
    """`make run` answering its login page, and its process for psutil."""
    process, url, log = runstack
    _until(process, lambda: _answers(url), 180, "make run answering", log)
    return process, url, log, psutil.Process(process.pid)


def test_a_worker_killed_with_sigkill_is_restarted_and_the_web_keeps_serving(
    serving: tuple[subprocess.Popen[bytes], str, Path, psutil.Process],
) -> None:
    process, url, log, stack = serving
    _until(process, lambda: len(_workers(stack)) == 1, 30, "one worker running", log)
    [worker] = _workers(stack)
    web = _web(stack)

    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)

    # The web server answers while the worker is down and after it is back.
    assert _answers(url)
    _until(
        process,
        lambda: [w.pid for w in _workers(stack)] not in ([], [worker.pid]),
        30,
        "a new worker",
        log,
    )
    assert process.poll() is None
    assert _answers(url)
    assert [c.pid for c in _web(stack)] == [w.pid for w in web]
    assert "restarting it in 1 s" in log.read_text()


def test_web_processes_share_the_port_and_one_killed_leaves_the_site_up(
    serving: tuple[subprocess.Popen[bytes], str, Path, psutil.Process],
) -> None:
    process, url, log, stack = serving
    _until(process, lambda: len(_web(stack)) == 2, 30, "two web processes", log)
    first, second = _web(stack)
    # Both adopted the one listening socket: neither bound a port of its own.
    for web in (first, second):
        ports = {c.laddr.port for c in web.net_connections("tcp") if not c.raddr}
        assert ports == {int(url.split(":")[2].split("/")[0])}

    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)

    # The other one answers every request while the first is down.
    assert all(_answers(url) for _ in range(10))
    _until(process, lambda: len(_web(stack)) == 2, 30, "a new web process", log)
    assert second.pid in [w.pid for w in _web(stack)]
    assert all(_answers(url) for _ in range(10))
    assert "web 1 stopped" in log.read_text()
