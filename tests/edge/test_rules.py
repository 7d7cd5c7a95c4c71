"""The rule table: entries judged by the signal at their own instant, one violation per person."""

from __future__ import annotations

from contextlib import nullcontext as does_not_raise

import pytest

from edge.config.crosswalk import ClearancePolicy, RuleConfig
from edge.events import EventType
from edge.rules import DecisionCore, judge_entry
from edge.signal.timeline import SignalHistory
from edge.signal.types import SignalChange, SignalReading, SignalState
from tests.builders import make_site, person_at, tracks

FPS = 10.0
W = H = 1000


def signals(*changes: tuple[float, str]) -> SignalHistory:
    return SignalHistory([SignalChange(t, "p1", SignalState(state)) for t, state in changes])


def walk(
    core: DecisionCore, history: SignalHistory, path: list[tuple[float, float]], start_frame: int = 0, track_id: int = 1
) -> list:
    """Feed one person along ``path`` (one foot point per frame); return all events."""
    events = []
    for i, (x, y) in enumerate(path):
        frame = start_frame + i
        events += core.update(frame, frame / FPS, 1000.0 + frame / FPS, tracks(person_at(track_id, x, y)), history)
    return events


def north_to_south(start_y: float = 300.0, end_y: float = 700.0, step: float = 20.0) -> list[tuple[float, float]]:
    n = int((end_y - start_y) / step) + 1
    return [(500.0, start_y + i * step) for i in range(n)]


# Crossing the 400..600 band at 20 px/frame from y=300: feet reach its edge y=400 at frame 5 (t=0.5 s).
ENTRY_T = 0.5


@pytest.mark.parametrize(
    ("timeline", "expected_types", "reason_part"),
    [
        pytest.param([(0.0, "WALK"), (1.0, "DONT_WALK")], ["crossing"], "entered on WALK", id="walk-then-stay"),
        pytest.param([(0.0, "WALK"), (-5.0, "DONT_WALK")], ["crossing"], "entered on WALK", id="walk-after-dw"),
        pytest.param([(-3.0, "DONT_WALK")], ["crossing", "violation"], "into DONT_WALK", id="after-grace"),
        pytest.param([(0.0, "DONT_WALK")], ["crossing"], "within the 1.00 s grace", id="within-grace"),
        pytest.param([(-3.0, "UNKNOWN")], ["crossing"], "signal UNKNOWN", id="unknown"),
        pytest.param([(-3.0, "CLEARANCE")], ["crossing"], "CLEARANCE (allowed", id="clearance-allowed"),
        pytest.param([], ["crossing"], "no signal information", id="no-signal"),
    ],
)
def test_rule_table(timeline: list[tuple[float, str]], expected_types: list[str], reason_part: str) -> None:
    core = DecisionCore(make_site(), W, H)
    events = walk(core, signals(*timeline), north_to_south())
    assert [e.type.value for e in events] == expected_types
    assert all(reason_part in e.reason for e in events)
    crossing = events[0]
    assert crossing.entry_t == pytest.approx(ENTRY_T)
    assert crossing.direction == "north->south"
    assert crossing.entry_observed


def test_violation_records_seconds_since_dont_walk() -> None:
    core = DecisionCore(make_site(), W, H)
    events = walk(core, signals((0.0, "WALK"), (-2.0, "DONT_WALK")), north_to_south())
    # The later WALK at t=0 wins at the entry instant: no violation.
    assert [e.type for e in events] == [EventType.CROSSING]
    core = DecisionCore(make_site(), W, H)
    violation = walk(core, signals((-2.0, "DONT_WALK")), north_to_south())[1]
    assert violation.type is EventType.VIOLATION
    assert violation.since_dont_walk_s == pytest.approx(2.0 + ENTRY_T)
    assert violation.signal_state is SignalState.DONT_WALK
    assert violation.enforced


def test_clearance_can_be_a_violation_by_site_setting() -> None:
    site = make_site(crosswalks__0__rules__clearance="violation")
    events = walk(DecisionCore(site, W, H), signals((-3.0, "CLEARANCE")), north_to_south())
    assert [e.type.value for e in events] == ["crossing", "violation"]


