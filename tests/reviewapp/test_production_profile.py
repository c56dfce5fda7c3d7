"""The production profile: `check --deploy` clean, security headers on every
response, a strict Content-Security-Policy, and rate limits per person."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from reviewapp.api.throttling import ApiRateThrottle, UploadRateThrottle
from tests.conftest import REPO, logged_in, text_image

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "VOUCH_AUDIT_KEY": secrets.token_urlsafe(40),
    "ALLOWED_HOSTS": "vouch.example.com",
    "VOUCH_HTTPS": "1",
}


def check_deploy(**env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "reviewapp.settings"}
    for name in ("DEBUG", "VOUCH_HTTPS", "SECURE_COOKIES"):
        environment.pop(name, None)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=REPO,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_reports_nothing_under_the_production_profile() -> None:
    result = check_deploy(**PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_names_what_is_missing_without_https() -> None:
    result = check_deploy(**{**PRODUCTION, "VOUCH_HTTPS": "0"})
    for warning in ("security.W004", "security.W008", "security.W012", "W016"):
        assert warning in result.stderr


@pytest.mark.django_db
def test_every_response_carries_the_security_headers() -> None:
    response = Client().get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    assert "style-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_the_https_profile_redirects_and_sends_hsts(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    plain = Client().get("/accounts/login/")
    assert plain.status_code == 301
    assert plain["Location"].startswith("https://")
    secure = Client().get("/accounts/login/", headers={"X-Forwarded-Proto": "https"})
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"].startswith("max-age=31536000")


def test_no_template_or_script_needs_inline_code() -> None:
    """What the CSP forbids is absent from the source, so it never breaks a page."""
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
    handler = re.compile(r"\son[a-z]+\s*=", re.I)
    style_attribute = re.compile(r"\sstyle\s*=", re.I)
    offending = []
    for template in (REPO / "templates").rglob("*.html"):
        text = template.read_text()
        for pattern in (inline_script, handler, style_attribute):
            offending += [f"{template.name}: {m[0]}" for m in pattern.finditer(text)]
    for script in (REPO / "static").rglob("*.js"):
        if "vendor" in script.parts:
            continue
        text = script.read_text()
        offending += [f"{script.name}: eval" for _ in re.finditer(r"\beval\(", text)]
        offending += [
            f"{script.name}: {m[0]}"
            for m in re.finditer(r"setAttribute\(\s*['\"](style|on\w+)", text)
        ]
    assert offending == []


@pytest.fixture
def limits(settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    # A fresh count for each test: the prefix keys it apart from earlier runs.
    settings.CACHES = {
        **settings.CACHES,
        "throttle": {
            **settings.CACHES["throttle"],
            "KEY_PREFIX": f"vouch:test-throttle:{secrets.token_hex(4)}",
        },
    }
    yield


def test_the_api_refuses_a_user_past_the_limit_with_retry_after(
    clerk: User, other_clerk: User, limits: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ApiRateThrottle, "rate", "3/minute", raising=False)
    client = APIClient()
    client.force_authenticate(clerk)
    answers = [client.get("/api/v1/documents/").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    refused = client.get("/api/v1/documents/")
    assert int(refused["Retry-After"]) > 0
    assert "available in" in refused.json()["detail"]
    other = APIClient()
    other.force_authenticate(other_clerk)
    assert other.get("/api/v1/documents/").status_code == 200


def test_uploads_are_limited_per_person_across_api_and_upload_page(
    clerk: User,
    other_clerk: User,
    limits: None,
    media_root: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(UploadRateThrottle, "rate", "2/minute", raising=False)
    api = APIClient()
    api.force_authenticate(clerk)
    for number in range(2):
        image = text_image([f"upload {number}"], size=(500 + number, 400))
        sent = api.post(
            "/api/v1/documents/",
            {"file": SimpleUploadedFile(f"{number}.png", image)},
            format="multipart",
        )
        assert sent.status_code == 201
    third = api.post(
        "/api/v1/documents/",
        {"file": SimpleUploadedFile("3.png", text_image(["3"]))},
        format="multipart",
    )
    assert third.status_code == 429
    page = logged_in(clerk).post(
        "/documents/upload/", {"file": SimpleUploadedFile("4.png", text_image(["4"]))}
    )
    assert page.status_code == 429
    assert "Too many uploads" in page.json()["error"]
    assert int(page["Retry-After"]) > 0
    # Reading is not uploading, and another person has their own count.
    assert api.get("/api/v1/documents/").status_code == 200
    other = logged_in(other_clerk).post(
        "/documents/upload/", {"file": SimpleUploadedFile("5.png", text_image(["5"]))}
    )
    assert other.status_code == 201
