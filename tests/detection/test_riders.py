"""Person ↔ vehicle association: overlap of the lower body, confirmed over frames, with hysteresis."""

from __future__ import annotations

import numpy as np
import pytest

from detection.riders import RiderAssociator, coverage
from detection.types import Detections

PERSON = [100.0, 0.0, 140.0, 100.0]  # 40 wide, 100 tall, feet at y = 100
ON_BIKE = [95.0, 45.0, 145.0, 105.0]  # under the whole width, feet within its height
BESIDE = [125.0, 50.0, 185.0, 100.0]  # under its right 15 px: 0.375 of the width


@pytest.mark.parametrize(
    ("vehicle", "expected"),
    [
        pytest.param(ON_BIKE, 1.0, id="legs-on-the-vehicle"),
        pytest.param([100.0, 110.0, 140.0, 150.0], 1.0, id="box-stops-at-the-saddle"),
        pytest.param(BESIDE, 0.375, id="beside"),
        pytest.param([100.0, 130.0, 140.0, 170.0], 0.0, id="passing-in-front-lower-down"),
        pytest.param([100.0, 10.0, 140.0, 70.0], 0.0, id="farther-away-higher-up"),
        pytest.param([300.0, 50.0, 340.0, 100.0], 0.0, id="elsewhere"),
    ],
)
def test_how_much_a_person_is_over_a_vehicle(vehicle: list[float], expected: float) -> None:
    assert coverage(np.array([PERSON]), np.array([vehicle]))[0, 0] == pytest.approx(expected)


def person(track_id: int = 7) -> Detections:
    return Detections.from_lists([PERSON], [0.9], [0], [track_id])


def vehicles(*boxes: list[float]) -> Detections:
    return Detections.from_lists(list(boxes), [0.5] * len(boxes), [1] * len(boxes))


# One letter per frame: B = the vehicle box covers the person's legs, b = a box beside them,
# - = no vehicle box. Expected: R = rider on that frame, . = pedestrian. confirm_frames = 3.
@pytest.mark.parametrize(
    ("frames", "expected"),
    [
        pytest.param("BBBBB", "..RRR", id="confirmed-after-three-frames"),
        pytest.param("BBB-BB", "..RRRR", id="one-missed-box-keeps-the-rider"),
        pytest.param("BBB--B-", "..RRRRR", id="misses-between-overlaps-keep-the-rider"),
        pytest.param("BBB---BB", "..RRR...", id="three-misses-release"),
        pytest.param("BB-BB-BB", "....RRRR", id="overlapping-most-frames-makes-a-rider"),
        pytest.param("bbbbbb", "......", id="walking-beside-a-bicycle"),
        pytest.param("B-B-B-B-", "........", id="passing-bicycles-now-and-then"),
        pytest.param("------", "......", id="no-vehicles"),
    ],
)
def test_rider_table(frames: str, expected: str) -> None:
    riders = RiderAssociator(min_overlap=0.5, confirm_frames=3)
    boxes = {"B": [ON_BIKE], "b": [BESIDE], "-": []}
    got = "".join("R" if 7 in riders.update(person(), vehicles(*boxes[f])) else "." for f in frames)
    assert got == expected


def test_each_track_has_its_own_evidence() -> None:
    riders = RiderAssociator(min_overlap=0.5, confirm_frames=2)
    cyclist = [100.0, 0.0, 140.0, 100.0]
    walker = [400.0, 0.0, 440.0, 100.0]
    people = Detections.from_lists([cyclist, walker], [0.9, 0.9], [0, 0], [1, 2])
    for _ in range(2):
        riding = riders.update(people, vehicles(ON_BIKE))
    assert riding == frozenset({1})
    # A frame the detector skipped brings no evidence: the rider stays a rider, nothing changes.
    assert riders.riding(people) == frozenset({1})


def test_untracked_people_are_refused() -> None:
    with pytest.raises(ValueError, match="tracker_id"):
        RiderAssociator(0.5, 3).update(Detections.from_lists([PERSON], [0.9], [0]), vehicles(ON_BIKE))
