"""`make run`'s process manager with real processes killed by SIGKILL."""

from __future__ import annotations

import itertools
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reviewapp.runtime import supervision
from reviewapp.runtime.supervision import Supervisor

SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[Supervisor]:
    running = Supervisor(cwd=tmp_path, log=lambda message: None)
    yield running
    running.stop(timeout=5)


def _poll_until(supervisor: Supervisor, condition, seconds: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        supervisor.poll()
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_a_killed_child_is_restarted_and_the_others_keep_running(
    supervisor: Supervisor,
) -> None:
    web = supervisor.add("web", lambda start: SLEEPER)
    worker = supervisor.add("worker", lambda start: SLEEPER)
    web_pid = web.process.pid  # type: ignore[union-attr]
    first_worker_pid = worker.process.pid  # type: ignore[union-attr]

    os.kill(first_worker_pid, signal.SIGKILL)
    _poll_until(supervisor, lambda: worker.starts == 2 and worker.running)

    assert worker.process.pid != first_worker_pid  # type: ignore[union-attr]
    assert worker.exit_codes == [-signal.SIGKILL]
    assert web.running and web.process.pid == web_pid  # type: ignore[union-attr]
    assert web.starts == 1


def test_each_start_gets_fresh_arguments(supervisor: Supervisor) -> None:
    seen: list[int] = []

    def command(start: int) -> list[str]:
        seen.append(start)
        return SLEEPER

    child = supervisor.add("worker", command)
    os.kill(child.process.pid, signal.SIGKILL)  # type: ignore[union-attr]
    _poll_until(supervisor, lambda: child.starts == 2)
    assert seen == [1, 2]


def test_a_child_that_keeps_dying_is_restarted_with_growing_pauses(
    supervisor: Supervisor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(supervision, "FIRST_BACKOFF_SECONDS", 0.2)
    crasher = [sys.executable, "-c", "raise SystemExit(3)"]
    child = supervisor.add("crasher", lambda start: crasher)
    starts_at: list[float] = []
    deadline = time.monotonic() + 8
    while child.starts < 4 and time.monotonic() < deadline:
        before = child.starts
        supervisor.poll()
        if child.starts != before:
            starts_at.append(time.monotonic())
        time.sleep(0.02)
    assert child.starts >= 4, child.exit_codes
    assert set(child.exit_codes) == {3}
    pauses = [later - earlier for earlier, later in itertools.pairwise(starts_at)]
    # 0.2 s, 0.4 s, 0.8 s ...: each pause about twice the one before.
    assert pauses[1] > pauses[0] * 1.5, pauses


def test_a_child_healthy_long_enough_is_restarted_after_the_shortest_pause(
    supervisor: Supervisor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(supervision, "HEALTHY_AFTER_SECONDS", 0.0)
    child = supervisor.add("worker", lambda start: SLEEPER)
    child.backoff = 32.0  # as if it had died quickly five times before
    os.kill(child.process.pid, signal.SIGKILL)  # type: ignore[union-attr]
    _poll_until(supervisor, lambda: child.restart_at is not None)
    assert child.restart_at - time.monotonic() <= 1.0  # type: ignore[operator]


def test_stop_ends_every_child(supervisor: Supervisor) -> None:
    children = [supervisor.add(name, lambda start: SLEEPER) for name in "ab"]
    supervisor.stop(timeout=5)
    assert all(child.process.poll() is not None for child in children)  # type: ignore[union-attr]


def test_children_get_the_given_environment_and_write_to_their_log(
    tmp_path: Path,
) -> None:
    supervisor = Supervisor(
        cwd=tmp_path, log=lambda message: None, env={"VOUCH_PROBE": "private"}
    )
    log = tmp_path / "child.log"
    probe = [sys.executable, "-c", "import os; print(os.environ.get('VOUCH_PROBE'))"]
    child = supervisor.add("probe", lambda start: probe, log=log)
    child.process.wait(timeout=10)  # type: ignore[union-attr]
    supervisor.stop(timeout=5)
    assert log.read_text().strip() == "private"
