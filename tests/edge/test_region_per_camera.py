"""Each camera's gate crops to its own zones and maps boxes back exactly, over one shared detector."""

from __future__ import annotations

import cv2
import numpy as np

from detection.types import Detections
from edge.config.service import PerformanceConfig
from edge.config.site import SiteConfig
from edge.gating import GatedDetector
from tests.builders import site_dict


class BrightBoxes:
    """Finds the white rectangles of a picture (the people of a synthetic frame), as a model would."""

    key = "bright"
    model_id = "bright"
    input_size = 640

    def __init__(self) -> None:
        self.seen: list[tuple[int, int]] = []  # (width, height) of each picture it was given

    def detect(self, image: np.ndarray) -> Detections:
        self.seen.append((image.shape[1], image.shape[0]))
        mask = (image.min(axis=2) > 200).astype(np.uint8)
        boxes = []
        for contour in cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0]:
            x, y, w, h = cv2.boundingRect(contour)
            boxes.append([x, y, x + w, y + h])
        if not boxes:
            return Detections.empty()
        return Detections.from_lists(boxes, [0.9] * len(boxes), [0] * len(boxes))


def camera_site(x0: float, x1: float) -> SiteConfig:
    """One camera's view: a crosswalk band between x0 and x1 (fractions), curbs above and below."""
    data = site_dict()
    cw = data["crosswalks"][0]
    cw["polygon"] = [[x0, 0.45], [x1, 0.45], [x1, 0.55], [x0, 0.55]]
    cw["curbs"][0]["polygon"] = [[x0, 0.40], [x1, 0.40], [x1, 0.45], [x0, 0.45]]
    cw["curbs"][1]["polygon"] = [[x0, 0.55], [x1, 0.55], [x1, 0.60], [x0, 0.60]]
    return SiteConfig.model_validate(data)


def test_two_cameras_crop_their_own_zones_and_map_a_known_box_back_exactly() -> None:
    shared = BrightBoxes()
    left = GatedDetector(shared, PerformanceConfig(), camera_site(0.05, 0.30))
    right = GatedDetector(shared, PerformanceConfig(), camera_site(0.65, 0.95))
    frame = np.zeros((1080, 1920, 3), np.uint8)
    people = {"left": [300, 430, 340, 560], "right": [1500, 470, 1545, 590]}
    for x0, y0, x1, y1 in people.values():
        frame[y0:y1, x0:x1] = 255  # a person's box, pixel-exact

    found = {"left": left.detect(frame), "right": right.detect(frame)}

    assert left.region is not None and right.region is not None
    assert left.region != right.region  # each camera's own zones
    assert all(size != (1920, 1080) for size in shared.seen)  # the detector saw crops, not the frame
    for name, detections in found.items():
        # The box inside that camera's region comes back in frame pixels, exactly where it was drawn.
        assert detections.xyxy.tolist() == [[float(v) for v in people[name]]], name
