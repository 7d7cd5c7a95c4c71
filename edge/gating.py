"""Detection cost control: skip the detector on some frames and let the tracker predict them.

Two rules, both off by default (``service.performance``):

* **stride** — run the detector on every Nth frame only;
* **motion gating** — skip a frame when almost nothing inside the crosswalk and curb
  zones changed since the last detected frame, but never more than ``motion_max_skip``
  frames in a row, so a person standing at the curb is still re-detected regularly.

Neither rule skips the frame after a new person appears: a new track is confirmed only by a
second real detection, and waiting a stride for it would lose people who are seen briefly.

On a skipped frame the wrapped detector returns the tracker's coasted tracks (every confirmed
person moved on their own motion, with their id, nothing measured), and the pipeline uses them
as that frame's tracks, so the decision core runs unchanged on every frame.
``benchmarks/bench_accuracy.py --skip`` and ``benchmarks/bench_pipeline.py`` show on the
labelled footage which model and rule keep every violation.
"""

from __future__ import annotations

from collections import Counter

import cv2
import numpy as np

from detection.base import Detector
from detection.tracker import ByteTracker
from detection.types import Detections
from edge.config.service import PerformanceConfig
from edge.config.site import SiteConfig

MOTION_WIDTH = 160  # motion is measured on a picture this wide: cheap, and enough for people
PIXEL_CHANGE = 25  # grey levels a pixel must change by to count as moving


def zone_mask(site: SiteConfig, width: int, height: int) -> np.ndarray:
    """Boolean mask of every crosswalk and curb polygon at ``width`` x ``height``."""
    mask = np.zeros((height, width), np.uint8)
    for crosswalk in site.crosswalks:
        for polygon in [crosswalk.polygon, *(curb.polygon for curb in crosswalk.curbs)]:
            points = np.round(np.asarray(polygon) * [width - 1, height - 1]).astype(np.int32)
            cv2.fillPoly(mask, [points], 1)
    return mask.astype(bool)


class GatedDetector(Detector):
    key = "gated"

    def __init__(self, inner: Detector, config: PerformanceConfig, site: SiteConfig) -> None:
        self.inner = inner
        self.config = config
        self.site = site
        self.tracker: ByteTracker | None = None
        self.skipped: Counter[str] = Counter()
        self._frame = -1
        self._in_row = 0
        self._mask: np.ndarray | None = None
        self._reference: np.ndarray | None = None  # small grey picture of the last detected frame

    @property
    def active(self) -> bool:
        return self.config.detect_stride > 1 or self.config.motion_gating

    def attach(self, tracker: ByteTracker) -> None:
        """The pipeline's tracker, whose prediction stands in for skipped frames."""
        self.tracker = tracker

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    def detect(self, image_bgr: np.ndarray) -> Detections:
        self._frame += 1
        small = self._small_grey(image_bgr) if self.config.motion_gating else None
        reason = self._skip_reason(small)
        if reason is not None and self.tracker is not None:
            self._in_row += 1
            self.skipped[reason] += 1
            return self.tracker.coast()
        self._in_row = 0
        self._reference = small
        return self.inner.detect(image_bgr)

    def _skip_reason(self, small: np.ndarray | None) -> str | None:
        if self._frame == 0 or (self.tracker is not None and self.tracker.confirming):
            return None
        stride = self.config.detect_stride
        if stride > 1 and self._frame % stride:
            return "stride"
        if small is not None and self._in_row < self.config.motion_max_skip and not self._moving(small):
            return "no_motion"
        return None

    def _small_grey(self, image: np.ndarray) -> np.ndarray:
        height = max(1, round(image.shape[0] * MOTION_WIDTH / image.shape[1]))
        small = cv2.cvtColor(
            cv2.resize(image, (MOTION_WIDTH, height), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY
        )
        if self._mask is None or self._mask.shape != small.shape:
            self._mask = zone_mask(self.site, MOTION_WIDTH, height)
        return small

    def _moving(self, small: np.ndarray) -> bool:
        if self._reference is None or self._mask is None or not self._mask.any():
            return True
        changed = cv2.absdiff(small, self._reference)[self._mask] > PIXEL_CHANGE
        return float(changed.mean()) >= self.config.motion_threshold
