"""Riders in the rule table: a passage with a rider flag on any frame of it is no pedestrian's."""

from __future__ import annotations

import pytest

from edge.rules import DecisionCore
from edge.signal.timeline import SignalHistory
from tests.builders import make_site, person_at, tracks
from tests.edge.test_rules import FPS, H, W, north_to_south, signals


def ride(core: DecisionCore, history: SignalHistory, riding_frames: set[int]) -> list:
    """One person along the north-to-south path, flagged as riding a vehicle on ``riding_frames``."""
    events = []
    for frame, (x, y) in enumerate(north_to_south()):
        riders = {1} if frame in riding_frames else set()
        people = tracks(person_at(1, x, y))
        events += core.update(frame, frame / FPS, 1000.0 + frame / FPS, people, history, riders)
    return events


@pytest.mark.parametrize(
    ("riding_frames", "expected_types"),
    [
        pytest.param(set(range(30)), [], id="rider-throughout"),
        pytest.param({8}, [], id="riding-once-during-the-passage"),
        pytest.param({0, 1, 2}, ["crossing", "violation"], id="riding-only-before-the-crosswalk"),
        pytest.param(set(), ["crossing", "violation"], id="pedestrian"),
    ],
)
def test_a_rider_passing_through_on_dont_walk_is_no_pedestrian(
    riding_frames: set[int], expected_types: list[str]
) -> None:
    core = DecisionCore(make_site(), W, H)
    events = ride(core, signals((-3.0, "DONT_WALK")), riding_frames)
    assert [e.type.value for e in events] == expected_types


def test_the_evaluation_re_run_hands_the_core_the_riders_too() -> None:
    """Alternate timelines re-run only the core on recorded frames: the riders are part of them."""
    from edge.evaluation.decisions import TrackedFrame, decide_on_tracks
    from edge.signal.hub import SignalHub
    from edge.signal.sources.timeline import TimelineSource
    from edge.signal.types import SignalChange, SignalState

    def frames(riding: bool) -> list[TrackedFrame]:
        return [
            TrackedFrame(i, i / FPS, 1000.0 + i / FPS, tracks(person_at(1, x, y)), frozenset({1} if riding else ()))
            for i, (x, y) in enumerate(north_to_south())
        ]

    def decide(riding: bool) -> list[str]:
        hub = SignalHub([TimelineSource("timeline", [SignalChange(-3.0, "p1", SignalState.DONT_WALK)])])
        return [e.type.value for e in decide_on_tracks(make_site(), frames(riding), hub, W, H)]

    assert decide(riding=False) == ["crossing", "violation"]
    assert decide(riding=True) == []
