"""Pedestrian calls from waiting counts (edge/ped_call.py): pure rules, then a replay that calls a controller."""

from __future__ import annotations

import pytest

from edge.config.actuators import PedCallConfig
from edge.ped_call import CallReason, PedCaller
from edge.signal.types import SignalReading, SignalState
from tests.actuators.conftest import wait_for
from tests.builders import make_site

RED = {"p1": SignalReading(SignalState.DONT_WALK, 0.0)}
WALK = {"p1": SignalReading(SignalState.WALK, 0.0)}
UNKNOWN = {"p1": SignalReading(SignalState.UNKNOWN, None)}


def feed(caller: PedCaller, counts: list[int], readings=RED, start: float = 0.0, fps: float = 10.0) -> list:
    """Frames of one count each on the north curb; the calls placed, with the time of each."""
    calls = []
    for i, count in enumerate(counts):
        t = start + i / fps
        calls += caller.update(t, 1000 + t, {"cw1/north": count, "cw1/south": 0}, readings)
    return calls


def caller(**config: object) -> PedCaller:
    return PedCaller(list(make_site().crosswalks), PedCallConfig(enabled=True, **config))


@pytest.mark.parametrize(
    ("counts", "readings", "expected"),
    [
        ([1, 2, 3, 3, 3], RED, [(CallReason.CROWD, 3, 0.2)]),  # the third person arrives: one call, not three
        ([3] * 5, WALK, []),  # on WALK nobody needs to ask
        ([3] * 5, UNKNOWN, []),  # nor when the box does not know the signal
        ([1] * 310, RED, [(CallReason.WAITED, 1, 30.0)]),  # one person, 30 s
        ([1] * 100 + [0] * 10 + [1] * 200, RED, [(CallReason.WAITED, 1, 30.0)]),  # missed for 1 s: still waiting
        ([1] * 100 + [0] * 30 + [1] * 250, RED, []),  # gone for 3 s: a new wait of 25 s
        ([2] * 200, RED, []),  # two people for 20 s: neither threshold
    ],
    ids=["crowd-once", "walk", "unknown", "waited", "gap-bridged", "gap-too-long", "below-both"],
)
def test_when_a_call_is_placed(counts: list[int], readings: dict, expected: list) -> None:
    calls = feed(caller(), counts, readings)
    assert [(c.reason, c.waiting, round(c.waited_s, 1)) for c in calls] == expected
    assert all((c.crosswalk_id, c.signal_group, c.curb) == ("cw1", "p1", "north") for c in calls)


def test_one_call_per_dont_walk_phase_and_a_new_one_after_walk() -> None:
    ped = caller()
    assert len(feed(ped, [3] * 50)) == 1  # 5 s of three people: one call
    assert feed(ped, [3] * 10, WALK, start=5) == []  # served
    assert len(feed(ped, [3] * 10, start=6)) == 1  # the next red phase: a new call


def test_off_by_default() -> None:
    ped = PedCaller(list(make_site().crosswalks), PedCallConfig())
    assert feed(ped, [10] * 400) == []


def test_replay_calls_the_controller_once_for_the_people_waiting_on_red(tmp_path) -> None:
    """The demo clip under its timeline (DON'T WALK from 5 s), a controller emulator on loopback:
    two people come to stand at the far curb on red, and the crosswalk's phase is called once."""
    from actuators.emulators.snmp_controller import SnmpControllerEmulator
    from detection.registry import build_detector
    from edge.config import load_site
    from edge.config.actuators import ActuatorsConfig
    from edge.replay import ReplayOptions, run_replay
    from tests.builders import demo_site_file
    from tests.conftest import REPO, require_shared

    site = load_site(demo_site_file(tmp_path))
    controller = SnmpControllerEmulator()
    try:
        section = ActuatorsConfig.model_validate({
            "ped_call": {"enabled": True, "min_waiting": 2},  # a quiet crossing: two people waiting are a crowd
            "devices": [{"name": "tsc", "type": "ntcip_ped_call", "port": controller.port, "phases": {"cw-main": 4}}],
        })  # fmt: skip
        actuators = site.actuators.model_copy(update={"ped_call": section.ped_call, "devices": section.devices})
        site = site.model_copy(update={"actuators": actuators})
        options = ReplayOptions(video=require_shared("video/crosswalk_elevated_fixed.mp4"), out=tmp_path / "run",
                                signal=REPO / "sites" / "demo" / "timeline.csv", progress=False, evidence=False,
                                actuate=True)  # fmt: skip
        run_replay(site, build_detector(site.detector), options)
        wait_for(lambda: controller.ped_call_bits(1) == 0, what="the call released")  # hold_s after the call
        assert controller.calls == [4]
        assert [binds[0][1] for binds in controller.sets] == [0b1000, 0]  # phase 4 = bit 3 of group 1
    finally:
        controller.stop()
