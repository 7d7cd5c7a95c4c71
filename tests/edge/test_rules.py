"""The rule table: entries judged by the signal at their own instant, every crossing on its own."""

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


# Every crossing on its own; only the same crossing by the same person is recorded once.

ALL_RED = ((-60.0, "DONT_WALK"),)


def kinds(events: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(e.type.value, e.direction) for e in events]


def test_walking_back_across_on_red_is_a_second_violation() -> None:
    core = DecisionCore(make_site(), W, H)
    there = north_to_south()
    events = walk(core, signals(*ALL_RED), there + there[::-1])
    assert kinds(events) == [
        ("crossing", "north->south"),
        ("violation", "north->south"),
        ("crossing", "south->north"),
        ("violation", "south->north"),
    ]
    assert len({e.event_id for e in events}) == 4

# North to south over the 400..600 band, on the south curb from y=600 (frame 15, t=1.5 s).
ARRIVED = north_to_south(end_y=640.0)
ARRIVED_T = 1.5


@pytest.mark.parametrize(
    ("back", "second_entry_t"),
    [
        pytest.param([(500.0, 640.0)] * 10 + north_to_south(300.0, 640.0)[::-1], 3.1, id="walks-back-after-a-pause"),
        pytest.param(north_to_south(300.0, 640.0)[::-1], 2.1, id="turns-round-on-the-curb-edge"),
        # In the crowd at night the detector drew one box from the head of a woman who had just
        # crossed to the far kerb to the legs of a man passing in front of her: her feet seemed
        # to cross back over the band within 0.2 s of arriving. Her track then ended.
        pytest.param([(500.0, 580.0), (500.0, 520.0), (500.0, 510.0)], None, id="feet-back-in-at-once-then-lost"),
    ],
)
def test_a_walk_back_is_confirmed_once_the_person_could_have_turned_round(
    back: list[tuple[float, float]], second_entry_t: float | None
) -> None:
    core = DecisionCore(make_site(crosswalks__0__rules__min_penetration=0.15), W, H)
    history = signals(*ALL_RED)
    events = walk(core, history, ARRIVED + back)
    end = len(ARRIVED) + len(back)
    for frame in range(end, end + 50):  # nothing more is seen for 5 s
        events += core.update(frame, frame / FPS, 1000.0 + frame / FPS, tracks(), history)
    there = [("crossing", "north->south"), ("violation", "north->south")]
    if second_entry_t is None:
        assert kinds(events) == there
        return
    assert kinds(events) == [*there, ("crossing", "south->north"), ("violation", "south->north")]
    assert events[2].entry_t == pytest.approx(second_entry_t)
    assert events[2].decided_t - ARRIVED_T >= RuleConfig().turn_around_s



def in_back_in(reentry_after_s: float, x_again: float = 500.0) -> list[tuple[float, float]]:
    """From the north curb 0.3 deep into the crosswalk, back onto the curb, and in again
    ``reentry_after_s`` after the first entry (at ``x_again``), then across."""
    first = [(500.0, 360.0 + 20.0 * i) for i in range(6)]  # steps in on the edge y=400 (frame 2), reaches y=460
    back = [(500.0, 460.0 - 20.0 * i) for i in range(1, 6)]  # onto the curb at y=360
    entry_frame = 2
    again = [(x_again, 360.0 + 20.0 * i) for i in range(18)]  # steps in at its 3rd frame
    wait = round(reentry_after_s * FPS) - (len(first) + len(back) - entry_frame) - 2
    assert wait >= 0
    return first + back + [(x_again, 360.0)] * wait + again


@pytest.mark.parametrize(
    ("reentry_after_s", "x_again", "crossings"),
    [
        pytest.param(2.0, 500.0, 1, id="hesitating-at-the-edge"),
        pytest.param(4.5, 520.0, 1, id="hesitating-a-step-aside"),
        pytest.param(2.0, 700.0, 2, id="re-entering-far-along-the-curb"),
        pytest.param(10.0, 500.0, 2, id="back-10s-later"),
        pytest.param(40.0, 500.0, 2, id="back-40s-later"),
    ],
)
def test_re_entering_from_the_same_curb(reentry_after_s: float, x_again: float, crossings: int) -> None:
    site = make_site(crosswalks__0__rules__min_penetration=0.15)
    events = walk(DecisionCore(site, W, H), signals(*ALL_RED), in_back_in(reentry_after_s, x_again))
    assert kinds(events) == [("crossing", "north->south"), ("violation", "north->south")] * crossings
    if crossings == 2:
        assert events[2].entry_t - events[0].entry_t == pytest.approx(reentry_after_s)