def test_entering_on_walk_and_staying_past_the_change_is_never_a_violation() -> None:
    core = DecisionCore(make_site(), W, H)
    slow = [(500.0, 300.0 + i * 5.0) for i in range(90)]  # 9 s, most of it inside after DONT_WALK at t=2
    events = walk(core, signals((0.0, "WALK"), (2.0, "DONT_WALK")), slow)
    assert [e.type.value for e in events] == ["crossing"]


def test_south_to_north_direction() -> None:
    core = DecisionCore(make_site(), W, H)
    path = [(500.0, 700.0 - i * 20.0) for i in range(21)]
    events = walk(core, signals((-3.0, "DONT_WALK")), path)
    assert events[0].direction == "south->north"
    assert events[0].from_curb == "south" and events[0].to_curb == "north"


def test_stepping_in_and_back_is_no_crossing() -> None:
    core = DecisionCore(make_site(), W, H)
    path = [(500.0, 380.0)] * 5 + [(500.0, 420.0)] * 4 + [(500.0, 380.0)] * 5
    assert walk(core, signals((-3.0, "DONT_WALK")), path) == []


def test_jitter_at_the_edge_creates_no_entry() -> None:
    core = DecisionCore(make_site(), W, H)
    # Feet alternate either side of the crosswalk edge every frame: never 3 frames in a row inside.
    path = [(500.0, 395.0 if i % 2 else 405.0) for i in range(40)]
    assert walk(core, signals((-3.0, "DONT_WALK")), path) == []


def test_person_first_seen_inside_is_counted_but_not_enforced() -> None:
    core = DecisionCore(make_site(), W, H)
    path = [(500.0, 450.0 + i * 10.0) for i in range(20)]
    events = walk(core, signals((-3.0, "DONT_WALK")), path)
    assert [e.type.value for e in events] == ["crossing"]
    assert not events[0].enforced and not events[0].entry_observed


def test_id_switch_mid_crossing_gives_one_event() -> None:
    core = DecisionCore(make_site(), W, H)
    history = signals((-3.0, "DONT_WALK"))
    path = north_to_south()
    first = walk(core, history, path[:12], track_id=1)  # violation decided with id 1
    # The tracker loses the person for two frames and re-finds them under id 7.
    second = walk(core, history, path[14:], start_frame=14, track_id=7)
    assert [e.type.value for e in first] == ["crossing", "violation"]
    assert second == []


def test_id_switch_before_the_decision_keeps_the_entry() -> None:
    core = DecisionCore(make_site(), W, H)
    history = signals((-3.0, "DONT_WALK"))
    path = north_to_south()
    assert walk(core, history, path[:8], track_id=1) == []  # entered at frame 5, decided at frame 10
    events = walk(core, history, path[9:], start_frame=9, track_id=2)
    assert [e.type.value for e in events] == ["crossing", "violation"]
    assert events[0].entry_t == pytest.approx(ENTRY_T)  # the original entry instant, not the new id's
    assert events[0].track_id == 2


def test_two_people_far_apart_are_two_violations() -> None:
    core = DecisionCore(make_site(), W, H)
    history = signals((-3.0, "DONT_WALK"))
    events = []
    for i, (_, y) in enumerate(north_to_south()):
        rows = tracks(person_at(1, 300.0, y), person_at(2, 700.0, y))
        events += core.update(i, i / FPS, i / FPS, rows, history)
    assert sorted((e.track_id, e.type.value) for e in events) == [
        (1, "crossing"),
        (1, "violation"),
        (2, "crossing"),
        (2, "violation"),
    ]
    assert len({e.event_id for e in events}) == 4


def test_event_ids_are_stable() -> None:
    runs = []
    for _ in range(2):
        core = DecisionCore(make_site(), W, H)
        runs.append([e.event_id for e in walk(core, signals((-3.0, "DONT_WALK")), north_to_south())])
    assert runs[0] == runs[1] and len(set(runs[0])) == 2


