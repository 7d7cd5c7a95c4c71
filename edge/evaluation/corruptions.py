"""Corrupted pictures for robustness figures: night, IR, motion blur, heavy JPEG, rain.

In the manner of the common-corruption benchmarks (ImageNet-C: Hendrycks & Dietterich 2019,
"Benchmarking Neural Network Robustness to Common Corruptions and Perturbations"; COCO-C:
Michaelis et al. 2019, "Benchmarking Robustness in Object Detection"): each kind has five
severities, and the same image, kind, severity and random generator always give the same
picture. Where a kind exists there (motion blur, JPEG) its severity table is theirs; the
reference package (``imagecorruptions``) needs NumPy 1 and draws from NumPy's global
generator, so the few kinds needed here are written again in NumPy/OpenCV with an explicit
generator. ``frame_rng`` seeds one generator per (case, variant, frame index).

Every function takes and returns a BGR ``uint8`` image of the same shape; none changes its input.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

import cv2
import numpy as np

SEVERITIES = (1, 2, 3, 4, 5)
REFERENCE_WIDTH = 640  # blur lengths are given for a 640-pixel-wide picture (COCO-C) and scaled with the width


class CorruptionError(ValueError):
    """An unknown corruption kind or a severity outside 1..5."""


class Corruption(str, Enum):
    LOW_LIGHT = "low_light"
    IR_MONO = "ir_mono"
    MOTION_BLUR = "motion_blur"
    JPEG = "jpeg"
    RAIN = "rain"

    @classmethod
    def parse(cls, name: str) -> Corruption:
        try:
            return cls(name)
        except ValueError:
            known = ", ".join(c.value for c in cls)
            raise CorruptionError(f"unknown corruption {name!r} (known: {known})") from None


@dataclass(frozen=True)
class Variant:
    """One corruption at one severity, named ``kind:severity`` in reports."""

    kind: Corruption
    severity: int

    def __post_init__(self) -> None:
        _check_severity(self.severity)

    @property
    def name(self) -> str:
        return f"{self.kind.value}:{self.severity}"

    @classmethod
    def parse(cls, text: str) -> Variant:
        """``low_light:3``; without ``:N`` the medium severity 3."""
        kind, _, severity = text.partition(":")
        if severity and not severity.isdigit():
            raise CorruptionError(f"corruption {text!r}: severity must be a whole number 1..5")
        return cls(Corruption.parse(kind), int(severity) if severity else 3)

    def apply(self, image_bgr: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return corrupt(image_bgr, self.kind, self.severity, rng)


def parse_variants(texts: list[str]) -> list[Variant]:
    """``--corruption`` values in order, without repeats; ``all`` = every kind at severity 3."""
    out: list[Variant] = []
    for text in texts:
        batch = [Variant(kind, 3) for kind in Corruption] if text == "all" else [Variant.parse(text)]
        out += [v for v in batch if v not in out]
    return out


def frame_rng(case: str, variant: str, frame_index: int) -> np.random.Generator:
    """One generator per (case, variant, frame): the same run always draws the same noise.

    CRC-32 rather than ``hash()``, which Python salts per process.
    """
    words = [zlib.crc32(case.encode()), zlib.crc32(variant.encode()), frame_index]
    return np.random.default_rng(words)


def corrupt(image_bgr: np.ndarray, kind: Corruption | str, severity: int, rng: np.random.Generator) -> np.ndarray:
    """The picture under ``kind`` at ``severity`` (1 mild .. 5 severe); same shape, ``uint8``."""
    kind = kind if isinstance(kind, Corruption) else Corruption.parse(kind)
    _check_severity(severity)
    if image_bgr.dtype != np.uint8 or image_bgr.ndim != 3 or image_bgr.shape[2] != 3:
        raise CorruptionError(f"expected a BGR uint8 image (H, W, 3), got {image_bgr.dtype} {image_bgr.shape}")
    return _KINDS[kind](image_bgr, severity - 1, rng)


def _check_severity(severity: int) -> None:
    if isinstance(severity, bool) or not isinstance(severity, int) or severity not in SEVERITIES:
        raise CorruptionError(f"corruption severity must be 1..5, got {severity!r}")


def _unit(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) / 255.0


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _grey(x: np.ndarray, weights_bgr: tuple[float, float, float] = (0.114, 0.587, 0.299)) -> np.ndarray:
    return x @ np.asarray(weights_bgr, dtype=np.float32)


def _poisson_gauss(x: np.ndarray, shot: float, read: float, rng: np.random.Generator) -> np.ndarray:
    """Heteroscedastic sensor noise, variance ``shot * x + read**2`` (Brooks et al. 2019, "Unprocessing
    Images for Learned Raw Denoising"; Foi et al. 2008): photon noise grows with the signal, read noise
    does not."""
    sigma = np.sqrt(shot * np.clip(x, 0.0, None) + read * read)
    return x + sigma * rng.standard_normal(x.shape, dtype=np.float32)


# low_light: gain of the scene's light, extra gamma, saturation kept, shot noise, read noise, blur sigma
_LOW_LIGHT = [
    (0.70, 1.15, 0.75, 0.0010, 0.006, 0.4),
    (0.55, 1.30, 0.60, 0.0020, 0.010, 0.6),
    (0.42, 1.45, 0.45, 0.0030, 0.014, 0.8),
    (0.32, 1.60, 0.30, 0.0045, 0.018, 1.0),
    (0.24, 1.75, 0.20, 0.0060, 0.022, 1.2),
]


def low_light(image: np.ndarray, level: int, rng: np.random.Generator) -> np.ndarray:
    """A night picture of a lit street: less light, crushed shadows, grey, grainy, a little soft.

    As in synthetic low-light pipelines for dark object detection (Cui et al. 2021, "Multitask AET
    with Orthogonal Tangent Regularity for Dark Object Detection"): the optics blur first, then the
    exposure falls (gain ``k`` and a gamma > 1, so shadows sink faster than lamps and bright
    clothes), colour fades (little light for the colour filters; cameras desaturate at high gain),
    and the sensor adds shot and read noise before 8-bit quantisation.
    """
    gain, gamma, saturation, shot, read, sigma = _LOW_LIGHT[level]
    x = cv2.GaussianBlur(_unit(image), (0, 0), sigma)
    x = gain * np.power(x, gamma)
    grey = _grey(x)[..., None]
    x = grey + saturation * (x - grey)
    return _to_uint8(_poisson_gauss(x, shot, read, rng))


# ir_mono: contrast kept, illuminator fall-off at the corners, noise sigma, blur sigma
_IR_MONO = [
    (0.80, 0.15, 0.008, 0.5),
    (0.62, 0.25, 0.015, 0.7),
    (0.48, 0.35, 0.022, 0.9),
    (0.36, 0.45, 0.030, 1.1),
    (0.26, 0.55, 0.040, 1.3),
]
# Near infrared is closest to the red channel: skin, cloth and foliage reflect it strongly.
_IR_WEIGHTS_BGR = (0.10, 0.30, 0.60)


def ir_mono(image: np.ndarray, level: int, rng: np.random.Generator) -> np.ndarray:
    """A night camera on its IR illuminator: monochrome, flat, bright skin and cloth, grainy.

    Grey from a red-weighted mix (near-IR reflectance follows red more than blue), then
    brightened by a square root (IR makes skin and most fabrics glow), contrast pulled towards
    the mean as in ImageNet-C's ``contrast``, the illuminator's fall-off towards the corners,
    a little focus blur (IR focuses behind visible light) and Gaussian noise.
    """
    contrast, falloff, noise, sigma = _IR_MONO[level]
    grey = np.sqrt(_grey(_unit(image), _IR_WEIGHTS_BGR))
    grey = cv2.GaussianBlur(grey, (0, 0), sigma)
    mean = float(grey.mean())
    grey = mean + contrast * (grey - mean)
    height, width = grey.shape
    ys, xs = np.ogrid[-1.0 : 1.0 : height * 1j, -1.0 : 1.0 : width * 1j]
    grey = grey * (1.0 - falloff * (xs * xs + ys * ys) / 2.0).astype(np.float32)
    grey = grey + noise * rng.standard_normal(grey.shape, dtype=np.float32)
    return cv2.cvtColor(_to_uint8(grey), cv2.COLOR_GRAY2BGR)


# ImageNet-C motion_blur: (radius, sigma) of the Gaussian-weighted streak, angle uniform in +-45 degrees.
_MOTION = [(10, 3), (15, 5), (15, 8), (15, 12), (20, 15)]


def _streak_kernel(radius: int, sigma: float, angle_deg: float) -> np.ndarray:
    """ImageNet-C's one-sided streak: weights exp(-i^2 / 2 sigma^2) for i = 0..2r along the angle."""
    width = 2 * radius + 1
    weights = np.exp(-(np.arange(width, dtype=np.float32) ** 2) / (2.0 * sigma * sigma))
    kernel = np.zeros((2 * width - 1, 2 * width - 1), np.float32)
    centre = width - 1
    dx, dy = np.cos(np.deg2rad(angle_deg)), np.sin(np.deg2rad(angle_deg))
    for i, w in enumerate(weights):
        kernel[round(centre - i * dy), round(centre - i * dx)] += w
    return kernel / kernel.sum()


def motion_blur(image: np.ndarray, level: int, rng: np.random.Generator) -> np.ndarray:
    """ImageNet-C's motion blur, lengths scaled from a 640-pixel-wide picture to this one."""
    radius, sigma = _MOTION[level]
    scale = image.shape[1] / REFERENCE_WIDTH
    kernel = _streak_kernel(max(1, round(radius * scale)), sigma * scale, float(rng.uniform(-45.0, 45.0)))
    return cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REPLICATE)


_JPEG_QUALITY = [25, 18, 15, 10, 7]  # ImageNet-C jpeg_compression


def jpeg(image: np.ndarray, level: int, rng: np.random.Generator) -> np.ndarray:
    """ImageNet-C's JPEG compression (quality 25 .. 7), through OpenCV's encoder; draws nothing."""
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY[level]])
    if not ok:
        raise CorruptionError("JPEG encoding failed")
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


