"""Will this page read? Measures of one page image, a score and advice the
sender can act on ("too dark: retake in better light").

Every measure is taken where the print is: ink is found by a local threshold,
characters are the connected blobs of ink of a letter's size and shape, and
text regions are the characters grown into their lines. Thresholds come from
`manage.py evaluate` on the degraded dev set (see `Thresholds`).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from pipeline.types import PageImage

# Pixel noise (standard deviation) above which a page is grainy enough for
# specks to break strokes; denoising starts here too.
NOISY = 4.0
# The severity of a problem worth telling the sender about that does not
# stop the page being read.
ADVICE_ONLY = 0.3
# Sides of a page, in the words the advice uses.
EDGES = ("top", "bottom", "left", "right")


@dataclass(frozen=True)
class Thresholds:
    """Where OCR accuracy falls on the degraded dev set (`make_degraded_set`
    and `evaluate --preprocess`; the figures are in the commit that set them).
    Below a `min_` value a page is refused; below an `advise_` value the
    sender is told, but the page is read (preprocessing copes)."""

    # Variance of the Laplacian over the contrast², at a text height of 20 px:
    # pages at 0.07-0.16 lost a field in four, at 0.37 and above none.
    min_sharpness: float = 0.18
    # The paper's brightness (90th percentile of the page, 0..255). Pages
    # with paper at 72-115 read within 5 points of clean once lighting is
    # evened; nothing darker was measured, so darker is refused.
    advise_paper_brightness: float = 130.0
    min_paper_brightness: float = 65.0
    # Paper minus ink (0..255): advice only; noise makes the figure unreliable
    # (a noisy page measured 13 and read every field).
    advise_contrast: float = 60.0
    # Median character height in pixels: 8 px lost a field in four, 11 px none.
    min_text_height: float = 9.0
    # Share of the text area blown out by a reflection (0.20-0.58 on the set:
    # 50 % of fields right against 67 % clean).
    max_glare: float = 0.08
    # Below this score (0..100) a page needs a new copy.
    min_score: float = 50.0


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class QualityIssue:
    code: str  # blur, dark, contrast, skew, small_text, cut_off, glare, no_text
    advice: str  # one sentence for the sender
    severity: float  # 0 (harmless) .. 1 (will not read)


@dataclass(frozen=True)
class QualityMeasures:
    sharpness: float
    paper_brightness: float
    contrast: float
    skew_degrees: float
    text_height: float  # median character height, pixels
    cut_edges: tuple[str, ...]
    glare: float  # share of the text area
    characters: int
    noise: float = 0.0  # standard deviation of pixel noise, 0..255


@dataclass(frozen=True)
class QualityReport:
    """One page's measures, a score from 0 (unreadable) to 100 and the
    problems found, worst first."""

    page_number: int
    score: float
    measures: QualityMeasures
    issues: tuple[QualityIssue, ...] = field(default_factory=tuple)
    acceptable: bool = True

    @property
    def advice(self) -> tuple[str, ...]:
        return tuple(issue.advice for issue in self.issues)


# --- what the measures are taken on ----------------------------------------------


def gray_pixels(page: PageImage) -> np.ndarray:
    with Image.open(io.BytesIO(page.image_bytes)) as image:
        return np.asarray(image.convert("L"))


def ink_mask(gray: np.ndarray) -> np.ndarray:
    """Pixels darker than their neighbourhood: print, whatever the lighting."""
    block = max(15, (min(gray.shape) // 30) | 1)
    spread = float(np.percentile(gray, 95) - np.percentile(gray, 5))
    # The offset follows the page's own contrast, so a dim page's faint print
    # is still ink and a bright page's paper grain is not.
    offset = max(4.0, 0.08 * spread)
    mask = cv2.adaptiveThreshold(
        gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, offset
    )
    return mask > 0


@dataclass(frozen=True)
class Characters:
    """Blobs of ink of a character's size and shape: boxes (x, y, w, h)."""

    boxes: np.ndarray  # shape (n, 4), int
    labels: np.ndarray  # the component label image
    keep: np.ndarray  # labels that are characters

    @property
    def median_height(self) -> float:
        return _text_height(self.boxes)

    def mask(self) -> np.ndarray:
        chosen = np.zeros(int(self.labels.max()) + 1, dtype=bool)
        chosen[self.keep] = True
        return chosen[self.labels]


