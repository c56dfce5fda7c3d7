"""`make run`: everything Vouch needs on one machine, started and stopped together.

Starts a private redis-server when REDIS_URL is unset (with the production
persistence settings), migrates, loads the demo, then runs daphne (HTTP +
websockets; one process per core sharing the port, VOUCH_WEB_PROCESSES, see
reviewapp.runtime.web_processes), RQ worker(s) with RQ's scheduler, the stale-
and orphaned-document check, the dashboard's rollup and the daily retention
purge under a supervisor that restarts whatever dies, with backoff, and never
stops the others (reviewapp.runtime.supervision); prints the URL and logins;
Ctrl-C stops all of it.
Runs before Django is set up, so the children inherit the REDIS_URL it exports.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from reviewapp.runtime.local_redis import ensure_redis_url
from reviewapp.runtime.local_secrets import (
    AUDIT_KEY_FILE,
    SECRET_KEY_FILE,
    ensure_secret,
)
from reviewapp.runtime.supervision import Supervisor
from reviewapp.runtime.web_processes import (
    daphne_command,
    listening_socket,
    web_process_count,
)

# reviewapp/runtime/runstack.py -> the checkout.
BASE_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = Path(os.environ.get("VOUCH_VAR_DIR", BASE_DIR / "var"))
PYTHON = sys.executable
BIN = Path(PYTHON).parent
# A watched folder for the demo: anything dropped here is ingested as the clerk's.
INBOX = VAR_DIR / "inbox"


def main() -> int:
    host = os.environ.get("VOUCH_HOST", "127.0.0.1")
    port = int(os.environ.get("VOUCH_PORT", "8000"))
    workers = int(os.environ.get("VOUCH_WORKERS", "1"))
    load_demo = os.environ.get("VOUCH_LOAD_DEMO", "1") != "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewapp.settings")
    os.environ.setdefault("SECRET_KEY", ensure_secret(VAR_DIR, SECRET_KEY_FILE))
    os.environ.setdefault("VOUCH_AUDIT_KEY", ensure_secret(VAR_DIR, AUDIT_KEY_FILE))
    # A checkout's own server: its stylesheets and scripts are edited under it.
    os.environ.setdefault("VOUCH_STATIC_AUTOREFRESH", "1")
    # On PostgreSQL, keep connections open as production's web server does.
    os.environ.setdefault("DATABASE_POOL_MAX_SIZE", "10")
    redis_server = ensure_redis_url(VAR_DIR / "redis")
    supervisor = Supervisor(cwd=BASE_DIR)

    def stop(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        manage("migrate", "--noinput")
        if load_demo:
            manage("load_demo")
        listener = listening_socket(host, port)
        for number in range(1, web_process_count() + 1):
            supervisor.add(
                f"web {number}",
                fixed(*daphne_command(str(BIN / "daphne"), listener)),
                pass_fds=(listener.fileno(),),
            )
        for number in range(1, workers + 1):
            supervisor.add(f"worker {number}", worker_command(number))
        # Retraining: its own queue and process, at a lower CPU priority, so
        # a retrain never keeps a document waiting (no PaddleOCR loaded).
        supervisor.add("retrain worker", retrain_worker_command())
        # Orphaned documents are requeued by each worker as it starts; this
        # loop also catches what a Redis restart loses while workers keep running.
        supervisor.add(
            "requeue", fixed(PYTHON, "manage.py", "requeue_stale", "--every", "60")
        )
        INBOX.mkdir(parents=True, exist_ok=True)
        supervisor.add(
            "watch folder",
            fixed(PYTHON, "manage.py", "watch_folder", str(INBOX), "--user", "clerk"),
        )
        supervisor.add(
            "claims",
            fixed(PYTHON, "manage.py", "release_expired_claims", "--every", "60"),
        )
        # The dashboard's day rows: the first round counts every document
        # (the backfill), later ones what changed since.
        supervisor.add(
            "operations",
            fixed(PYTHON, "manage.py", "rollup_operations", "--every", "60"),
        )
        if os.environ.get("VOUCH_IMAP_HOST"):
            supervisor.add("imap", fixed(PYTHON, "manage.py", "fetch_imap"))
        # Retention: once a day (and at start), purge what has expired.
        supervisor.add(
            "retention",
            fixed(PYTHON, "manage.py", "purge_expired", "--every", str(24 * 3600)),
        )
        url = f"http://{host}:{port}/"
        wait_for_http(url, supervisor)
        if load_demo:
            announce(url)
        else:
            print(f"Vouch is running at {url}", flush=True)
        supervisor.run_forever()
    except KeyboardInterrupt:
        print("\nStopping Vouch ...")
        return 0
    finally:
        supervisor.stop()
        if redis_server is not None:
            redis_server.stop()
    return 0


def fixed(*command: str) -> Callable[[int], list[str]]:
    """The same command line for every start."""
    return lambda start: list(command)


def worker_command(number: int) -> Callable[[int], list[str]]:
    """Each start gets a new name: RQ refuses a name whose dead holder's
    registration has not expired yet."""

    def command(start: int) -> list[str]:
        return [
            PYTHON, "manage.py", "rqworker", "default", "--with-scheduler",
            "--name", f"vouch-worker-{os.getpid()}-{number}-{start}",
            "--worker-class", "reviewapp.runtime.worker.DocumentWorker",
            "--serializer", "rq.serializers.JSONSerializer",
        ]  # fmt: skip

    return command


def retrain_worker_command() -> Callable[[int], list[str]]:
    """The retrain queue's worker: in-process (no fork: stopping it stops the
    training too), not the document worker (which would load PaddleOCR), and
    niced, so reading documents keeps the CPU first."""

    def command(start: int) -> list[str]:
        return [
            "nice", "-n", "10",
            PYTHON, "manage.py", "rqworker", "retrain",
            "--name", f"vouch-retrain-{os.getpid()}-{start}",
            "--worker-class", "rq.worker.SimpleWorker",
            "--serializer", "rq.serializers.JSONSerializer",
        ]  # fmt: skip

    return command


def stop_processes(
    processes: list[subprocess.Popen[bytes]], *, timeout: float = 15.0
) -> None:
    """Ask every process to stop (SIGTERM: RQ workers finish their job), then
    kill whichever has not stopped within `timeout` seconds."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def manage(*arguments: str) -> None:
    subprocess.run([PYTHON, "manage.py", *arguments], cwd=BASE_DIR, check=True)


def wait_for_http(url: str, supervisor: Supervisor) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        supervisor.poll()
        try:
            urllib.request.urlopen(url + "accounts/login/", timeout=2)  # noqa: S310
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"Vouch did not answer at {url} within 60 s")


def announce(url: str) -> None:
    logins = json.loads((VAR_DIR / "demo-logins.json").read_text())
    width = max(len(name) for name in logins)
    print("\n" + "=" * 64)
    print(f"  Vouch is running at {url}")
    print(f"  Redis: {os.environ['REDIS_URL']}")
    print("  Demo logins (also in var/demo-logins.json):")
    for name, password in logins.items():
        print(f"    {name:<{width}}  {password}")
    print(f"  Files dropped into {INBOX} are read as uploaded by clerk.")
    print("  Press Ctrl-C to stop.")
    print("=" * 64 + "\n", flush=True)


if __name__ == "__main__":
    sys.exit(main())
