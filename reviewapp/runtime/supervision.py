"""Keep a set of child processes running: `make run`'s process manager.

A child that dies (a worker killed by the kernel's OOM killer, a crash in a
housekeeping loop) is started again after a pause that doubles with each quick
death (1 s, 2 s, 4 s ... up to a minute) and resets once it has stayed up for a
while. One child's death never stops the others: the web server keeps serving
while a worker comes back. Imports nothing from Django (it runs before settings
are loaded, like `reviewapp.runtime.local_redis`).

Production uses systemd or a Procfile instead (see README, "Running in
production"); this is the one-machine equivalent.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 60.0
# A child up for this long counts as healthy: its next death restarts it at once.
HEALTHY_AFTER_SECONDS = 30.0


@dataclass
class Child:
    """One supervised program. `command` is called for every start, so each
    start may get fresh arguments (an RQ worker needs a new name)."""

    name: str
    command: Callable[[int], Sequence[str]]
    log: Path | None = None
    # Descriptors the child inherits, e.g. the web server's listening socket.
    pass_fds: tuple[int, ...] = ()
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    starts: int = 0
    backoff: float = FIRST_BACKOFF_SECONDS
    restart_at: float | None = None
    exit_codes: list[int] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Supervisor:
    """Start children, restart the ones that die with backoff, stop them all."""

    def __init__(
        self,
        *,
        cwd: Path,
        log: Callable[[str], None] = print,
        clock: Callable[[], float] = time.monotonic,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.cwd = cwd
        self.env = dict(env) if env is not None else None
        self.children: list[Child] = []
        self._log = log
        self._clock = clock

    def add(
        self,
        name: str,
        command: Callable[[int], Sequence[str]],
        *,
        log: Path | None = None,
        pass_fds: Sequence[int] = (),
    ) -> Child:
        """Start a child; `log` collects its output (else it shares ours);
        `pass_fds` stay open in it."""
        child = Child(name=name, command=command, log=log, pass_fds=tuple(pass_fds))
        self.children.append(child)
        self._start(child)
        return child

    def _start(self, child: Child) -> None:
        child.starts += 1
        command = list(child.command(child.starts))
        if child.log is None:
            child.process = subprocess.Popen(
                command, cwd=self.cwd, env=self.env, pass_fds=child.pass_fds
            )
        else:
            with child.log.open("ab") as output:
                child.process = subprocess.Popen(
                    command,
                    cwd=self.cwd,
                    env=self.env,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    pass_fds=child.pass_fds,
                )
        child.started_at = self._clock()
        child.restart_at = None

    def poll(self) -> None:
        """Notice dead children and restart those whose pause is over."""
        now = self._clock()
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    self._log(f"Restarting {child.name} (start {child.starts + 1}).")
                    self._start(child)
                continue
            if child.process is None or child.process.poll() is None:
                continue
            code = child.process.returncode
            child.exit_codes.append(code)
            if now - child.started_at >= HEALTHY_AFTER_SECONDS:
                child.backoff = FIRST_BACKOFF_SECONDS
            self._log(
                f"{child.name} stopped (exit {code}); "
                f"restarting it in {child.backoff:.0f} s."
            )
            child.restart_at = now + child.backoff
            child.backoff = min(child.backoff * 2, MAX_BACKOFF_SECONDS)

    def run_forever(self, interval: float = 0.5) -> None:
        while True:
            self.poll()
            time.sleep(interval)

    def any_exited(self) -> bool:
        return any(not child.running for child in self.children)

    def stop(self, timeout: float = 15.0) -> None:
        """Ask every child to stop (SIGTERM), then kill what is left."""
        for child in self.children:
            child.restart_at = None
            if child.running:
                assert child.process is not None
                child.process.terminate()
        deadline = time.monotonic() + timeout
        for child in self.children:
            if child.process is None:
                continue
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
