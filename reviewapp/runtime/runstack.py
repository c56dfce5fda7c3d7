"""`make run`: everything Vouch needs on one machine, started and stopped together.

Starts a private redis-server when REDIS_URL is unset, migrates, loads the demo,
then runs daphne (HTTP + websockets), RQ worker(s) with RQ's scheduler, the
stale-document check and the daily retention purge; prints the URL and logins;
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
from pathlib import Path

from reviewapp.runtime.local_redis import ensure_redis_url
from reviewapp.runtime.local_secrets import (
    AUDIT_KEY_FILE,
    SECRET_KEY_FILE,
    ensure_secret,
)

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
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewapp.settings")
    os.environ.setdefault("SECRET_KEY", ensure_secret(VAR_DIR, SECRET_KEY_FILE))
    os.environ.setdefault("VOUCH_AUDIT_KEY", ensure_secret(VAR_DIR, AUDIT_KEY_FILE))
    redis_server = ensure_redis_url(VAR_DIR / "redis")
    children: list[subprocess.Popen[bytes]] = []

    def stop(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        manage("migrate", "--noinput")
        manage("load_demo")
        children.append(
            spawn(
                str(BIN / "daphne"),
                "-b",
                host,
                "-p",
                str(port),
                "reviewapp.asgi:application",
            )
        )
        for number in range(1, workers + 1):
            children.append(
                spawn(
                    PYTHON, "manage.py", "rqworker", "default", "--with-scheduler",
                    "--name", f"vouch-worker-{os.getpid()}-{number}",
                    "--worker-class", "reviewapp.runtime.worker.DocumentWorker",
                    "--serializer", "rq.serializers.JSONSerializer",
                )
            )  # fmt: skip
        children.append(spawn(PYTHON, "manage.py", "requeue_stale", "--every", "300"))
        INBOX.mkdir(parents=True, exist_ok=True)
        children.append(
            spawn(PYTHON, "manage.py", "watch_folder", str(INBOX), "--user", "clerk")
        )
        children.append(
            spawn(PYTHON, "manage.py", "release_expired_claims", "--every", "60")
        )
        # Retention: once a day (and at start), purge what has expired.
        children.append(
            spawn(PYTHON, "manage.py", "purge_expired", "--every", str(24 * 3600))
        )
        url = f"http://{host}:{port}/"
        wait_for_http(url, children)
        announce(url)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("A Vouch process stopped unexpectedly; stopping the others.")
        return 1
    except KeyboardInterrupt:
        print("\nStopping Vouch ...")
        return 0
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        if redis_server is not None:
            redis_server.stop()


def manage(*arguments: str) -> None:
    subprocess.run([PYTHON, "manage.py", *arguments], cwd=BASE_DIR, check=True)


def spawn(*command: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, cwd=BASE_DIR)


def wait_for_http(url: str, children: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children):
            raise SystemExit("a Vouch process failed to start; see the log above")
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