def test_a_hesitation_never_hides_a_violation() -> None:
    site = make_site(crosswalks__0__rules__min_penetration=0.15)
    # DON'T WALK begins as the person first steps in (within the grace); they step back and in again on red.
    events = walk(DecisionCore(site, W, H), signals((-0.5, "DONT_WALK")), in_back_in(2.0))
    assert [(e.type.value, round(e.entry_t, 1)) for e in events] == [
        ("crossing", 0.2),
        ("crossing", 2.2),
        ("violation", 2.2),
    ]


@pytest.mark.parametrize(
    ("lost_frames", "id_again", "crossings"),
    [
        pytest.param(0, 1, 1, id="seen-throughout"),
        pytest.param(4, 1, 1, id="lost-and-found-again"),
        pytest.param(4, 2, 2, id="a-new-id-where-they-were-lost"),
    ],
)
def test_a_hesitation_is_the_trackers_own_track(lost_frames: int, id_again: int, crossings: int) -> None:
    # In, back onto the curb and in again 2 s later at the same spot: a hesitation, also when the
    # tracker loses the person on the curb and finds them again. A new id starting where they
    # were lost is taken for them by place alone and may be someone else waiting there (the crowd
    # clip at night: the tracker moved a woman's id onto a man waiting where she had stepped in
    # and lost him; under a new id 1.2 s later he stepped in at her spot and was taken for her
    # hesitating). A step back never hides a violation, so that is a crossing of its own.
    core = DecisionCore(make_site(crosswalks__0__rules__min_penetration=0.15), W, H)
    history = signals(*ALL_RED)
    events = []
    for frame, (x, y) in enumerate(in_back_in(2.0)):
        lost = 12 <= frame < 12 + lost_frames  # waiting on the curb at y=360
        track_id = id_again if frame >= 12 else 1
        seen = tracks() if lost else tracks(person_at(track_id, x, y))
        events += core.update(frame, frame / FPS, 1000.0 + frame / FPS, seen, history)
    assert kinds(events) == [("crossing", "north->south"), ("violation", "north->south")] * crossings


def test_an_id_handed_from_a_violator_to_another_person_keeps_their_violation() -> None:
    core = DecisionCore(make_site(), W, H)
    history = signals(*ALL_RED)
    events = []
    path_a = north_to_south()  # A (id 1) crosses on red and reaches the south curb beside B
    for i, (x, y) in enumerate(path_a):
        events += core.update(i, i / FPS, i / FPS, tracks(person_at(1, x, y), person_at(2, 540.0, 720.0)), history)
    # Paths cross: the tracker swaps the ids. B, now id 1, crosses north on red; A, now id 2, walks away.
    start = len(path_a)
    for i, (_, y) in enumerate(north_to_south()[::-1]):
        frame = start + i
        rows = tracks(person_at(1, 540.0, y), person_at(2, 500.0, 720.0 + 5 * i))
        events += core.update(frame, frame / FPS, frame / FPS, rows, history)
    assert [(e.track_id, *k) for e, k in zip(events, kinds(events), strict=True)] == [
        (1, "crossing", "north->south"),
        (1, "violation", "north->south"),
        (1, "crossing", "south->north"),
        (1, "violation", "south->north"),
    ]


def test_a_person_taken_for_a_lost_tracks_continuation_keeps_their_violation() -> None:
    core = DecisionCore(make_site(), W, H)
    history = signals(*ALL_RED)
    first = walk(core, history, north_to_south(), track_id=1)  # lost on the south curb at (500, 700)
    # One second later someone else is first seen beside that spot and crosses north on red.
    back = [(520.0, 690.0 - 20.0 * i) for i in range(21)]
    second = walk(core, history, back, start_frame=31, track_id=2)
    assert kinds(first) == [("crossing", "north->south"), ("violation", "north->south")]
    assert kinds(second) == [("crossing", "south->north"), ("violation", "south->north")]
    assert all(e.track_id == 2 for e in second)


