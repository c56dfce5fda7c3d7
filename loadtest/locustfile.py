"""Locust users for `manage.py benchmark_load`: reviewers working the clerks'
queue and one scanner uploading a document a second.

Plain HTTP against a running Vouch, no Django import (Locust runs under gevent in
its own process). The command writes the logins, token and upload files into
the JSON file named by VOUCH_LOAD_CONFIG; each response's X-Vouch-DB-Queries
header (sent when VOUCH_QUERY_COUNT_HEADER is on) is summed per action into
the JSON file named by VOUCH_LOAD_QUERIES.
"""

from __future__ import annotations

import json
import os
import random
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from locust import HttpUser, between, constant_throughput, events, task

CONFIG = json.loads(Path(os.environ["VOUCH_LOAD_CONFIG"]).read_text())
DOCUMENT_LINK = re.compile(r'href="/documents/([0-9a-f-]{36})/"')
_logins = list(CONFIG["reviewers"])
_uploads = list(CONFIG["uploads"])
_queries: dict[str, list[int]] = defaultdict(list)


@events.request.add_listener
def count_queries(name: str, response: Any, **_: Any) -> None:
    header = (
        response.headers.get("X-Vouch-DB-Queries") if response is not None else None
    )
    if header is not None:
        _queries[name].append(int(header))


@events.test_stop.add_listener
def write_queries(**_: Any) -> None:
    Path(os.environ["VOUCH_LOAD_QUERIES"]).write_text(json.dumps(_queries))


class Reviewer(HttpUser):
    """Sign in, then again and again: open the queue, open a document, claim it,
    correct its invoice number, approve it."""

    fixed_count = CONFIG["reviewer_count"]
    wait_time = between(0.5, 2.0)  # a person reading, between two clicks

    def on_start(self) -> None:
        self.username, password = _logins.pop()
        self.client.get("/accounts/login/", name="sign in (form)")
        response = self.client.post(
            "/accounts/login/",
            {
                "username": self.username,
                "password": password,
                "csrfmiddlewaretoken": self._csrf(),
            },
            headers={"Referer": f"{self.host}/accounts/login/"},
            name="sign in",
            allow_redirects=False,
        )
        if response.status_code != 302:
            response.failure(f"sign-in answered {response.status_code}")

    def _csrf(self) -> str:
        return str(self.client.cookies.get("csrftoken", ""))

    def _post(self, path: str, name: str, data: dict[str, str]) -> Any:
        with self.client.post(
            path,
            {**data, "csrfmiddlewaretoken": self._csrf()},
            headers={"Referer": f"{self.host}{path}", "X-CSRFToken": self._csrf()},
            name=name,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code >= 400 and response.status_code != 409:
                response.failure(f"{name} answered {response.status_code}")
            else:
                response.success()
            return response

    @task
    def review_one(self) -> None:
        queue = self.client.get("/queue/mine/", name="open queue")
        documents = DOCUMENT_LINK.findall(queue.text)
        if not documents:
            return
        # Like people, mostly from the top, and not all on the same one.
        public_id = random.choice(documents[:20])  # noqa: S311
        self.wait_time_between_clicks()
        self.client.get(f"/documents/{public_id}/", name="open document")
        self.wait_time_between_clicks()
        self._post(f"/documents/{public_id}/claim/", "claim", {})
        self.wait_time_between_clicks()
        self._post(
            f"/documents/{public_id}/fields/invoice_number/",
            "correct field",
            {"value": f"LOAD-{random.randint(1, 99999)}", "reason": "load test"},  # noqa: S311
        )
        self.wait_time_between_clicks()
        self._post(f"/documents/{public_id}/approve/", "approve", {})

    def wait_time_between_clicks(self) -> None:
        self.wait()


class Scanner(HttpUser):
    """A scanner sending one new document a second through the API."""

    fixed_count = 1
    wait_time = constant_throughput(CONFIG["uploads_per_second"])

    @task
    def upload(self) -> None:
        if not _uploads:
            return
        path = Path(_uploads.pop())
        with path.open("rb") as document:
            self.client.post(
                "/api/v1/documents/",
                files={"file": (path.name, document, "application/pdf")},
                headers={"Authorization": f"Token {CONFIG['token']}"},
                name="upload (API)",
            )
