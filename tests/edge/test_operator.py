"""The operator's switches: saved atomically, kept across restarts, applied at a frame's time."""

from __future__ import annotations

import json
import logging
import threading

from actuators.hub import ActuatorHub
from edge.config.actuators import ActuatorsConfig
from edge.config.signal import TimelineSourceConfig
from edge.enforcement import SuspendableSignals
from edge.operator import OPERATOR_FILE, OperatorControls, OperatorState, load_state
from edge.signal.source import FrameClock
from edge.signal.sources import build_source
from edge.signal.types import SignalState


def signals_dont_walk(folder) -> SuspendableSignals:  # type: ignore[no-untyped-def]
    timeline = folder / "timeline.csv"
    timeline.write_text("t,group,state\n0.0,g,DONT_WALK\n", encoding="utf-8")
    signals = SuspendableSignals([build_source(TimelineSourceConfig(path=timeline))])
    signals.update(FrameClock(0.0, 0.0))
    return signals


def test_a_switch_off_is_saved_and_applied_at_the_next_frame(tmp_path) -> None:
    path = tmp_path / OPERATOR_FILE
    controls = OperatorControls(path)
    assert controls.state == OperatorState() and not path.exists()  # defaults until changed
    change = controls.set_enforcement(False, "centre", 1000.0)
    assert change.save_error == "" and change.state.enforcement_pending
    saved = json.loads(path.read_text())
    assert saved["enforcement"] == {"enabled": False, "by": "centre", "utc": 1000.0}
    assert [p.name for p in tmp_path.iterdir()] == [OPERATOR_FILE]  # no temporary file left

    assert controls.wait_applied(change.request, 0.05) is False  # no frame yet
    signals = signals_dont_walk(tmp_path)
    waiter = threading.Thread(target=lambda: results.append(controls.wait_applied(change.request, 5)))
    results: list[bool] = []
    waiter.start()
    applied = controls.apply(signals, 7.5)
    waiter.join()
    assert results == [True] and applied is not None and not applied.enabled
    assert signals.state_at("g", 7.4).state is SignalState.DONT_WALK
    assert signals.state_at("g", 7.5).reason == "enforcement suspended: operator (centre)"
    assert controls.apply(signals, 8.0) is None and not controls.state.enforcement_pending

    # The same wish again changes nothing: who and when stay those of the switch-off.
    again = controls.set_enforcement(False, "someone else", 2000.0)
    assert again.state.enforcement.by == "centre" and controls.wait_applied(again.request, 0)


def test_a_restart_keeps_the_switches_and_reapplies_the_switch_off_at_the_first_frame(tmp_path, caplog) -> None:
    path = tmp_path / OPERATOR_FILE
    first = OperatorControls(path)
    first.set_enforcement(False, "road works", 1000.0)
    first.set_muted(True, "centre", 1001.0)

    hub = ActuatorHub(ActuatorsConfig())
    with caplog.at_level(logging.WARNING):
        restarted = OperatorControls(path, hub)
    assert "enforcement stays OFF, as switched off by road works" in caplog.text
    assert hub.muted and restarted.state.mute.by == "centre"
    assert restarted.state.enforcement_pending
    signals = signals_dont_walk(tmp_path)
    restarted.apply(signals, 0.0)
    assert signals.state_at("g", 0.0).state is SignalState.UNKNOWN

    restarted.set_enforcement(True, "centre", 1100.0)
    restarted.set_muted(False, "centre", 1101.0)
    restarted.apply(signals, 3.0)
    assert signals.state_at("g", 3.0).state is SignalState.DONT_WALK and not hub.muted
    assert load_state(path).enforcement.enabled and not load_state(path).mute.muted
    hub.close()


def test_an_unreadable_file_is_kept_aside_and_the_defaults_apply(tmp_path, caplog) -> None:
    path = tmp_path / OPERATOR_FILE
    path.write_text('{"version": 1, "enforcement": {"enabled": "no"}}')
    with caplog.at_level(logging.ERROR):
        assert load_state(path) == OperatorState()
    assert "enforcement.enabled" in caplog.text and "operator.json.bad" in caplog.text
    assert not path.exists() and (tmp_path / "operator.json.bad").exists()


def test_a_switch_that_cannot_be_saved_still_holds_and_says_why(tmp_path) -> None:
    (tmp_path / "not-a-folder").write_text("")
    controls = OperatorControls(tmp_path / "not-a-folder" / OPERATOR_FILE)
    change = controls.set_enforcement(False, "centre", 1000.0)
    assert "not saved to" in change.save_error and "not-a-folder" in change.save_error
    assert not controls.state.enforcement.enabled
