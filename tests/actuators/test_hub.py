"""The hub: fan-out, policy from event time, bounded queues, health, operator tests."""

from __future__ import annotations

import json
import time

import pytest

from actuators.base import HealthState
from actuators.emulators.http_board import HttpBoardEmulator
from actuators.hub import ActuatorHub
from actuators.policy import Verdict
from edge.events import EventType
from edge.signal.types import SignalState

from .conftest import BASE_UTC, violation, wait_for


def test_default_site_has_no_devices_and_ignores_events() -> None:
    from edge.config.actuators import ActuatorsConfig

    hub = ActuatorHub(ActuatorsConfig())
    hub.on_violation(violation())
    hub.on_signal("P1", SignalState.WALK, BASE_UTC)
    assert hub.health() == {} and hub.virtual_board_texts() == {} and hub.test() == []
    hub.close()


def test_only_violations_warn_and_cooldown_is_per_crosswalk(make_hub, http_board) -> None:
    hub = make_hub([{"name": "gw", "type": "http_board", "url": http_board.url, "queue_size": 20}], cooldown_s=10)
    events = [
        violation(kind=EventType.CROSSING),
        violation("cw1", BASE_UTC),
        violation("cw1", BASE_UTC + 3),  # same crowd, 3 s later: cooldown
        violation("cw2", BASE_UTC + 4),
        violation("cw1", BASE_UTC + 10),
    ]
    for event in events:
        hub.on_violation(event)
    wait_for(lambda: len(http_board.messages) == 3, what="three warnings")
    assert [m["event_id"] for m in http_board.messages] == [events[i].event_id for i in (1, 3, 4)]
    assert hub.suppressed[Verdict.COOLDOWN] == 1


def test_device_crosswalk_filter_and_disabled_devices(make_hub, http_board) -> None:
    other = HttpBoardEmulator()
    try:
        hub = make_hub([
            {"name": "north", "type": "http_board", "url": http_board.url, "crosswalks": ["cw1"]},
            {"name": "south", "type": "http_board", "url": other.url, "crosswalks": ["cw2"]},
            {"name": "off", "type": "http_board", "url": other.url, "enabled": False},
        ])  # fmt: skip
        assert hub.device_names == ["north", "south"]
        hub.on_violation(violation("cw2"))
        wait_for(lambda: other.messages, what="the south board")
        time.sleep(0.1)
        assert http_board.messages == [] and len(other.messages) == 1
    finally:
        other.stop()


def test_full_queue_drops_the_oldest_and_counts_it(make_hub) -> None:
    hung = HttpBoardEmulator(hung=True)
    try:
        hub = make_hub([{"name": "gw", "type": "http_board", "url": hung.url, "queue_size": 2, "timeout_s": 2}])
        for i in range(6):
            hub.on_violation(violation(f"cw{i}"))
        # one command is with the driver (stuck), two wait; the rest were pushed out oldest first
        assert hub.health()["gw"].dropped in (3, 4)
    finally:
        hung.stop()


def test_signal_changes_reach_only_signal_followers(make_hub, http_board) -> None:
    from tests.actuators.test_gpio import RecordingLine, recording_gpio

    RecordingLine.instances.clear()
    with recording_gpio():
        hub = make_hub([
            {"name": "lights", "type": "gpio", "line": 3, "signal_group": "P1"},
            {"name": "gw", "type": "http_board", "url": http_board.url},
        ])  # fmt: skip
        hub.on_signal("P1", SignalState.DONT_WALK, BASE_UTC)
        line = wait_for(lambda: RecordingLine.instances and RecordingLine.instances[-1], what="the line")
        wait_for(lambda: line.levels[-1:] == [True], what="the lights to go on for DONT_WALK")
        hub.on_signal("P1", SignalState.WALK, BASE_UTC + 30)
        wait_for(lambda: line.levels[-1:] == [False], what="the lights to go off for WALK")
    assert http_board.messages == []


def test_operator_test_reports_success_latency_and_failures(make_hub, http_board) -> None:
    hub = make_hub([
        {"name": "gw", "type": "http_board", "url": http_board.url},
        {"name": "dead", "type": "http_board", "url": "http://127.0.0.1:9/board", "command_ttl_s": 0.3},
    ])  # fmt: skip
    results = {r.device: r for r in hub.test()}
    assert results["gw"].success and 0 < results["gw"].latency_s < 5
    assert not results["dead"].success and "Connection refused" in results["dead"].detail
    assert http_board.messages[0]["kind"] == "test"
    with pytest.raises(KeyError, match="no enabled device named 'nope'"):
        hub.test("nope")