def test_tracks_are_forgotten_after_the_timeout() -> None:
    core = DecisionCore(make_site(), W, H)
    walk(core, signals(), [(500.0, 300.0)] * 3)
    core.update(100, 10.0, 10.0, tracks(), signals())
    assert core.active_track_ids == []


def test_update_requires_track_ids() -> None:
    from detection.types import Detections

    core = DecisionCore(make_site(), W, H)
    with pytest.raises(ValueError, match="tracker_id"):
        core.update(0, 0.0, 0.0, Detections.from_lists([[0, 0, 1, 1]], [0.9], [0]), signals())


@pytest.mark.parametrize(
    ("state", "since", "entry_t", "observed", "violation", "enforced", "expectation"),
    [
        ("DONT_WALK", 0.0, 1.0, True, True, True, does_not_raise()),
        ("DONT_WALK", 0.0, 0.999, True, False, True, does_not_raise()),
        ("DONT_WALK", 0.0, 5.0, False, False, False, does_not_raise()),
        ("WALK", 0.0, 5.0, True, False, True, does_not_raise()),
        ("UNKNOWN", 0.0, 5.0, True, False, False, does_not_raise()),
        ("CLEARANCE", 0.0, 5.0, True, False, True, does_not_raise()),
    ],
)
def test_judge_entry_table(state, since, entry_t, observed, violation, enforced, expectation) -> None:  # type: ignore[no-untyped-def]
    with expectation:
        verdict = judge_entry(RuleConfig(grace_s=1.0), SignalReading(SignalState(state), since), entry_t, observed)
        assert (verdict.violation, verdict.enforced) == (violation, enforced)


def test_judge_entry_clearance_policy() -> None:
    rules = RuleConfig(clearance=ClearancePolicy.VIOLATION)
    assert judge_entry(rules, SignalReading(SignalState.CLEARANCE, 0.0), 0.1, True).violation


def walk_with_late_report(settle_s: float) -> list:  # type: ignore[type-arg]
    """DON'T WALK for long; a WALK that began at t=0.2 is only reported at t=1.2."""
    core = DecisionCore(make_site(), W, H, settle_s=settle_s)
    history = signals((-10.0, "DONT_WALK"))
    events = []
    for i, (x, y) in enumerate(north_to_south()):
        if i == 12:
            history.add(SignalChange(0.2, "p1", SignalState.WALK))
        events += core.update(i, i / FPS, i / FPS, tracks(person_at(1, x, y)), history)
    return events


def test_late_signal_report_within_the_settle_window_is_honoured() -> None:
    events = walk_with_late_report(settle_s=1.0)
    assert [e.type.value for e in events] == ["crossing"]
    assert events[0].signal_state is SignalState.WALK
    assert events[0].decided_t == pytest.approx(ENTRY_T + 1.0)


def test_without_a_settle_window_the_entry_is_judged_at_once() -> None:
    events = walk_with_late_report(settle_s=0.0)
    assert [e.type.value for e in events] == ["crossing", "violation"]
    assert events[0].decided_t == pytest.approx(1.0)


def test_feet_hidden_mid_crossing_do_not_make_a_second_crossing() -> None:
    core = DecisionCore(make_site(), W, H)
    history = signals((-3.0, "DONT_WALK"))
    path = north_to_south()
    # Walking south; from frame 12 someone in front hides the feet: the box bottom jumps to
    # the side of the crosswalk (outside every zone) for 6 frames, then comes back.
    hidden = [(900.0, y) if 12 <= i < 18 else (x, y) for i, (x, y) in enumerate(path)]
    events = walk(core, history, hidden)
    assert [e.type.value for e in events] == ["crossing", "violation"]


def test_side_entry_takes_its_direction_from_the_motion() -> None:
    core = DecisionCore(make_site(), W, H)
    # Steps in from the left edge near the south end, then walks north.
    path = [(100.0, 560.0)] * 4 + [(250.0 + 5 * i, 560.0 - 15 * i) for i in range(15)]
    events = walk(core, signals((-3.0, "WALK")), path)
    assert events and events[0].direction == "south->north"

