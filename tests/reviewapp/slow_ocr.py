"""An OCR engine that takes a long time, so a test can kill its worker mid-job."""

from __future__ import annotations

import time

from pipeline.types import OcrLine, PageImage


class SlowOcrEngine:
    name = "slow"
    version = "1"

    def recognize(self, page: PageImage) -> tuple[OcrLine, ...]:
        time.sleep(60)
        return ()
