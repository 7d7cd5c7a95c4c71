"""The hub: priority between sources, conflicts, stale and broken sources, late changes, enforcement gaps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.config.signal import RecordedFeedSourceConfig, SignalConfig
from edge.signal.hub import EnforcementGap, SignalHub
from edge.signal.source import FrameClock, SignalSource, SourceHealth
from edge.signal.sources.recorded_feed import RecordedFeedSource
from edge.signal.sources.timeline import TimelineSource
from edge.signal.types import SignalChange, SignalState

W, C, D, U = SignalState.WALK, SignalState.CLEARANCE, SignalState.DONT_WALK, SignalState.UNKNOWN
UTC0 = 1_763_900_000.0


def timeline(name: str, *changes: tuple[float, SignalState]) -> TimelineSource:
    return TimelineSource(name, [SignalChange(t, "p1", s, name) for t, s in changes])


class Delivered(SignalSource):
    """Hands over changes at chosen poll times, as a feed whose messages arrive late would."""

    def __init__(self, name: str, deliveries: dict[float, list[SignalChange]]) -> None:
        super().__init__(name)
        self.deliveries = deliveries

    def poll(self, clock: FrameClock, image: np.ndarray | None) -> list[SignalChange]:
        due = [t for t in self.deliveries if t <= clock.t]
        return [c for t in sorted(due) for c in self.deliveries.pop(t)]


class Breaks(SignalSource):
    """A source whose poll raises from ``at`` on (a bug or a lost device)."""

    def __init__(self, at: float) -> None:
        super().__init__("flaky")
        self.at = at

    def groups(self) -> list[str]:
        return ["p1"]

    def poll(self, clock: FrameClock, image: np.ndarray | None) -> list[SignalChange]:
        if clock.t >= self.at:
            raise RuntimeError("lamp detector board not responding")
        return [SignalChange(0.0, "p1", W, self.name)] if clock.t == 0 else []


def run(hub: SignalHub, until: float, fps: float = 10.0) -> None:
    for k in range(round(until * fps) + 1):
        hub.update(FrameClock(k / fps, UTC0 + k / fps))


def states(hub: SignalHub, *instants: float) -> list[SignalState]:
    return [hub.state_at("p1", t).state for t in instants]


def test_first_source_with_a_known_state_wins() -> None:
    a = timeline("a", (0, W), (4, U), (6, D))
    b = timeline("b", (0, W), (5, D))
    hub = SignalHub([a, b])
    run(hub, 8)
    assert states(hub, 1, 4.5, 5.5, 7) == [W, W, D, D]
    assert hub.state_at("p1", 4.5).reason == "from b" and hub.state_at("p1", 4.5).since == 0
    assert hub.state_at("p1", 7).reason == "from a" and hub.state_at("p1", 7).since == 5
    assert hub.enforcement_gaps() == []


def test_disagreement_beyond_tolerance_is_unknown_with_an_alarm() -> None:
    a = timeline("a", (0, W), (10, D), (20, W), (30, D))
    b = timeline("b", (0, W), (11, D), (20, W), (33, D))  # 1 s behind: tolerated; 3 s behind: not
    hub = SignalHub([a, b], conflict_tolerance_s=1.5)
    run(hub, 32)
    assert states(hub, 10.5, 11.2, 25, 31.4, 31.6) == [D, D, W, D, U]
    assert hub.alarms()[0].group == "p1" and hub.alarms()[0].since == pytest.approx(31.5)
    assert "sources disagree: a=DONT_WALK, b=WALK" in hub.alarms()[0].detail
    assert any(s.name == "hub" and s.health is SourceHealth.DEGRADED for s in hub.statuses())
    run_on(hub, 32, 36)
    assert hub.alarms() == [] and states(hub, 34) == [D]
    assert hub.enforcement_gaps() == [
        EnforcementGap("p1", pytest.approx(31.5), 33.0, "sources disagree: a=DONT_WALK, b=WALK")
    ]


def test_a_disagreement_that_changes_shape_stays_unknown() -> None:
    a = timeline("a", (0, W), (3, D))
    b = timeline("b", (0, W), (6, C), (8, D))  # WALK vs DON'T WALK, then CLEARANCE vs DON'T WALK, then agree
    hub = SignalHub([a, b], conflict_tolerance_s=1.5)
    run(hub, 10)
    assert states(hub, 4, 5, 6.5, 7.9, 8.5) == [D, U, U, U, D]
    (gap,) = hub.enforcement_gaps()
    assert (gap.start, gap.end) == (4.5, 8.0)
    assert gap.reason == "sources disagree: a=DONT_WALK, b=WALK; then sources disagree: a=DONT_WALK, b=CLEARANCE"


def run_on(hub: SignalHub, start: float, until: float, fps: float = 10.0) -> None:
    for k in range(round(start * fps) + 1, round(until * fps) + 1):
        hub.update(FrameClock(k / fps, UTC0 + k / fps))


def test_stale_feed_is_an_enforcement_gap(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    lines = [
        {
            "received": UTC0 + k * 0.5,
            "topic": "t",
            "payload": json.dumps({"group": "p1", "state": "WALK" if k < 4 else "DONT_WALK", "ts": UTC0 + k * 0.5}),
        }
        for k in range(8)
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    feed = RecordedFeedSource.from_config(RecordedFeedSourceConfig(path=path, stale_after_s=1.0))
    hub = SignalHub([feed])
    run(hub, 8)
    assert states(hub, 1, 3, 4.4, 4.6, 7) == [W, D, D, U, U]  # last message 3.5 s, stale 1 s later
    (gap,) = hub.enforcement_gaps()
    assert (gap.start, gap.end) == (
        4.5,
        None,
    ) and "stale: no message from recorded_feed for 1 s" in gap.reason


def test_broken_source_is_unknown_and_the_rest_keep_working() -> None:
    hub = SignalHub([Breaks(at=3.0), timeline("plan", (0, D), (5, W))])
    run(hub, 7)
    assert states(hub, 1, 4, 6) == [W, D, W]  # from 3 s on the plan is all there is
    assert hub.state_at("p1", 1).reason == "from flaky"

    alone = SignalHub([Breaks(at=3.0)])
    run(alone, 5)
    reading = alone.state_at("p1", 4)
    assert reading.state is U and "source down: error: lamp detector board not responding" in reading.reason
    assert alone.enforcement_gaps()[0].start == 3.0


def test_late_changes_land_at_their_own_time_within_the_window() -> None:
    late = Delivered(
        "feed",
        {
            0.0: [SignalChange(0.0, "p1", D, "feed")],
            3.0: [SignalChange(1.0, "p1", W, "feed")],  # 2 s late: inside the 5 s window
            20.0: [SignalChange(10.0, "p1", D, "feed")],  # 10 s late: placed at arrival
        },
    )
    hub = SignalHub([late], late_window_s=5.0)
    run(hub, 2.5)
    assert states(hub, 1.5) == [D]  # not known yet
    run_on(hub, 2.5, 25)
    assert states(hub, 0.5, 1.5, 15, 21) == [D, W, W, D]
    assert hub.state_at("p1", 21).since == 20.0 and "arrived 10.0 s late" in hub.state_at("p1", 21).reason
    assert hub.late_changes == 1


def test_declared_groups_are_unknown_until_heard() -> None:
    quiet = Delivered("feed", {2.0: [SignalChange(2.0, "p1", D, "feed")]})
    quiet.groups = lambda: ["p1"]  # type: ignore[method-assign]
    hub = SignalHub([quiet])
    run(hub, 3)
    assert states(hub, 1, 2.5) == [U, D]
    assert hub.enforcement_gaps() == [EnforcementGap("p1", 0.0, 2.0, "feed: no information yet")]


def test_gaps_outlive_the_history_horizon() -> None:
    source = timeline("a", (0, W), (2, U), (3, D))
    hub = SignalHub([source], horizon_s=10.0)
    run(hub, 3.5)
    for k in range(1, 30):  # an hour of steady DON'T WALK reports pushes the gap out of the history
        source._pending.append(SignalChange(3.5 + k * 60.0, "p1", D if k % 2 else W, "a"))
    run_on(hub, 3.5, 3.5 + 30 * 60.0, fps=1.0)
    assert hub.history.changes("p1")[0].t > 100
    assert [(g.start, g.end) for g in hub.enforcement_gaps()] == [(2.0, 3.0)]


def test_hub_from_config(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("t,group,state\n0,p1,WALK\n5,p1,DONT_WALK\n")
    hub = SignalHub.from_config(
        SignalConfig.model_validate({"sources": [{"type": "timeline", "path": str(path)}], "conflict_tolerance_s": 0.5})
    )
    run(hub, 6)
    assert states(hub, 1, 5.5) == [W, D] and hub.conflict_tolerance_s == 0.5
    hub.close()


def test_vision_and_a_disagreeing_feed_on_a_real_clip(tmp_path: Path) -> None:
    """The Melbourne clip's head shows WALK then flashing red from 7.03 s; a feed claiming DON'T WALK
    from 3 s disagrees with the camera, so from 4.5 s the group is UNKNOWN with an alarm until 7.03 s,
    where the feed's DON'T WALK and the camera's CLEARANCE still differ."""
    import cv2

    from edge.config.signal import VisionSourceConfig
    from edge.signal.sources.vision import VisionSource
    from tests.conftest import require_shared

    path = tmp_path / "feed.jsonl"
    lines = [
        {
            "received": UTC0 + t,
            "topic": "t",
            "payload": json.dumps({"group": "p1", "state": "WALK" if t < 3 else "DONT_WALK", "ts": UTC0 + t}),
        }
        for t in range(27)
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    feed = RecordedFeedSource.from_config(RecordedFeedSourceConfig(path=path, name="controller"))
    camera = VisionSource(
        VisionSourceConfig(
            name="camera",
            heads=[{"group": "p1", "region": (619 / 640, 152 / 360, 636 / 640, 177 / 360)}],
            calibration={"min_value": 90},
        )
    )
    hub = SignalHub([feed, camera], conflict_tolerance_s=1.5)
    capture = cv2.VideoCapture(str(require_shared("video/intersection_crowd_tripod.mp4")))
    fps, k = capture.get(cv2.CAP_PROP_FPS), 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        hub.update(FrameClock(k / fps, UTC0 + k / fps), frame)
        k += 1
    capture.release()
    assert states(hub, 2.0, 3.5, 5.0, 10.0, 20.0) == [W, D, U, U, U]
    gaps = hub.enforcement_gaps()
    assert gaps[-1].start == pytest.approx(4.5) and gaps[-1].end is None
    assert "sources disagree: controller=DONT_WALK, camera=WALK" in gaps[-1].reason
    assert "camera=CLEARANCE" in gaps[-1].reason  # still disagreeing after the flash begins
    assert [a.group for a in hub.alarms()] == ["p1"]


STATES = st.sampled_from([W, C, D, U])


@settings(max_examples=40, deadline=None)
@given(
    a=st.lists(st.tuples(st.integers(0, 300), STATES), min_size=1, max_size=12),
    b=st.lists(st.tuples(st.integers(0, 300), STATES), min_size=1, max_size=12),
    delays=st.lists(st.integers(0, 40), min_size=24, max_size=24),
)
def test_late_arrivals_within_the_window_change_nothing(a: list, b: list, delays: list) -> None:
    """Changes delayed by up to 4 s (window 5 s) give the same history as changes on time."""

    def changes(name: str, rows: list) -> list[SignalChange]:
        return [SignalChange(t / 10, "p1", s, name) for t, s in sorted(dict(rows).items())]

    on_time = SignalHub([TimelineSource("a", changes("a", a)), TimelineSource("b", changes("b", b))])
    late_sources = []
    for name, rows, offset in (("a", a, 0), ("b", b, 12)):
        deliveries: dict[float, list[SignalChange]] = {}
        for k, change in enumerate(changes(name, rows)):
            deliveries.setdefault(round(change.t + delays[offset + k] / 10, 1), []).append(change)
        late_sources.append(Delivered(name, deliveries))
    late = SignalHub(late_sources, late_window_s=5.0)
    run(on_time, 40)
    run(late, 40)
    grid = [k / 20 + 0.025 for k in range(800)]

    def readings(hub: SignalHub) -> list[tuple[SignalState, float | None]]:
        return [(r.state, r.since) for r in (hub.state_at("p1", t) for t in grid)]

    assert readings(on_time) == readings(late)
    assert late.late_changes == 0


def test_revision_window_comes_from_the_slowest_source() -> None:
    from edge.config.signal import VisionSourceConfig
    from edge.signal.sources.vision import VisionSource

    camera = VisionSource(VisionSourceConfig(heads=[{"group": "p1", "region": (0.1, 0.1, 0.2, 0.2)}]))
    assert camera.max_delay_s() == pytest.approx(5.0)  # 3 flash phases + 1 at 0.5 Hz, with 25 % slack
    assert SignalHub([timeline("a", (0, W))]).revision_window_s == 0.0
    assert SignalHub([timeline("a", (0, W)), camera], late_window_s=4.0).revision_window_s == 4.0


def test_a_controller_clock_behind_the_box_is_not_stale(tmp_path: Path) -> None:
    """Staleness runs on the box's receive clock: a controller 2 s behind keeps its feed fresh."""
    path = tmp_path / "feed.jsonl"
    lines = [
        {
            "received": UTC0 + k * 0.5,
            "topic": "t",
            "payload": json.dumps(
                {"group": "p1", "state": "WALK" if k < 10 else "DONT_WALK", "ts": UTC0 + k * 0.5 - 2.0}
            ),
        }
        for k in range(20)
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    feed = RecordedFeedSource.from_config(RecordedFeedSourceConfig(path=path, stale_after_s=1.0))
    hub = SignalHub([feed])
    run(hub, 9.5)
    assert states(hub, 1.0, 2.9, 3.1, 9.0) == [W, W, D, D]  # DON'T WALK dated by the controller: 5 s - 2 s
    assert hub.enforcement_gaps() == []


def test_a_timeline_change_before_the_first_frame_keeps_its_time() -> None:
    live = Delivered("feed", {0.0: [SignalChange(-30.0, "p2", D, "feed")]})  # news that old is late
    hub = SignalHub([timeline("timeline", (-40.0, W), (-30.0, D), (5.0, W)), live], late_window_s=5.0)
    run(hub, 1.0)
    reading = hub.state_at("p1", 0.0)
    assert (reading.state, reading.since) == (D, -30.0)
    assert reading.seconds_in_state(0.5) == 30.5  # the grace is long over at the first frame
    assert hub.state_at("p2", 0.0).since == 0.0 and hub.late_changes == 1
