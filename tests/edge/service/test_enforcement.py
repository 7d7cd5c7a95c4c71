"""While the picture cannot be trusted, the decision core enforces nothing; afterwards it does again."""

from __future__ import annotations

import pytest

from edge.config import load_site
from edge.config.crosswalk import RuleConfig
from edge.config.signal import TimelineSourceConfig
from edge.enforcement import SuspendableSignals
from edge.events import EventType
from edge.pipeline import Pipeline
from edge.rules import judge_entry
from edge.signal.source import FrameClock
from edge.signal.sources import build_source
from edge.signal.types import SignalState
from edge.video import VideoFile
from tests.conftest import require_shared
from tests.edge.service.sites import CLIP, write_site


def hub_with_dont_walk_from(t: float, folder, settle_s: float = 1.0) -> SuspendableSignals:  # type: ignore[no-untyped-def]
    timeline = folder / "timeline.csv"
    timeline.write_text(f"t,group,state\n{t},g,DONT_WALK\n", encoding="utf-8")
    hub = SuspendableSignals([build_source(TimelineSourceConfig(path=timeline))], settle_s=settle_s)
    hub.update(FrameClock(t, t))
    return hub


@pytest.mark.parametrize(
    ("entry_t", "state", "reason_part"),
    [
        (4.0, SignalState.DONT_WALK, ""),  # before the window
        (5.0, SignalState.UNKNOWN, "enforcement suspended: picture frozen"),
        (
            9.9,
            SignalState.UNKNOWN,
            "enforcement suspended",
        ),  # inside the settle time after the picture returned
        (10.0, SignalState.DONT_WALK, ""),  # after it
    ],
)
def test_reading_inside_a_suspension_window_is_unknown(tmp_path, entry_t, state, reason_part) -> None:
    hub = hub_with_dont_walk_from(0.0, tmp_path)
    assert hub.suspend(5.0, "picture frozen") is True
    assert hub.suspend(6.0, "picture frozen (still)") is False  # one window, not one per frame
    window = hub.resume(9.0)
    assert window is not None and window.end_t == 10.0
    reading = hub.state_at("g", entry_t)
    assert reading.state is state
    assert reason_part in reading.reason
    verdict = judge_entry(RuleConfig(grace_s=1.0), reading, entry_t, True)
    assert verdict.violation is (state is SignalState.DONT_WALK)
    assert verdict.enforced is (state is SignalState.DONT_WALK)


def test_open_window_covers_everything_after_its_start(tmp_path) -> None:
    hub = hub_with_dont_walk_from(0.0, tmp_path)
    hub.suspend(3.0, "camera lost: connection refused")
    assert hub.open_window is not None
    assert hub.state_at("g", 1e6).state is SignalState.UNKNOWN
    assert hub.state_at("g", 2.9).state is SignalState.DONT_WALK
    gaps = [g for g in hub.enforcement_gaps() if "enforcement suspended" in g.reason]
    assert [(g.group, g.start, g.end) for g in gaps] == [("g", 3.0, None)]  # reported like any gap


def run_clip(site, detector, signals) -> list:  # type: ignore[no-untyped-def]
    pipeline = Pipeline(site, detector, signals)
    video = VideoFile(require_shared(CLIP), fallback_fps=site.camera.fps)
    events = [e for frame in video for e in pipeline.process(frame).events]
    pipeline.close()
    return events


def test_suspended_clip_decides_crossings_but_enforces_none(tmp_path, recorded_detector) -> None:
    site = load_site(write_site(tmp_path))
    normal = run_clip(site, recorded_detector, SuspendableSignals.from_config(site.signal))
    assert sum(e.type is EventType.VIOLATION for e in normal) >= 1

    signals = SuspendableSignals.from_config(site.signal)
    signals.suspend(0.0, "picture frozen")
    suspended = run_clip(site, recorded_detector, signals)
    assert [e.type for e in suspended] == [EventType.CROSSING] * len(suspended)
    assert len(suspended) == sum(e.type is EventType.CROSSING for e in normal)
    assert all(not e.enforced and "enforcement suspended: picture frozen" in e.reason for e in suspended)


def test_camera_recovery_does_not_undo_an_operator_switch_off(tmp_path) -> None:
    hub = hub_with_dont_walk_from(0.0, tmp_path)
    assert hub.switch_off(5.0, "centre") is True
    assert hub.switch_off(5.5, "centre") is False  # already off: one window
    hub.suspend(6.0, "picture frozen")
    hub.resume(8.0)  # the picture is good again from 9.0 (settle 1 s) ...
    reading = hub.state_at("g", 10.0)  # ... but the operator's switch-off still holds
    assert reading.state is SignalState.UNKNOWN and reading.reason == "enforcement suspended: operator (centre)"
    assert "picture frozen" in hub.state_at("g", 7.0).reason and "operator" in hub.state_at("g", 7.0).reason
    closed = hub.switch_on(12.0)
    assert closed is not None and (closed.start_t, closed.end_t) == (5.0, 12.0)  # no settle time
    assert hub.state_at("g", 11.9).state is SignalState.UNKNOWN
    assert hub.state_at("g", 12.0).state is SignalState.DONT_WALK
    assert hub.switch_on(13.0) is None  # already on
    gaps = [(g.start, g.end, g.reason) for g in hub.enforcement_gaps() if "suspended" in g.reason]
    assert gaps == [
        (5.0, 12.0, "enforcement suspended: operator (centre)"),
        (6.0, 9.0, "enforcement suspended: picture frozen"),
    ]


def test_status_shows_the_real_signal_while_the_operator_has_switched_off(tmp_path) -> None:
    hub = hub_with_dont_walk_from(0.0, tmp_path)
    hub.switch_off(5.0, "centre")
    assert hub.state_at("g", 6.0).state is SignalState.UNKNOWN  # the core enforces nothing ...
    assert hub.observed_state_at("g", 6.0).state is SignalState.DONT_WALK  # ... the operator still sees the signal
    hub.suspend(7.0, "picture frozen")
    assert hub.observed_state_at("g", 7.5).state is SignalState.UNKNOWN  # a bad picture is not trusted


def test_operator_switching_on_does_not_hide_a_bad_picture(tmp_path) -> None:
    hub = hub_with_dont_walk_from(0.0, tmp_path)
    hub.suspend(3.0, "camera lost: connection refused")
    hub.switch_off(4.0, "centre")
    hub.switch_on(6.0)
    assert hub.open_window is not None and hub.operator_window is None
    reading = hub.state_at("g", 7.0)
    assert reading.state is SignalState.UNKNOWN
    assert reading.reason == "enforcement suspended: camera lost: connection refused"


def test_switched_off_clip_reports_every_crossing_and_enforces_none(tmp_path, recorded_detector) -> None:
    site = load_site(write_site(tmp_path))
    normal = run_clip(site, recorded_detector, SuspendableSignals.from_config(site.signal))
    signals = SuspendableSignals.from_config(site.signal)
    signals.switch_off(0.0, "road works")
    off = run_clip(site, recorded_detector, signals)
    assert off and [e.type for e in off] == [EventType.CROSSING] * len(off)
    assert len(off) == sum(e.type is EventType.CROSSING for e in normal)
    assert all(not e.enforced and "enforcement suspended: operator (road works)" in e.reason for e in off)