@pytest.mark.parametrize(
    ("lost_on_the_curb", "first_seen_y", "observed"),
    [
        pytest.param(True, 415.0, True, id="lost-turning-found-at-the-edge"),
        pytest.param(False, 415.0, True, id="first-seen-at-the-edge"),
        pytest.param(False, 390.0, True, id="first-frames-on-the-curb"),
        pytest.param(True, 425.0, True, id="lost-turning-found-a-step-in"),
        pytest.param(False, 425.0, False, id="first-seen-a-step-in"),
        pytest.param(True, 470.0, False, id="first-seen-deep-inside"),
    ],
)
def test_a_track_found_again_just_inside_keeps_its_curb(lost_on_the_curb: bool, first_seen_y: float, observed: bool):  # type: ignore[no-untyped-def]
    site = make_site(crosswalks__0__rules__min_penetration=0.15)
    core = DecisionCore(site, W, H)
    history = signals(*ALL_RED)
    if lost_on_the_curb:
        # Walks up to the edge, turns back and is lost turning, 95 px from where the new track starts.
        assert walk(core, history, [(500.0, 300.0 + 20 * i) for i in range(5)] + [(500.0, 320.0)] * 3) == []
    path = [(500.0, first_seen_y + 20.0 * i) for i in range(15)]
    events = walk(core, history, path, start_frame=12, track_id=2)
    crossing = [("crossing", "north->south")]
    assert kinds(events) == ([*crossing, ("violation", "north->south")] if observed else crossing)
    assert all(e.entry_observed is observed and e.enforced is observed for e in events)


def test_a_track_found_at_the_edge_is_as_deep_in_as_from_the_edge() -> None:
    site = make_site(crosswalks__0__rules__min_penetration=0.15)
    # Hidden behind someone as they stepped in, found at y=412 (0.06 in), they edge in slowly
    # to y=432: 0.10 from where they were found, 0.16 from the curb.
    path = [(500.0, 412.0 + 2.0 * i) for i in range(11)] + [(500.0, 432.0)] * 10
    events = walk(DecisionCore(site, W, H), signals(*ALL_RED), path)
    assert kinds(events) == [("crossing", "north->south"), ("violation", "north->south")]
    assert events[0].entry_observed and events[0].entry_t == 0.0


def test_finishing_a_crossing_is_never_turned_into_an_entry() -> None:
    site = make_site(crosswalks__0__rules__min_penetration=0.15)
    core = DecisionCore(site, W, H)
    history = signals(*ALL_RED)
    walk(core, history, [(500.0, 300.0)] * 5)  # someone lost on the north curb
    # Another person, unseen until now, is first seen at the north edge walking north onto it.
    assert walk(core, history, [(500.0, 415.0 - 10.0 * i) for i in range(15)], start_frame=6, track_id=2) == []
    # Someone first seen deeper inside walking north: a crossing not observed, never enforced.
    events = walk(core, history, [(500.0, 560.0 - 20.0 * i) for i in range(12)], start_frame=30, track_id=3)
    assert kinds(events) == [("crossing", "south->north")] and not events[0].entry_observed


@pytest.mark.parametrize(
    "path",
    [
        pytest.param([(100.0 + 20.0 * i, 500.0) for i in range(41)], id="straight-along"),
        pytest.param([(100.0 + 20.0 * i, 470.0 + 1.5 * i) for i in range(41)], id="drifting-along"),
        pytest.param([(900.0 - 20.0 * i, 560.0 - 2.0 * i) for i in range(41)], id="along-near-the-south-edge"),
        pytest.param([(300.0 + 20.0 * i, 500.0) for i in range(31)], id="first-seen-inside-walking-along"),
    ],
)
def test_walking_along_the_road_through_the_crosswalk_is_no_crossing(path: list[tuple[float, float]]) -> None:
    site = make_site(crosswalks__0__rules__min_penetration=0.15)
    assert walk(DecisionCore(site, W, H), signals(*ALL_RED), path) == []


def test_a_shallow_diagonal_step_in_from_the_side_then_across_is_a_crossing() -> None:
    site = make_site(crosswalks__0__rules__min_penetration=0.15)
    # From the left of the crosswalk, 4 px along for each 1 px across for 12 frames, then straight south.
    path = [(120.0 + 20.0 * i, 430.0 + 5.0 * i) for i in range(12)] + [(340.0, 490.0 + 20.0 * i) for i in range(8)]
    events = walk(DecisionCore(site, W, H), signals(*ALL_RED), path)
    assert kinds(events) == [("crossing", "north->south"), ("violation", "north->south")]
    assert events[0].entry_observed


