"""Low-light stage in front of the detector: dark frames are denoised and their scores lifted.

At night a camera's picture is dark and grainy, and the detector's scores for a person who is
still plain to the eye fall well below the daylight bands the tracker works with (a person at
0.8 by day scores 0.2–0.4), so tracks are never started and crossings go unrecorded. Brightening
the picture (adaptive gamma, CLAHE) was measured and does not bring the scores back: it lifts the
sensor noise with the signal, and a dark silhouette against lit shop windows loses its contrast.
What holds up is:

* a small Gaussian blur first, which removes most of the per-pixel noise the detector reacts to
  and costs a few milliseconds;
* reading a dark frame's scores on a night scale: a score ``s`` counts as ``s ** score_power``
  (0.25 counts as 0.5 with the default 0.5). That is the same as lowering every downstream
  threshold ``t`` (``detector.confidence``, the tracker's high/low/new-track bands) to
  ``t ** (1 / score_power)`` on dark frames only; ByteTrack never starts a track below its
  new-track band, so lowering the detector's threshold alone would not start one. The order of
  the scores is kept.

A frame is dark when its mean luminance is below ``low_light_luma``, or when it carries no
colour (mean chroma below ``low_light_mono_chroma``): a camera on its infrared illuminator at
night sends a monochrome picture, often well lit, flat and grainy, on which a detector trained on
colour pictures scores people low in the same way. Any other frame is passed to the back-end
untouched and its detections are exactly those of the back-end alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from detection.base import Detector
from detection.types import Detections

LUMA_SAMPLE = 160  # the frame is shrunk to about this width to measure its brightness cheaply


@dataclass(frozen=True)
class LowLightSettings:
    """When a frame counts as dark and what is done to it (``detector.low_light_*``)."""

    dark_luma: float = 60.0
    denoise_sigma: float = 1.0
    score_power: float = 0.5
    mono_chroma: float = 1.0

    def inner_confidence(self, confidence: float) -> float:
        """The back-end's threshold so that a dark frame's lifted scores reach ``confidence``."""
        return max(0.01, confidence ** (1.0 / self.score_power))


def _shrunk(image_bgr: np.ndarray) -> np.ndarray:
    step = max(1, image_bgr.shape[1] // LUMA_SAMPLE)
    return np.ascontiguousarray(image_bgr[::step, ::step])


def mean_luma(image_bgr: np.ndarray) -> float:
    """Mean luminance (0–255) of the frame, measured on a shrunk copy."""
    return float(cv2.cvtColor(_shrunk(image_bgr), cv2.COLOR_BGR2GRAY).mean())


def mean_chroma(image_bgr: np.ndarray) -> float:
    """Mean colourfulness (0–128): how far the frame's chroma (Cr, Cb) lies from grey, on a shrunk copy.

    A monochrome picture scores 0 (a unit at most after video coding); daylight street scenes 3–10.
    """
    ycrcb = cv2.cvtColor(_shrunk(image_bgr), cv2.COLOR_BGR2YCrCb)
    return float(np.abs(ycrcb[..., 1:].astype(np.float32) - 128.0).mean())


def denoise(image_bgr: np.ndarray, sigma: float) -> np.ndarray:
    """A small Gaussian blur: sensor noise goes, a person's outline stays."""
    return cv2.GaussianBlur(image_bgr, (0, 0), sigma) if sigma > 0 else image_bgr


class LowLightDetector(Detector):
    """Wraps a back-end built at ``settings.inner_confidence(confidence)``.

    Daylight frames: the back-end's detections at or above ``confidence`` (the back-end's own
    result at that threshold, since NMS keeps higher scores before it looks at lower ones).
    Dark frames: denoised picture, scores lifted to ``s ** score_power``, kept at ``confidence``.
    """

    def __init__(self, inner: Detector, confidence: float, settings: LowLightSettings) -> None:
        self.inner = inner
        self.confidence = confidence
        self.settings = settings
        self.last_dark = False

    @property
    def key(self) -> str:  # type: ignore[override]
        return self.inner.key

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    def __getattr__(self, name: str) -> object:
        # Back-end details (input_size, family, last_times, ...) read by benchmarks and tests.
        if name == "inner":  # not set yet (copy, unpickling): no endless recursion
            raise AttributeError(name)
        return getattr(self.inner, name)

    def is_dark(self, image_bgr: np.ndarray) -> bool:
        """Whether this picture gets the dark-frame treatment: dark, or a night camera's monochrome."""
        if mean_luma(image_bgr) < self.settings.dark_luma:
            return True
        return mean_chroma(image_bgr) < self.settings.mono_chroma

    def detect(self, image_bgr: np.ndarray, dark: bool | None = None) -> Detections:
        """``dark``: decided by the caller (pictures packed together, each judged alone, detection/packing.py)."""
        self.last_dark = self.is_dark(image_bgr) if dark is None else dark
        if not self.last_dark:
            found = self.inner.detect(image_bgr)
            return found[found.confidence >= self.confidence]
        found = self.inner.detect(denoise(image_bgr, self.settings.denoise_sigma))
        lifted = np.power(found.confidence, self.settings.score_power).astype(np.float32)
        keep = lifted >= self.confidence
        return Detections(found.xyxy[keep], lifted[keep], found.class_id[keep])
