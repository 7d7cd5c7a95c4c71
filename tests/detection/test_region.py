"""The detection region: zones → crop rectangle, and boxes found on the crop → frame pixels."""

from __future__ import annotations

import numpy as np
import pytest

from detection.region import MIN_GAIN, Margins, Region, detection_region, zones_box
from detection.types import Detections

NO_MARGIN = Margins(0.0, 0.0, 0.0)
DEFAULT = Margins(up=0.25, side=0.10, down=0.05)
BAND = [[[0.40, 0.10], [0.60, 0.10], [0.60, 0.20], [0.40, 0.20]]]  # a small far crosswalk, top centre


def box(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


@pytest.mark.parametrize(
    ("polygons", "frame", "margins", "model", "expected", "why"),
    [
        # 1080p, zones 384x108 px at the top: grown to the model's 640 (no enlarging) then to a square,
        # clamped at the top edge and shifted down rather than shrunk.
        (BAND, (1920, 1080), NO_MARGIN, 640, (640, 0, 1280, 640), "grown to model size, shifted inside"),
        # The default margins: 0.25 x 1080 = 270 px above the band is cut by the frame's top edge.
        (BAND, (1920, 1080), DEFAULT, 640, (576, 0, 1344, 768), "margins then square"),
        # Zones spanning the frame's width: the crop would be the frame, so none.
        ([box(0.05, 0.5, 0.95, 0.9)], (1920, 1080), DEFAULT, 640, None, "nearly the whole frame"),
        # A frame no larger than the model's input: the whole frame is already at full detail.
        (BAND, (640, 352), DEFAULT, 640, None, "frame at the model's size"),
        (BAND, (640, 480), DEFAULT, 640, None, "frame at the model's size (4:3)"),
        # A smaller model on the same small frame: the crop now carries more detail.
        (BAND, (640, 480), NO_MARGIN, 320, (160, 0, 480, 320), "320 model on a 640 frame"),
        # Two crosswalks far apart: one box holding both.
        (
            [box(0.1, 0.3, 0.2, 0.4), box(0.5, 0.3, 0.6, 0.4)],
            (3840, 2160),
            NO_MARGIN,
            640,
            (384, 0, 2304, 1920),
            "two crosswalks: a 1920 px square, shifted down from the top edge",
        ),
    ],
)
def test_detection_region(polygons, frame, margins, model, expected, why) -> None:  # type: ignore[no-untyped-def]
    region = detection_region(polygons, *frame, margins, model)
    got = None if region is None else (region.x0, region.y0, region.x1, region.y1)
    assert got == expected, why
    if region is not None:
        width, height = frame
        assert 0 <= region.x0 < region.x1 <= width and 0 <= region.y0 < region.y1 <= height
        assert max(width, height) / max(region.width, region.height, model) >= MIN_GAIN
        zx0, zy0, zx1, zy1 = zones_box(polygons)
        assert region.x0 <= zx0 * width and zx1 * width <= region.x1  # every zone inside the crop
        assert region.y0 <= zy0 * height and zy1 * height <= region.y1


def test_upward_margin_holds_a_standing_person_above_the_far_curb() -> None:
    # Far curb at y 0.40-0.45 of a 4K frame; a person there is about 0.12 of the frame tall.
    region = detection_region([box(0.30, 0.40, 0.36, 0.50)], 3840, 2160, DEFAULT, 640)
    assert region is not None
    assert region.y0 <= (0.40 - 0.12) * 2160


def dets(*boxes: list[float]) -> Detections:
    return Detections.from_lists([list(b) for b in boxes], [0.9] * len(boxes), [0] * len(boxes))


@pytest.mark.parametrize(
    ("crop_box", "kept", "why"),
    [
        ([100, 100, 150, 250], [[600, 300, 650, 450]], "inside: shifted by the crop's corner"),
        ([0, 100, 40, 250], [], "cut by the left edge (inside the frame): foot point wrong, dropped"),
        ([600, 100, 640, 250], [], "cut by the right edge: dropped"),
        ([100, 500, 150, 640], [], "cut by the bottom edge: the feet are outside, dropped"),
        ([100, 0, 150, 120], [[600, 200, 650, 320]], "cut by the top edge: the feet are right, kept"),
    ],
)
def test_boxes_map_back_and_cut_ones_are_dropped(crop_box, kept, why) -> None:  # type: ignore[no-untyped-def]
    region = Region(500, 200, 1140, 840, 1920, 1080)
    mapped = region.to_frame(dets(crop_box))
    assert mapped.xyxy.tolist() == kept, why


def test_crop_edges_on_the_frame_edges_cut_nothing() -> None:
    # The crop's left, right and bottom edges are the frame's own: a box there is whole as far as it can be.
    region = Region(0, 440, 1920, 1080, 1920, 1080)
    mapped = region.to_frame(dets([0, 100, 40, 640], [1880, 100, 1920, 640]))
    assert mapped.xyxy.tolist() == [[0, 540, 40, 1080], [1880, 540, 1920, 1080]]


def test_crop_is_a_view_of_the_frame() -> None:
    image = np.zeros((1080, 1920, 3), np.uint8)
    region = Region(10, 20, 650, 660, 1920, 1080)
    crop = region.crop(image)
    assert crop.shape == (640, 640, 3) and np.shares_memory(crop, image)