# Only feet that are seen move a person between zones and confirm a crossing.


def walk_boxes(core: DecisionCore, history: SignalHistory, boxes: list[tuple[float, float, float, float]]) -> list:
    """Feed one person as whole boxes (x1, y1, x2, y2), one per frame; return all events."""
    events = []
    for frame, box in enumerate(boxes):
        events += core.update(frame, frame / FPS, 1000.0 + frame / FPS, tracks([*box, 0.9, 1]), history)
    return events


@pytest.mark.parametrize(
    ("height_during_dip", "crossings"),
    [
        pytest.param(100.0, 1, id="whole-person-steps-in"),
        pytest.param(90.0, 1, id="box-a-little-shorter-stride"),
        pytest.param(60.0, 0, id="legs-hidden-box-cut"),
        pytest.param(30.0, 0, id="only-the-torso"),
    ],
)
def test_a_box_cut_above_the_feet_is_no_step_in(height_during_dip: float, crossings: int) -> None:
    # Standing on the south curb (feet at y=620); for 5 frames the box's bottom is 40-80 px up,
    # inside the crosswalk (400..600), then back. Either the person stepped in and back (their
    # whole box moved, about their height) or something hid their legs (the box's top stayed
    # where it was and the box is much shorter than the person).
    core = DecisionCore(make_site(crosswalks__0__rules__min_penetration=0.15), W, H)
    standing = [(480.0, 520.0, 520.0, 620.0)] * 10
    dip = [(480.0, bottom - height_during_dip, 520.0, bottom) for bottom in (580.0, 570.0, 560.0, 550.0, 540.0)]
    events = walk_boxes(core, signals((-3.0, "DONT_WALK")), standing + dip + standing)
    assert [e.type.value for e in events] == ["crossing", "violation"] * crossings


def test_one_box_after_the_person_was_lost_does_not_confirm_a_step_in() -> None:
    # Standing at the north curb's edge, feet jittering just over it (an entry, not yet a crossing);
    # the tracker loses them for 4 frames and finds them again on one box that puts the feet far
    # in, then they are back at the edge: the box it found them on was not theirs, or was cut.
    # The frames after it decide; walking on in confirms the step in one frame later.
    history = signals((-3.0, "DONT_WALK"))
    edge = [(500.0, 390.0)] * 5 + [(500.0, 402.0)] * 3

    def lost_then_found(after: list[tuple[float, float]]) -> list:
        core = DecisionCore(make_site(crosswalks__0__rules__min_penetration=0.05), W, H)
        events = walk(core, history, edge)
        for frame in range(len(edge), len(edge) + 4):  # frames on which the tracker has no box for them
            events += core.update(frame, frame / FPS, 1000.0 + frame / FPS, tracks(), history)
        return events + walk(core, history, after, start_frame=len(edge) + 4)

    assert lost_then_found([(500.0, 440.0)] + [(500.0, 402.0)] * 5) == []
    events = lost_then_found([(500.0, 440.0), (500.0, 450.0)])
    assert [(e.type.value, e.decided_frame) for e in events] == [("crossing", 13), ("violation", 13)]


@pytest.mark.parametrize(
    ("into_band", "person_height", "crossings"),
    [
        pytest.param(4.0, 100.0, 0, id="jitter-of-a-tall-box"),
        pytest.param(4.0, 40.0, 1, id="a-small-far-person-4px-in"),
        pytest.param(8.0, 100.0, 1, id="a-step-in"),
    ],
)
def test_walking_in_a_thin_crosswalk_is_measured_against_the_persons_height(
    into_band: float, person_height: float, crossings: int
) -> None:
    # A virtual crosswalk 20 px deep (y 490..510): 0.15 of it is 3 px, less than a box bottom
    # jitters; the way walked in must also be 7 % of the person's own height.
    thin = [[0.2, 0.49], [0.8, 0.49], [0.8, 0.51], [0.2, 0.51]]
    north = [[0.2, 0.4], [0.8, 0.4], [0.8, 0.49], [0.2, 0.49]]
    south = [[0.2, 0.51], [0.8, 0.51], [0.8, 0.6], [0.2, 0.6]]
    site = make_site(
        crosswalks__0__polygon=thin,
        crosswalks__0__curbs=[{"name": "north", "polygon": north}, {"name": "south", "polygon": south}],
        crosswalks__0__rules__min_penetration=0.15,
    )
    core = DecisionCore(site, W, H)
    path = [(500.0, 480.0)] * 5 + [(500.0, 491.0)] * 3 + [(500.0, 491.0 + into_band)] * 3 + [(500.0, 480.0)] * 5
    events = []
    history = signals((-3.0, "DONT_WALK"))
    for frame, (x, y) in enumerate(path):
        row = person_at(1, x, y, height=person_height)
        events += core.update(frame, frame / FPS, 1000.0 + frame / FPS, tracks(row), history)
    assert [e.type.value for e in events] == ["crossing", "violation"] * crossings