# rain: drops per pixel, streak length at 640 px wide, streak brightness, scene contrast and brightness kept
_RAIN = [
    (0.0010, 12, 0.20, 0.90, 0.95),
    (0.0018, 16, 0.25, 0.80, 0.90),
    (0.0026, 20, 0.30, 0.70, 0.85),
    (0.0036, 24, 0.35, 0.60, 0.80),
    (0.0050, 28, 0.40, 0.50, 0.75),
]


def rain(image: np.ndarray, level: int, rng: np.random.Generator) -> np.ndarray:
    """Rain streaks over a duller scene.

    The streak layer is made as ImageNet-C makes its snow layer: sparse random points smeared
    by a motion-blur kernel, here long and thin, falling within 20 degrees of vertical. The
    scene behind loses contrast and light (overcast sky, spray).
    """
    density, length, strength, contrast, light = _RAIN[level]
    x = _unit(image)
    mean = x.mean(axis=(0, 1), keepdims=True)
    x = light * (mean + contrast * (x - mean))
    height, width = image.shape[:2]
    drops = (rng.random((height, width), dtype=np.float32) < density).astype(np.float32)
    scale = width / REFERENCE_WIDTH
    radius = max(2, round(length * scale / 2))
    kernel = _streak_kernel(radius, radius * 2.0, 90.0 + float(rng.uniform(-20.0, 20.0)))
    streaks = cv2.filter2D(drops, -1, kernel, borderType=cv2.BORDER_CONSTANT)
    streaks = np.clip(streaks * (2 * radius + 1) * strength, 0.0, 1.0)[..., None]
    return _to_uint8(x + streaks * (1.0 - x))


_KINDS: dict[Corruption, Callable[[np.ndarray, int, np.random.Generator], np.ndarray]] = {
    Corruption.LOW_LIGHT: low_light,
    Corruption.IR_MONO: ir_mono,
    Corruption.MOTION_BLUR: motion_blur,
    Corruption.JPEG: jpeg,
    Corruption.RAIN: rain,
}