def test_latency_is_recorded_per_command(make_hub, http_board) -> None:
    hub = make_hub([{"name": "gw", "type": "http_board", "url": http_board.url}])
    hub.on_violation(violation("cw1"))
    hub.on_violation(violation("cw2"))
    wait_for(lambda: len(http_board.messages) == 2, what="two warnings")
    summary = hub.latency_summary("gw")
    assert summary is not None and summary.count == 2 and summary.max_ms >= summary.p50_ms > 0


def test_health_starts_down_for_an_unreachable_device(make_hub) -> None:
    hub = make_hub([{"name": "sign", "type": "alpha", "port": 9}])
    wait_for(lambda: hub.health()["sign"].last_error, what="the first connect attempt")
    health = hub.health()["sign"]
    assert health.state is HealthState.DOWN and "cannot connect" in health.last_error
    report = json.loads(json.dumps(health.to_dict()))
    assert report["state"] == "down" and report["name"] == "sign" and report["type"] == "alpha"


def test_replaying_the_same_events_gives_the_same_warnings(make_hub, http_board) -> None:
    # Event times far from now, out of wall-clock order: only the events' own times may matter.
    events = [violation("cw1", BASE_UTC - 86400 * 30 + dt) for dt in (0, 2, 9, 30)]
    events += [violation("cw2", BASE_UTC + 4 * 3600 + dt) for dt in (0, 5)]  # 22:00 Shanghai: evening level
    section = {
        "cooldown_s": 8,
        "schedule": [{"start": "07:00", "brightness": 100}, {"start": "21:00", "brightness": 40}],
    }
    runs = []
    for _ in range(2):
        http_board.messages.clear()
        hub = make_hub([{"name": "gw", "type": "http_board", "url": http_board.url, "queue_size": 20}],
                       timezone="Asia/Shanghai", **section)  # fmt: skip
        for event in events:
            hub.on_violation(event)
        wait_for(lambda: len(http_board.messages) == 4, what="four warnings")
        runs.append([(m["event_id"], m["brightness"]) for m in http_board.messages])
        hub.close()
    assert runs[0] == runs[1]
    assert [b for _, b in runs[0]] == [100, 100, 100, 40]
    assert [e for e, _ in runs[0]] == [events[i].event_id for i in (0, 2, 3, 4)]


# A speaker with no message in its language: it can never open, so a warning handed to it goes
# stale after its short TTL and is counted. That count tells whether the hub handed it anything,
# without an audio device in this process (tests/edge/service/test_commands.py plays real audio).
SILENT_SPEAKER = {"name": "spk", "type": "speaker", "languages": ["xx"], "command_ttl_s": 0.2}
MESSAGES = [{"language": "en", "text": "Red light, step back"}]


def test_mute_skips_audio_outputs_while_boards_still_warn(make_hub, http_board) -> None:
    hub = make_hub([{"name": "gw", "type": "http_board", "url": http_board.url}, SILENT_SPEAKER], messages=MESSAGES)
    hub.set_muted(True)
    hub.on_violation(violation("cw1"))
    wait_for(lambda: len(http_board.messages) == 1, what="the board's warning")
    time.sleep(0.4)  # twice the speaker's TTL: a warning handed to it would be counted stale by now
    health = hub.health()
    assert hub.muted and health["spk"].muted and not health["gw"].muted
    assert (health["spk"].stale, health["spk"].dropped, hub.muted_skipped) == (0, 0, 1)

    hub.set_muted(False)
    hub.on_violation(violation("cw2"))
    wait_for(lambda: hub.health()["spk"].stale == 1, what="the unmuted speaker to be handed the warning")
    assert len(http_board.messages) == 2 and not hub.health()["spk"].muted


def test_operator_test_by_target_covers_only_that_kind(make_hub, http_board, alpha_sign) -> None:
    hub = make_hub([
        {"name": "gw", "type": "http_board", "url": http_board.url},
        {"name": "sign", "type": "alpha", "port": alpha_sign.port, "test_text": "TEST 1 2"},
        SILENT_SPEAKER,
    ], messages=MESSAGES)  # fmt: skip
    assert hub.devices_for("led") == ["gw", "sign"] and hub.devices_for("speaker") == ["spk"]
    assert hub.devices_for("all") == ["gw", "sign", "spk"]
    hub.set_muted(True)  # a test is an explicit request: it is not muted
    results = hub.test(target="led")
    assert [(r.device, r.success) for r in results] == [("gw", True), ("sign", True)]
    assert http_board.messages[-1]["kind"] == "test"
    wait_for(lambda: alpha_sign.displayed and alpha_sign.displayed.text == "TEST 1 2", what="the test text")
    (spoken,) = hub.test(target="speaker", timeout_s=0.5)
    assert spoken.device == "spk" and not spoken.success and "no message for language" in spoken.detail
    with pytest.raises(ValueError, match="unknown test target 'lamp'"):
        hub.devices_for("lamp")
