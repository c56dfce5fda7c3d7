"""The RQ worker class for document jobs.

RQ's default worker forks a fresh process per job, which would load PaddleOCR
(seconds, most of a gigabyte) for every document. This worker runs jobs in its
own process instead and loads the engines once, when it starts.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from rq import SimpleWorker

from pipeline.extract import extractors
from pipeline.ocr import ocr_engines

logger = logging.getLogger(__name__)


def load_engines() -> float:
    """Build the configured OCR engine and extractor; returns seconds taken."""
    started = time.perf_counter()
    ocr_engines.get(settings.VOUCH_OCR_ENGINE)
    extractors.get(settings.VOUCH_EXTRACTOR)
    return time.perf_counter() - started


class DocumentWorker(SimpleWorker):
    def work(self, *args: Any, **kwargs: Any) -> bool:
        seconds = load_engines()
        logger.info("engines loaded in %.1f s", seconds)
        return bool(super().work(*args, **kwargs))

    def execute_job(self, *args: Any, **kwargs: Any) -> None:
        # Jobs share this long-lived process: drop connections the database
        # closed or that outlived CONN_MAX_AGE, as Django does per request.
        close_old_connections()
        try:
            super().execute_job(*args, **kwargs)
        finally:
            close_old_connections()
