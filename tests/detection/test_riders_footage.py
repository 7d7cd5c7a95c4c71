"""Riders on real footage: the zebra-crossing clip's cyclists are riders, the people they pass are not.

In zebra_crossing_streetlevel.mp4 (640x360, 30 fps) a cyclist rides along the far side of the
road from frame ~500 and, around frame 563, passes close in front of a person standing on the
far pavement (feet at x ≈ 394-407 px): for a few frames the bicycle box lies under that
person's whole width. The cyclist must be a rider; the person passed must not become one.
Confirming riders by a frame count (three frames: 0.1 s at 30 fps) made them one on frames
563-565; confirmation over seconds, and only while the person keeps their place along the
vehicle, does not.
"""

from __future__ import annotations

import cv2
import pytest

from detection.registry import build_detector
from detection.riders import RiderAssociator
from detection.tracker import ByteTracker
from edge.config.detector import DetectorConfig
from edge.config.tracker import TrackerConfig
from tests.conftest import require_shared

CLIP = "video/zebra_crossing_streetlevel.mp4"
FIRST, LAST = 500, 600
CYCLIST_AT_545 = (299.0, 356.0)  # x range of the bicycle box at frame 545
PASSED_PERSON = ((392.0, 410.0), range(560, 575))  # box centre x range, frames the bicycle passes them


@pytest.mark.timeout(600)
def test_cyclists_are_riders_and_the_person_they_pass_is_not() -> None:
    detector = build_detector(DetectorConfig(model=require_shared("models/yolov8n_int8_640.onnx")))
    riders_cfg = DetectorConfig().riders
    tracker, riders = ByteTracker(TrackerConfig()), RiderAssociator(riders_cfg.min_overlap, riders_cfg.confirm_s)
    capture = cv2.VideoCapture(str(require_shared(CLIP)))
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.set(cv2.CAP_PROP_POS_FRAMES, FIRST)
    rider_centres: dict[int, list[float]] = {}
    for index in range(FIRST, LAST + 1):
        ok, image = capture.read()
        assert ok, f"{CLIP}: frame {index} not decoded"
        found = detector.detect(image)
        tracks = tracker.update(found.of_classes([0]), index / fps)
        riding = riders.update(tracks, found.of_classes(riders_cfg.vehicle_classes), index / fps)
        assert tracks.tracker_id is not None
        centres = ((tracks.xyxy[:, 0] + tracks.xyxy[:, 2]) / 2).tolist()
        ids = tracks.tracker_id.tolist()
        rider_centres[index] = [x for x, i in zip(centres, ids, strict=True) if i in riding]
    capture.release()

    assert any(CYCLIST_AT_545[0] <= x <= CYCLIST_AT_545[1] for x in rider_centres[545])
    (low, high), frames = PASSED_PERSON
    assert not [(f, x) for f in frames for x in rider_centres[f] if low <= x <= high]
