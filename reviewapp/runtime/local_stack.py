"""A whole Vouch on loopback for the chaos run and the load benchmark.

A private Redis with the production persistence settings
(`local_redis.PRODUCTION_PERSISTENCE`), daphne, N RQ workers and the
housekeeping loop, on this process's database and media folder, all under the
supervisor `make run` uses, which restarts whatever dies. Workers read with
recorded OCR: the generated documents carry a text layer, so no OCR runs and a
restarted worker is ready in a second.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from reviewapp.runtime.local_redis import free_port, start_private_redis
from reviewapp.runtime.supervision import Supervisor
from reviewapp.runtime.web_processes import (
    daphne_command,
    listening_socket,
    web_process_count,
)

BASE_DIR = Path(settings.BASE_DIR)


def database_url() -> str:
    """This process's database as a DATABASE_URL, for the processes it starts."""
    config = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(config['NAME']).resolve()}"
    if connection.vendor != "postgresql":
        raise RuntimeError(f"cannot hand a {connection.vendor} database to children")
    password = f":{quote(config['PASSWORD'])}" if config.get("PASSWORD") else ""
    host = config.get("HOST") or "localhost"
    return (
        f"postgres://{config['USER']}{password}@{host}:{config.get('PORT') or 5432}"
        f"/{config['NAME']}"
    )


class LocalStack:
    """Redis, daphne, workers and housekeeping; `stop()` ends them all."""

    def __init__(
        self,
        *,
        workers: int,
        log_dir: Path,
        env: dict[str, str] | None = None,
        say: Callable[[str], None] = lambda message: None,
    ) -> None:
        self.log_dir = log_dir
        self.redis_dir = log_dir / "redis"
        self.redis_port = free_port()
        self.redis = start_private_redis(self.redis_dir, port=self.redis_port)
        self.port = free_port()
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "REDIS_URL": self.redis.url,
            "VOUCH_MEDIA_ROOT": str(settings.MEDIA_ROOT),
            # A text layer needs no OCR: a restarted worker is ready at once.
            "VOUCH_OCR_ENGINE": "pipeline.ocr.recorded.RecordedOcrEngine",
            "DJANGO_SETTINGS_MODULE": "reviewapp.settings",
            "PYTHONUNBUFFERED": "1",
            # As production's web server runs (deploy/): PostgreSQL only.
            "DATABASE_POOL_MAX_SIZE": os.environ.get("DATABASE_POOL_MAX_SIZE", "10"),
            **(env or {}),
        }
        self.env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        self.supervisor = Supervisor(cwd=BASE_DIR, log=say, env=self.env)
        daphne = str(Path(sys.executable).parent / "daphne")
        self.listener = listening_socket("127.0.0.1", self.port)
        for number in range(1, web_process_count() + 1):
            self.supervisor.add(
                f"web-{number}",
                lambda start: daphne_command(daphne, self.listener),
                log=log_dir / f"web-{number}.log",
                pass_fds=(self.listener.fileno(),),
            )
        self.workers = [
            self.supervisor.add(
                f"worker-{number}",
                self._worker_command(number),
                log=log_dir / f"worker-{number}.log",
            )
            for number in range(1, workers + 1)
        ]
        self.supervisor.add(
            "housekeeping",
            lambda start: [
                sys.executable,
                "manage.py",
                "requeue_stale",
                "--every",
                "5",
            ],
            log=log_dir / "housekeeping.log",
        )

    def _worker_command(self, number: int) -> Callable[[int], list[str]]:
        def command(start: int) -> list[str]:
            return [
                sys.executable, "manage.py", "rqworker", "default", "--with-scheduler",
                "--worker-class", "reviewapp.runtime.worker.DocumentWorker",
                "--serializer", "rq.serializers.JSONSerializer",
                "--name", f"chaos-{os.getpid()}-{number}-{start}",
            ]  # fmt: skip

        return command

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_until_serving(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.supervisor.poll()
            try:
                with urllib.request.urlopen(f"{self.url}/accounts/login/", timeout=2):  # noqa: S310
                    return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"the chaos web server did not start; see {self.log_dir}")

    def kill_random_worker(self, rng: random.Random) -> bool:
        running = [child for child in self.workers if child.running]
        if not running:
            return False
        victim = rng.choice(running)
        assert victim.process is not None
        os.kill(victim.process.pid, signal.SIGKILL)
        return True

    def restart_redis(self) -> None:
        """Kill Redis hard (no shutdown save) and start it again on the same port
        and folder: it reloads its append-only file."""
        self.redis.process.kill()
        self.redis.process.wait()
        self.redis = start_private_redis(self.redis_dir, port=self.redis_port)

    def upload(
        self, token: str, name: str, content: bytes
    ) -> tuple[int, dict[str, Any]]:
        """POST one PDF to the API as the token's user: (status, JSON body)."""
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="{name}"\r\nContent-Type: application/pdf\r\n\r\n'
            ).encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        request = urllib.request.Request(  # noqa: S310 - our own loopback URL
            f"{self.url}/api/v1/documents/",
            data=body,
            method="POST",
            headers={
                "Authorization": f"Token {token}",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, {}
        except OSError:  # refused or reset while the server restarts
            return 0, {}

    def stop(self) -> None:
        self.supervisor.stop()
        self.listener.close()
        self.redis.stop()
