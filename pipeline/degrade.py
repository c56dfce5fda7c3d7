"""Damage a clean page the way phones and scanners do, for measuring the
quality gate and the preprocessing steps on documents whose labels are known.

Each degradation is a pure function of a PIL image and a strength (1 mild,
2 strong, 3 severe); randomness comes from a seed so the set is the same on
every machine. Strengths are relative to the page size, so a 460 px scan and
a 2,500 px scan are damaged alike.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

Degradation = Callable[[Image.Image, int, random.Random], Image.Image]


@dataclass(frozen=True)
class DegradationKind:
    name: str
    describe: str
    apply: Degradation
    strengths: tuple[int, ...] = (1, 2)


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB")).copy()


def _image(pixels: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def rotate(image: Image.Image, strength: int, _: random.Random) -> Image.Image:
    """Strength 1: a quarter turn (scanned sideways); 2: upside down; 3: 270°."""
    turns = {1: Image.Transpose.ROTATE_270, 2: Image.Transpose.ROTATE_180}
    return image.transpose(turns.get(strength, Image.Transpose.ROTATE_90))


def skew(image: Image.Image, strength: int, rng: random.Random) -> Image.Image:
    """A page fed crooked: 3° or 7° either way, the corners filled with paper."""
    angle = {1: 3.0, 2: 7.0}.get(strength, 12.0) * rng.choice((-1, 1))
    return image.rotate(
        angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(255, 255, 255)
    )


def blur(image: Image.Image, strength: int, _: random.Random) -> Image.Image:
    """Out of focus or shaken: a Gaussian whose width grows with the page."""
    sigma = {1: 1.2, 2: 2.2}.get(strength, 3.5) * max(image.size) / 1500
    return _image(cv2.GaussianBlur(_pixels(image), (0, 0), sigma))


def darken(image: Image.Image, strength: int, rng: random.Random) -> Image.Image:
    """Taken in a dim room: darker overall, darker still towards one corner,
    with the contrast of a cheap sensor."""
    pixels = _pixels(image).astype(np.float32)
    height, width = pixels.shape[:2]
    level = {1: 0.45, 2: 0.28}.get(strength, 0.18)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    corner_x, corner_y = rng.choice((0, width)), rng.choice((0, height))
    distance = np.hypot(xs - corner_x, ys - corner_y) / np.hypot(width, height)
    shade = level * (0.55 + 0.45 * distance)
    return _image(pixels * shade[:, :, None] + 8)


def noise(image: Image.Image, strength: int, rng: random.Random) -> Image.Image:
    """Sensor noise of a phone in poor light, and specks of a dirty scanner."""
    pixels = _pixels(image).astype(np.float32)
    generator = np.random.default_rng(rng.randrange(2**32))
    sigma = {1: 18.0, 2: 35.0}.get(strength, 50.0)
    pixels += generator.normal(0, sigma, pixels.shape[:2])[:, :, None]
    specks = generator.random(pixels.shape[:2]) < 0.004 * strength
    pixels[specks] = 0
    return _image(pixels)


def low_resolution(image: Image.Image, strength: int, _: random.Random) -> Image.Image:
    """Sent at a fraction of its size (a messenger app, a 100 dpi scan): the
    text ends up a few pixels high."""
    factor = {1: 0.45, 2: 0.3}.get(strength, 0.22)
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return image.convert("RGB").resize(size, Image.Resampling.BILINEAR)


def perspective(image: Image.Image, strength: int, rng: random.Random) -> Image.Image:
    """Photographed at an angle on a darker desk: the page a trapezoid with a
    margin of table around it."""
    pixels = _pixels(image)
    height, width = pixels.shape[:2]
    margin = round(0.12 * max(width, height))
    canvas_w, canvas_h = width + 2 * margin, height + 2 * margin
    pull = {1: 0.07, 2: 0.14}.get(strength, 0.2)
    top = rng.choice((True, False))  # which edge is farther from the camera
    inset = pull * width
    corners = [
        (margin + (inset if top else 0), margin),
        (margin + width - (inset if top else 0), margin),
        (margin + width - (0 if top else inset), margin + height),
        (margin + (0 if top else inset), margin + height),
    ]
    jitter = 0.02 * max(width, height)
    target = np.float32(
        [
            (x + rng.uniform(-jitter, jitter), y + rng.uniform(-jitter, jitter))
            for x, y in corners
        ]
    )
    source = np.float32([(0, 0), (width, 0), (width, height), (0, height)])
    matrix = cv2.getPerspectiveTransform(source, target)
    desk = (96 + rng.randrange(40), 82 + rng.randrange(30), 64 + rng.randrange(20))
    warped = cv2.warpPerspective(
        pixels,
        matrix,
        (canvas_w, canvas_h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=desk,
    )
    return _image(warped)


def cut_off(image: Image.Image, strength: int, _: random.Random) -> Image.Image:
    """The bottom of the page outside the frame."""
    share = {1: 0.12, 2: 0.25}.get(strength, 0.4)
    return image.crop((0, 0, image.width, round(image.height * (1 - share))))


def glare(image: Image.Image, strength: int, rng: random.Random) -> Image.Image:
    """A lamp reflected in glossy paper: a blown-out patch over the print, on
    paper a little grey as a photo's is."""
    pixels = _pixels(image).astype(np.float32) * 0.82
    height, width = pixels.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    centre_x = width * rng.uniform(0.35, 0.65)
    centre_y = height * rng.uniform(0.3, 0.7)
    radius = {1: 0.12, 2: 0.22}.get(strength, 0.3) * max(width, height)
    distance = np.hypot((xs - centre_x) / 1.6, ys - centre_y) / radius
    light = np.clip(1.4 - distance, 0, 1) * 400
    return _image(pixels + light[:, :, None])


KINDS: tuple[DegradationKind, ...] = (
    DegradationKind("rotated", "turned 90° or 180°", rotate),
    DegradationKind("skewed", "fed crooked, 3° or 7°", skew),
    DegradationKind("blurred", "out of focus", blur),
    DegradationKind("dark", "dim light, uneven", darken),
    DegradationKind("noisy", "sensor noise and specks", noise),
    DegradationKind(
        "low_resolution", "sent at 45 % or 30 % of its size", low_resolution
    ),
    DegradationKind("perspective", "photographed at an angle on a desk", perspective),
    DegradationKind("cut_off", "bottom 12 % or 25 % outside the frame", cut_off),
    DegradationKind("glare", "a lamp reflected on the page", glare),
)
BY_NAME = {kind.name: kind for kind in KINDS}


def degrade(image: Image.Image, kind: str, strength: int, seed: str) -> Image.Image:
    """`image` damaged by `kind` at `strength`; the same seed gives the same
    image. Raises KeyError for an unknown kind."""
    rng = random.Random(seed)  # noqa: S311 - reproducible damage, not secrecy
    return BY_NAME[kind].apply(image.convert("RGB"), strength, rng)
