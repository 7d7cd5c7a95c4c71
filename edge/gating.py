"""Detection cost control: skip the detector on some frames and let the tracker predict them.

Two rules, both off by default (``service.performance``):

* **stride** — run the detector on every Nth frame only (with several cameras detected together:
  every Nth round of the box, the same rounds for every camera);
* **motion gating** — skip a frame when almost nothing inside the crosswalk and curb
  zones changed since the last detected frame, but never more than ``motion_max_skip``
  frames in a row, so a person standing at the curb is still re-detected regularly.

Neither rule skips the frame after a new person appears: a new track is confirmed only by a
second real detection, and waiting a stride for it would lose people who are seen briefly. Two
exceptions:

* the frame just before a strided detection: the strided one confirms the track a frame later.
  A confirming detection there would make two detections back to back, the longest time a box
  spends on two frames; with four cameras detected together, those pairs were what dropped stale
  frames on every camera at once;
* while the box is behind (``behind``: the camera's capture dropped stale frames since the last
  frame, or its next frame is already waiting). Then frames are already sparse, new tentative
  tracks appear on most of them, and detecting every one of those frames would undo the stride
  just when it is needed, so the box would only fall further behind on every camera; a new track
  then waits for the next strided detection (at most ``detect_stride - 1`` frames).

On a skipped frame the wrapped detector returns the tracker's coasted tracks (every confirmed
person moved on their own motion, with their id, nothing measured), and the pipeline uses them
as that frame's tracks, so the decision core runs unchanged on every frame.
``benchmarks/bench_accuracy.py --skip`` and ``benchmarks/bench_pipeline.py`` show on the
labelled footage which model and rule keep every violation.

On the frames it does detect, the detector sees only the zones' region of the picture
(``detector.crop``, detection/region.py, on by default): the same inference, more pixels on the
people who matter. The region follows zones edited live (``apply_zones``).
"""

from __future__ import annotations

from collections import Counter

import cv2
import numpy as np

from detection.base import Detector
from detection.packing import Request
from detection.region import Margins, Region, detection_region, zones_region
from detection.tracker import ByteTracker
from detection.types import Detections
from edge.config.service import PerformanceConfig
from edge.config.site import SiteConfig

MOTION_WIDTH = 160  # motion is measured on a picture this wide: cheap, and enough for people
PIXEL_CHANGE = 25  # grey levels a pixel must change by to count as moving
DEFAULT_MODEL_SIZE = 640  # for a back-end that does not say its input size


def zone_polygons(site: SiteConfig) -> list[list[list[float]]]:
    """Every crosswalk and curb polygon of the site, normalised."""
    return [p for cw in site.crosswalks for p in [cw.polygon, *(curb.polygon for curb in cw.curbs)]]


def zone_mask(site: SiteConfig, width: int, height: int) -> np.ndarray:
    """Boolean mask of every crosswalk and curb polygon at ``width`` x ``height``."""
    mask = np.zeros((height, width), np.uint8)
    for polygon in zone_polygons(site):
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
        self.region: Region | None = None  # where the last detected frame was detected; None: whole frame
        self._regions: dict[tuple[int, int], Region | None] = {}  # by frame size, for the current zones
        self._zone_regions: dict[tuple[int, int], Region | None] = {}  # the same, not grown (packed)
        self._detected = 0
        self.behind = False  # set by the caller per frame: stale frames dropped before it, or the next one waiting
        # Set by the caller per frame when several cameras are detected together: the box's round,
        # which the stride then counts instead of this camera's frames, so every camera's strided
        # detections fall in the same rounds and share inferences (edge/service.py).
        self.round: int | None = None

    @property
    def active(self) -> bool:
        return self.config.detect_stride > 1 or self.config.motion_gating or self.site.detector.crop.enabled

    def apply_zones(self, site: SiteConfig) -> None:
        """New zones (edited live): the motion mask and the detection region follow them."""
        self.site = site
        self._mask = None
        self._regions.clear()
        self._zone_regions.clear()

    def attach(self, tracker: ByteTracker) -> None:
        """The pipeline's tracker, whose prediction stands in for skipped frames."""
        self.tracker = tracker

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    def detect(self, image_bgr: np.ndarray) -> Detections:
        planned = self.plan(image_bgr)
        if isinstance(planned, Detections):
            return planned
        found = self.inner.detect(planned.crop)
        return found if planned.region is None else planned.region.to_frame(found)

    def plan(self, image_bgr: np.ndarray, packed: bool = False) -> Detections | Request:
        """This frame's coasted tracks when it is skipped, else the picture to detect on.

        ``packed``: the picture will share the model's input with other cameras' (a box with
        several, detection/packing.py), so only the zones' region is asked for, at the scale this
        camera's picture would have alone.
        """
        self._frame += 1
        small = self._small_grey(image_bgr) if self.config.motion_gating else None
        reason = self._skip_reason(small)
        if reason is not None and self.tracker is not None:
            self._in_row += 1
            self.skipped[reason] += 1
            return self.tracker.coast()
        self._in_row = 0
        self._reference = small
        return self._request(image_bgr, packed)

    def _request(self, image: np.ndarray, packed: bool) -> Request:
        crop = self.site.detector.crop
        self._detected += 1
        whole = not crop.enabled or (crop.full_frame_every and self._detected % crop.full_frame_every == 0)
        alone = None if whole else self._region_of(image)
        if not packed:
            self.region = alone
            return Request(image, alone, 1.0)
        height, width = (alone.height, alone.width) if alone is not None else image.shape[:2]
        size = self.model_size
        self.region = None if whole else self._zones_region_of(image)
        return Request(image, self.region, min(size / height, size / width))

    @property
    def model_size(self) -> int:
        """The side of the model's square input."""
        return getattr(self.inner, "input_size", None) or self.site.detector.input_size or DEFAULT_MODEL_SIZE

    def _margins(self) -> Margins:
        crop = self.site.detector.crop
        return Margins(crop.margin_up, crop.margin_side, crop.margin_down)

    def _region_of(self, image: np.ndarray) -> Region | None:
        height, width = image.shape[:2]
        if (width, height) not in self._regions:
            size, polygons = self.model_size, zone_polygons(self.site)
            self._regions[(width, height)] = detection_region(polygons, width, height, self._margins(), size)
        return self._regions[(width, height)]

    def _zones_region_of(self, image: np.ndarray) -> Region | None:
        height, width = image.shape[:2]
        if (width, height) not in self._zone_regions:
            polygons = zone_polygons(self.site)
            self._zone_regions[(width, height)] = zones_region(polygons, width, height, self._margins())
        return self._zone_regions[(width, height)]

    def _skip_reason(self, small: np.ndarray | None) -> str | None:
        stride = self.config.detect_stride
        count = self._frame if self.round is None else self.round
        before_strided = stride > 1 and (count + 1) % stride == 0
        if self._frame == 0 or (self._confirming() and not before_strided):
            return None
        if stride > 1 and count % stride:
            return "stride"
        if small is not None and self._in_row < self.config.motion_max_skip and not self._moving(small):
            return "no_motion"
        return None

    def _confirming(self) -> bool:
        return self.tracker is not None and self.tracker.confirming and not self.behind

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
