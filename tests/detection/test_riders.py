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


# One letter per frame, 10 frames a second: B = the vehicle box is under the person, b = a box
# beside them, - = no vehicle box. Expected: R = rider on that frame, . = pedestrian. confirm_s = 0.3.


@pytest.mark.parametrize(
    ("frames", "expected"),
    [
        pytest.param("BBBBB", "...RR", id="confirmed-after-0.3-s"),
        pytest.param("BBBB-BB", "...RRRR", id="one-missed-box-keeps-the-rider"),
        pytest.param("BBBB--B-", "...RRRRR", id="misses-between-overlaps-keep-the-rider"),
        pytest.param("BBBB---BB", "...RRR...", id="0.3-s-without-releases"),
        pytest.param("BBB-BB-BB", ".....RRRR", id="over-a-vehicle-most-of-the-time-makes-a-rider"),
        pytest.param("bbbbbb", "......", id="walking-beside-a-bicycle"),
        pytest.param("B-B-B-B-", "........", id="passing-bicycles-now-and-then"),
        pytest.param("------", "......", id="no-vehicles"),
    ],
)
def test_rider_table(frames: str, expected: str) -> None:
    riders = RiderAssociator(min_overlap=0.5, confirm_s=0.3)
    boxes = {"B": [ON_BIKE], "b": [BESIDE], "-": []}
    got = "".join(
        "R" if 7 in riders.update(person(), vehicles(*boxes[f]), index / 10) else "." for index, f in enumerate(frames)
    )
    assert got == expected


@pytest.mark.parametrize("fps", [10, 30])
def test_a_bicycle_sliding_past_someone_does_not_make_them_a_rider(fps: int) -> None:
    """Under the person all the way (their whole width over it), but moving along them, not with them."""
    riders = RiderAssociator(min_overlap=0.5, confirm_s=0.3)
    width, speed = 50.0, 1.5 * 50.0  # px; 1.5 vehicle lengths a second: a slow bicycle past someone standing
    flags = []
    for i in range(int(fps * 1.2)):
        x1 = 110.0 - speed * i / fps
        flags.append(7 in riders.update(person(), vehicles([x1, 45.0, x1 + width, 105.0]), i / fps))
    assert not any(flags)


def test_seconds_not_frames_confirm_a_rider() -> None:
    """At 30 frames a second a bicycle lines up with someone for many more frames, not for longer."""
    riders = RiderAssociator(min_overlap=0.5, confirm_s=0.3)
    flags = [7 in riders.update(person(), vehicles(ON_BIKE), i / 30) for i in range(10)]
    assert flags == [False] * 9 + [True]


def test_each_track_has_its_own_evidence() -> None:
    riders = RiderAssociator(min_overlap=0.5, confirm_s=0.1)
    cyclist = [100.0, 0.0, 140.0, 100.0]
    walker = [400.0, 0.0, 440.0, 100.0]
    people = Detections.from_lists([cyclist, walker], [0.9, 0.9], [0, 0], [1, 2])
    for t in (0.0, 0.1):
        riding = riders.update(people, vehicles(ON_BIKE), t)
    assert riding == frozenset({1})
    # A frame the detector skipped brings no evidence: the rider stays a rider, nothing changes.
    assert riders.riding(people) == frozenset({1})


def test_untracked_people_are_refused() -> None:
    with pytest.raises(ValueError, match="tracker_id"):
        RiderAssociator(0.5, 0.3).update(Detections.from_lists([PERSON], [0.9], [0]), vehicles(ON_BIKE), 0.0)