def test_a_step_back_onto_the_curb_does_not_confirm_the_step_in() -> None:
    # Three frames just inside the edge, then back on the north curb 10 px behind the edge: the
    # way from the entry point is long enough, but it leads back where they came from.
    core = DecisionCore(make_site(crosswalks__0__rules__min_penetration=0.05), W, H)
    path = [(500.0, 380.0)] * 5 + [(500.0, 402.0)] * 3 + [(500.0, 390.0)] * 5
    assert walk(core, signals((-3.0, "DONT_WALK")), path) == []
    core = DecisionCore(make_site(crosswalks__0__rules__min_penetration=0.05), W, H)
    path = [(500.0, 380.0)] * 5 + [(500.0, 402.0)] * 3 + [(500.0, 414.0)] * 5  # the same way, further in
    assert [e.type.value for e in walk(core, signals((-3.0, "DONT_WALK")), path)] == ["crossing", "violation"]


@pytest.mark.parametrize("new_id", [False, True], ids=["same-id", "new-id"])
@pytest.mark.parametrize(("dark", "entry_frame"), [(False, 15), (True, 20)], ids=["by-day", "dark-frames"])
def test_a_track_found_again_by_day_is_measured_anew(dark: bool, entry_frame: int, new_id: bool) -> None:
    # A tall person (box 180 px) waits on the north curb and is lost; 0.4 s later the tracker gives
    # the id to a smaller person (130 px, less than feet_cut_ratio of 180) who walks in. By day their
    # boxes are measured anew and the step in is taken on the first frame over the edge. On dark
    # frames a shorter box found again is taken for the same person cut by the dark: it is judged
    # cut until the tall person's boxes are a second old. A new id that starts where the tall
    # person was lost is taken for them as well (their zones carry over), so it is measured the
    # same way: in the crowd clip at night a far man was so taken for a near one lost 0.8 s before
    # on the near kerb and, his boxes half that height not judged cut, stepped in from it.
    core = DecisionCore(make_site(), W, H)
    history = signals((-3.0, "DONT_WALK"))
    path = [(500.0, 390.0, 180.0)] * 10 + [None] * 4 + [(500.0, 395.0 + 15 * k, 130.0) for k in range(20)]
    events = []
    for frame, step in enumerate(path):
        track_id = 2 if new_id and frame >= 10 else 1
        seen = tracks() if step is None else tracks(person_at(track_id, step[0], step[1], height=step[2]))
        events += core.update(frame, frame / FPS, 1000.0 + frame / FPS, seen, history, dark=dark)
    assert [(e.type.value, e.entry_frame) for e in events] == [("crossing", entry_frame), ("violation", entry_frame)]


def test_a_step_in_is_from_the_curb_the_feet_were_last_seen_on() -> None:
    # The crowd clip at night: a man by the south curb is found with only his upper body from his
    # track's first frame, so his box bottoms put him on the north curb. His legs are found for two
    # frames (fewer than inertia_frames: the debounced zone still says north), then he steps in
    # from the south curb. He steps in from where his feet were last seen, not from the lagging zone.
    core = DecisionCore(make_site(), W, H)
    path = [(500.0, 390.0)] * 10 + [(500.0, 610.0)] * 2 + [(500.0, 590.0 - 20 * k) for k in range(13)]
    events = walk(core, signals((-3.0, "DONT_WALK")), path)
    assert [(e.type.value, e.direction) for e in events] == [
        ("crossing", "south->north"),
        ("violation", "south->north"),
    ]
