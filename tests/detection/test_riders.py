"""Person ↔ vehicle association: over the vehicle, faster than walking, confirmed over time, with hysteresis."""

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


def moved(box: list[float], dx: float) -> list[float]:
    return [box[0] + dx, box[1], box[2] + dx, box[3]]


def person(track_id: int = 7, dx: float = 0.0) -> Detections:
    return Detections.from_lists([moved(PERSON, dx)], [0.9], [0], [track_id])


def vehicles(*boxes: list[float], dx: float = 0.0) -> Detections:
    return Detections.from_lists([moved(b, dx) for b in boxes], [0.5] * len(boxes), [1] * len(boxes))


RIDING = 250.0  # px a second: 2.5 of the person's 100 px height a second, cycling pace


# One letter per frame, 10 frames a second, everyone moving at cycling pace: B = the vehicle box
# is under the person, b = a box beside them, - = no vehicle box. Expected: R = rider on that
# frame, . = pedestrian. confirm_s = 0.3.


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
    got = ""
    for index, f in enumerate(frames):
        dx = RIDING * index / 10
        got += "R" if 7 in riders.update(person(dx=dx), vehicles(*boxes[f], dx=dx), index / 10) else "."
    assert got == expected


@pytest.mark.parametrize(("pace", "rides"), [(0.8 * 100, False), (1.1 * 100, False), (RIDING, True)])
def test_only_faster_than_walking_is_riding(pace: float, rides: bool) -> None:
    """Someone pushing a bicycle across is over it the whole way, at walking pace: a pedestrian."""
    riders = RiderAssociator(min_overlap=0.5, confirm_s=0.3)
    flags = [
        7 in riders.update(person(dx=pace * i / 10), vehicles(ON_BIKE, dx=pace * i / 10), i / 10) for i in range(10)
    ]
    assert any(flags) is rides


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
    flags = [
        7 in riders.update(person(dx=RIDING * i / 30), vehicles(ON_BIKE, dx=RIDING * i / 30), i / 30) for i in range(10)
    ]
    assert flags == [False] * 9 + [True]


def test_each_track_has_its_own_evidence() -> None:
    riders = RiderAssociator(min_overlap=0.5, confirm_s=0.1)
    cyclist = [100.0, 0.0, 140.0, 100.0]
    walker = [400.0, 0.0, 440.0, 100.0]
    for t in (0.0, 0.1):
        people = Detections.from_lists([moved(cyclist, RIDING * t), walker], [0.9, 0.9], [0, 0], [1, 2])
        riding = riders.update(people, vehicles(ON_BIKE, dx=RIDING * t), t)
    assert riding == frozenset({1})
    # A frame the detector skipped brings no evidence: the rider stays a rider, nothing changes.
    assert riders.riding(people) == frozenset({1})


def test_untracked_people_are_refused() -> None:
    with pytest.raises(ValueError, match="tracker_id"):
        RiderAssociator(0.5, 0.3).update(Detections.from_lists([PERSON], [0.9], [0]), vehicles(ON_BIKE), 0.0)