def _text_height(boxes: np.ndarray) -> float:
    """The height of the print: the median of letter-shaped blobs' longer
    side (a letter is taller than wide, so this holds for a page lying
    sideways too), each weighted by its size. Dashes of a rule (long and
    thin) and specks (tiny) are many on a receipt and would otherwise pass for
    small text."""
    if not len(boxes):
        return 0.0
    longer = np.maximum(boxes[:, 2], boxes[:, 3])
    shorter = np.minimum(boxes[:, 2], boxes[:, 3])
    letters = longer < 2 * shorter
    if letters.sum() < 5:
        return float(np.median(longer))
    heights = longer[letters]
    weights = (shorter[letters] * heights).astype(np.float64)
    order = np.argsort(heights)
    cumulative = np.cumsum(weights[order])
    return float(heights[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def find_characters(mask: np.ndarray) -> Characters:
    _, labels, stats, _ = cv2.connectedComponentsWithStats(
        mask.astype(np.uint8), connectivity=8
    )
    height, width = mask.shape
    w, h, area = stats[1:, 2], stats[1:, 3], stats[1:, 4]
    fill = area / np.maximum(1, w * h)
    plausible = (
        (h >= 3)
        & (h <= height / 8)
        & (w <= width / 6)
        & (w <= 4 * h)
        & (area >= 6)
        & (fill >= 0.12)
        & (fill <= 0.95)
    )
    keep = np.nonzero(plausible)[0] + 1
    boxes = stats[keep, :4].astype(int)
    if len(boxes) >= 20:
        # Specks and broken strokes are small; lines and logos large. The
        # letters are the crowd in between.
        median = _text_height(boxes)
        typical = (boxes[:, 3] >= 0.5 * median) & (boxes[:, 3] <= 2.5 * median)
        keep, boxes = keep[typical], boxes[typical]
    return Characters(boxes=boxes, labels=labels, keep=keep)


# --- the measures -----------------------------------------------------------------


def skew_angle(mask: np.ndarray, *, limit: float = 15.0) -> float:
    """The angle (degrees, counter-clockwise positive) that text lines make
    with the horizontal: the rotation whose row profile of ink is sharpest."""
    ys, xs = np.nonzero(mask)
    if len(xs) < 50:
        return 0.0
    if len(xs) > 60_000:
        pick = np.random.default_rng(0).choice(len(xs), 60_000, replace=False)
        xs, ys = xs[pick], ys[pick]
    xs = xs.astype(np.float32) - mask.shape[1] / 2
    ys = ys.astype(np.float32)

    def sharpness(angle: float) -> float:
        radians = np.deg2rad(angle)
        rows = ys * np.cos(radians) + xs * np.sin(radians)
        counts = np.bincount((rows - rows.min()).astype(np.int32))
        return float(np.dot(counts, counts))

    coarse = np.arange(-limit, limit + 0.01, 0.5)
    best = max(coarse, key=sharpness)
    fine = np.arange(best - 0.5, best + 0.51, 0.1)
    return round(float(max(fine, key=sharpness)), 1)


def sharpness_of(gray: np.ndarray, characters: Characters) -> tuple[float, float]:
    """(sharpness, contrast) of the print: the Laplacian's variance over the
    text regions, divided by their contrast squared, at a text height of 20 px
    so that neither the page's size nor its lighting moves the figure."""
    if len(characters.boxes) < 10:
        return 0.0, 0.0
    scale = float(np.clip(20.0 / max(1.0, characters.median_height), 0.25, 3.0))
    regions = cv2.dilate(
        characters.mask().astype(np.uint8),
        np.ones((3, 3), np.uint8),
        iterations=max(1, round(characters.median_height / 4)),
    )
    size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    scaled = cv2.resize(gray, size, interpolation=interpolation).astype(np.float32)
    scaled_regions = cv2.resize(regions, size, interpolation=cv2.INTER_NEAREST) > 0
    if scaled_regions.sum() < 100:
        return 0.0, 0.0
    values = scaled[scaled_regions]
    contrast = float(np.percentile(values, 97) - np.percentile(values, 3))
    laplacian = cv2.Laplacian(scaled, cv2.CV_32F, ksize=3)[scaled_regions]
    sharp = float(laplacian.var()) / max(1.0, contrast) ** 2
    return round(sharp, 4), round(contrast, 1)


def cut_edges(characters: Characters, shape: tuple[int, ...]) -> tuple[str, ...]:
    """Edges of the image that cut through a line of print: several
    characters touch that edge (a page scanned whole has a margin). Slivers
    (a scanner's shadow along the paper's edge) do not count."""
    if len(characters.boxes) < 10:
        return ()
    height, width = shape[:2]
    x, y, w, h = (characters.boxes[:, i] for i in range(4))
    letter = characters.median_height
    sizable = (w >= 0.3 * letter) & (h >= 0.3 * letter)
    touching = {
        "top": sizable & (y <= 1),
        "bottom": sizable & (y + h >= height - 1),
        "left": sizable & (x <= 1),
        "right": sizable & (x + w >= width - 1),
    }
    needed = max(5, round(0.02 * len(characters.boxes)))
    return tuple(edge for edge in EDGES if int(touching[edge].sum()) >= needed)


def glare_share(gray: np.ndarray, characters: Characters) -> float:
    """Share of the text area washed out by a reflection: blown-out patches
    on paper that is otherwise grey, as a photo's paper is. Only the text
    area counts, so a white page on a dark desk is not glare."""
    if len(characters.boxes) < 10:
        return 0.0
    x0, y0 = characters.boxes[:, :2].min(axis=0)
    x1 = int((characters.boxes[:, 0] + characters.boxes[:, 2]).max())
    y1 = int((characters.boxes[:, 1] + characters.boxes[:, 3]).max())
    area = gray[y0:y1, x0:x1]
    paper = area[~characters.mask()[y0:y1, x0:x1]]
    if paper.size == 0 or np.percentile(paper, 25) > 235:
        # A scan's paper is already white: nothing can be brighter than it.
        return 0.0
    blown = cv2.morphologyEx(
        (area >= 248).astype(np.uint8), cv2.MORPH_OPEN, np.ones((5, 5), np.uint8)
    )
    return round(float(blown.mean()), 3)


def noise_level(gray: np.ndarray) -> float:
    """Standard deviation of pixel noise, estimated robustly from the finest
    detail (Immerkær's method): print edges are few, noise is everywhere."""
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)
    response = cv2.filter2D(gray.astype(np.float32), -1, kernel)
    return float(np.median(np.abs(response)) * 1.4826 / 6)


def measure(gray: np.ndarray) -> QualityMeasures:
    noise = noise_level(gray)
    if noise >= NOISY:
        # Grain would pass for tiny characters: measure the print through it.
        gray = cv2.medianBlur(gray, 3)
    mask = ink_mask(gray)
    characters = find_characters(mask)
    sharp, contrast = sharpness_of(gray, characters)
    # Where a page has no print found, the paper is the whole image.
    paper = float(np.percentile(gray, 90))
    return QualityMeasures(
        sharpness=sharp,
        paper_brightness=round(paper, 1),
        contrast=contrast,
        skew_degrees=skew_angle(characters.mask()) if len(characters.boxes) else 0.0,
        text_height=round(characters.median_height, 1),
        cut_edges=cut_edges(characters, gray.shape),
        glare=glare_share(gray, characters),
        characters=len(characters.boxes),
        noise=round(noise, 1),
    )


# --- score and advice -------------------------------------------------------------


def _shortfall(value: float, limit: float, zero_at: float) -> float:
    """0 at or above `limit`, rising to 1 at `zero_at` (below the limit)."""
    if value >= limit:
        return 0.0
    return float(min(1.0, (limit - value) / max(1e-9, limit - zero_at)))


def assess_measures(
    page_number: int,
    measures: QualityMeasures,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> QualityReport:
    limits = thresholds
    issues: list[QualityIssue] = []
    if measures.characters < 10:
        issues.append(
            QualityIssue(
                "no_text",
                "no printed text was found: photograph the document itself, "
                "flat and filling the frame",
                1.0,
            )
        )
    else:
        dark = measures.paper_brightness < limits.advise_paper_brightness
        if dark:
            too_dark = _shortfall(
                measures.paper_brightness,
                limits.min_paper_brightness,
                limits.min_paper_brightness / 2,
            )
            issues.append(
                QualityIssue(
                    "dark",
                    "too dark: retake in better light",
                    0.5 + too_dark / 2 if too_dark else ADVICE_ONLY,
                )
            )
        if measures.contrast < limits.advise_contrast and not dark:
            issues.append(
                QualityIssue(
                    "contrast",
                    "the print is faint: retake in even light, or scan darker",
                    ADVICE_ONLY,
                )
            )
        blurred = _shortfall(
            measures.sharpness, limits.min_sharpness, limits.min_sharpness / 4
        )
        if blurred:
            issues.append(
                QualityIssue(
                    "blur",
                    "the photo is blurred: hold the phone still and tap to focus",
                    0.5 + blurred / 2,
                )
            )
        small = _shortfall(
            measures.text_height, limits.min_text_height, limits.min_text_height / 2
        )
        if small:
            issues.append(
                QualityIssue(
                    "small_text",
                    "text too small: scan at 300 dpi, or photograph closer",
                    0.5 + small / 2,
                )
            )
        for edge in measures.cut_edges:
            issues.append(
                QualityIssue(
                    "cut_off",
                    f"the {edge} edge of the page is cut off: fit the whole "
                    "page in the frame",
                    0.6,
                )
            )
        if measures.glare > limits.max_glare:
            issues.append(
                QualityIssue(
                    "glare",
                    "a reflection hides part of the text: tilt the page or "
                    "turn off the flash",
                    min(1.0, 0.5 + measures.glare),
                )
            )
        if abs(measures.skew_degrees) >= 5:
            # Straightened before reading, so said but not held against it.
            issues.append(
                QualityIssue(
                    "skew",
                    f"the page is tilted {abs(measures.skew_degrees):.0f}°: "
                    "straighten it next time",
                    0.1,
                )
            )
    issues.sort(key=lambda issue: -issue.severity)
    worst = issues[0].severity if issues else 0.0
    penalty = sum(issue.severity for issue in issues[1:]) * 0.2
    score = round(max(0.0, 100 * (1 - worst) - 100 * penalty * (1 - worst)), 0)
    return QualityReport(
        page_number=page_number,
        score=score,
        measures=measures,
        issues=tuple(issues),
        acceptable=score >= limits.min_score,
    )


def assess_page(
    page: PageImage, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> QualityReport:
    """The quality of one page image as it was received."""
    return assess_measures(page.number, measure(gray_pixels(page)), thresholds)


@dataclass(frozen=True)
class DocumentQuality:
    """A document's worst page score and every page's issues, in the
    sender's words (prefixed with the page when there are several)."""

    score: float
    acceptable: bool
    issues: tuple[dict[str, object], ...]  # {"page", "code", "advice"}

    @property
    def advice(self) -> tuple[str, ...]:
        return tuple(str(issue["advice"]) for issue in self.issues)


def assess_document(
    pages: Sequence[PageImage], thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> DocumentQuality:
    reports = [assess_page(page, thresholds) for page in pages]
    several = len(reports) > 1
    return DocumentQuality(
        score=min((report.score for report in reports), default=0.0),
        acceptable=bool(reports) and all(report.acceptable for report in reports),
        issues=tuple(
            {
                "page": report.page_number,
                "code": issue.code,
                "advice": (
                    f"page {report.page_number}: {issue.advice}"
                    if several
                    else issue.advice
                ),
            }
            for report in reports
            for issue in report.issues
        ),
    )
