"""The detection region: the part of the picture the detector looks at, and boxes mapped back from it.

A detector sees every picture at its own input size (the back-ends letterbox it to a square of
``model_size`` pixels). On a 1080p camera that shrinks the whole frame three times, and a person
on the far curb, 130 px tall in the frame, reaches the network 45 px tall. Cropping the frame to
the zones that matter, plus margins, lets the network see them at up to full detail for the same
inference cost.

Pure functions of the zones, the frame size and the model's input size, so each camera of a
site can have its own region and the rules are checked by table tests.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from detection.types import Detections

# A crop that shows the people less than this much larger than the whole frame does is not worth
# its cut edges: the detector then sees the whole frame.
MIN_GAIN = 1.15
EDGE_PX = 1.0  # a box side this close to an inner crop edge was cut by it (boxes are clipped to the crop)

Polygon = Sequence[Sequence[float]]


@dataclass(frozen=True)
class Margins:
    """Room around the zones' bounding box, as fractions of the frame's height (up, down) and width (side)."""

    up: float
    side: float
    down: float


@dataclass(frozen=True)
class Region:
    """A rectangle of the frame in pixels, ``x0 <= x < x1``, ``y0 <= y < y1``."""

    x0: int
    y0: int
    x1: int
    y1: int
    frame_w: int
    frame_h: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    def crop(self, image: np.ndarray) -> np.ndarray:
        """The region of ``image`` (a view: nothing is copied)."""
        return image[self.y0 : self.y1, self.x0 : self.x1]

    def to_frame(self, detections: Detections) -> Detections:
        """Boxes found on the crop, in frame pixels; boxes cut by an inner edge of the crop are dropped.

        A box cut at the bottom or at a side has its foot point in the wrong place (the feet or
        half the body are outside the crop), so it could put a person where they are not. The
        margins keep such people away from every zone, and they are seen whole a step later.
        A box cut at the top keeps its feet where they are and is kept.
        """
        if not len(detections):
            return detections
        box = detections.xyxy
        cut = np.zeros(len(box), bool)
        if self.x0 > 0:
            cut |= box[:, 0] <= EDGE_PX
        if self.x1 < self.frame_w:
            cut |= box[:, 2] >= self.width - EDGE_PX
        if self.y1 < self.frame_h:
            cut |= box[:, 3] >= self.height - EDGE_PX
        kept = detections[~cut]
        xyxy = kept.xyxy + np.array([self.x0, self.y0, self.x0, self.y0], np.float32)
        return Detections(xyxy, kept.confidence, kept.class_id, kept.tracker_id)


def zones_box(polygons: Iterable[Polygon]) -> tuple[float, float, float, float]:
    """Bounding box (x0, y0, x1, y1) of normalised polygons."""
    points = np.concatenate([np.asarray(p, float).reshape(-1, 2) for p in polygons])
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def detection_region(
    polygons: Iterable[Polygon], frame_w: int, frame_h: int, margins: Margins, model_size: int
) -> Region | None:
    """The crop to detect on, or None when the whole frame is as good.

    The zones' bounding box grows by the margins, then to at least ``model_size`` on each side
    (a smaller crop would only be enlarged by the letterbox: no detail gained, context lost),
    then towards a square (the letterbox pads the shorter side with grey anyway, so picture
    there is free). It is kept inside the frame, shifted rather than shrunk where it meets an
    edge.
    """
    polygons = list(polygons)
    if not polygons:
        return None
    x0, y0, x1, y1 = _with_margins(zones_box(polygons), frame_w, frame_h, margins)
    width = min(max(x1 - x0, model_size), frame_w)
    height = min(max(y1 - y0, model_size), frame_h)
    width, height = min(max(width, height), frame_w), min(max(width, height), frame_h)
    x0, x1 = _fit((x0 + x1) / 2, width, frame_w)
    y0, y1 = _fit((y0 + y1) / 2, height, frame_h)
    region = Region(x0, y0, x1, y1, frame_w, frame_h)
    gain = max(frame_w, frame_h) / max(region.width, region.height, model_size)
    return region if gain >= MIN_GAIN else None


def zones_region(polygons: Iterable[Polygon], frame_w: int, frame_h: int, margins: Margins) -> Region | None:
    """The zones' bounding box plus margins, inside the frame, not grown: the least a detector must see.

    Several cameras' such regions share one model input (detection/packing.py); None when there
    are no zones or the region is the whole frame.
    """
    polygons = list(polygons)
    if not polygons:
        return None
    x0, y0, x1, y1 = _with_margins(zones_box(polygons), frame_w, frame_h, margins)
    left, right = max(0, math.floor(x0)), min(frame_w, math.ceil(x1))
    top, bottom = max(0, math.floor(y0)), min(frame_h, math.ceil(y1))
    if (left, top, right, bottom) == (0, 0, frame_w, frame_h) or right <= left or bottom <= top:
        return None
    return Region(left, top, right, bottom, frame_w, frame_h)


def _with_margins(
    box: tuple[float, float, float, float], frame_w: int, frame_h: int, margins: Margins
) -> tuple[float, float, float, float]:
    bx0, by0, bx1, by1 = box
    x0, x1 = (bx0 - margins.side) * frame_w, (bx1 + margins.side) * frame_w
    y0, y1 = (by0 - margins.up) * frame_h, (by1 + margins.down) * frame_h
    return x0, y0, x1, y1


def _fit(centre: float, size: float, limit: int) -> tuple[int, int]:
    """An interval of ``size`` around ``centre``, shifted to lie inside 0..limit, in whole pixels."""
    size_px = min(round(size), limit)
    start = min(max(round(centre - size / 2), 0), limit - size_px)
    return start, start + size_px
