"""Pre-warnings on real footage: the shared crosswalk clip through the real detector, tracker, rules and pre-warner."""

from __future__ import annotations

import json

import numpy as np
import pytest

from detection.registry import build_detector
from edge.config import load_site
from edge.config.site import SiteConfig
from edge.events import EventType
from edge.replay import ReplayOptions, run_replay
from tests.builders import demo_site_file
from tests.conftest import REPO, require_shared

CLIP = "video/crosswalk_elevated_fixed.mp4"
DEMO_TIMELINE = REPO / "sites" / "demo" / "timeline.csv"  # WALK, CLEARANCE from 3 s, DON'T WALK from 5 s


def with_prewarn(site: SiteConfig, **prewarn: object) -> SiteConfig:
    config = site.actuators.prewarn.model_copy(update={"enabled": True, **prewarn})
    return site.model_copy(update={"actuators": site.actuators.model_copy(update={"prewarn": config})})


SEGMENTS = [{"name": "stripe", "address": 0}, {"name": "near-line", "curb": "near", "address": 4},
            {"name": "far-line", "curb": "far", "address": 8}]  # fmt: skip
LIGHTS = {"name": "lights", "type": "ground_lights", "protocol": "modbus", "signal_group": "ped-main",
          "alert_s": 2.0, "timeout_s": 1.0, "segments": SEGMENTS}  # fmt: skip


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], list[tuple[int, int]]]:
    """The clip replayed with pre-warnings on and ground lights on a Modbus emulator (``--actuate``):
    the events, and every coil write the controller received as (address, red/green/amber/flash bits)."""
    from actuators.emulators.modbus_lights import ModbusLightsEmulator
    from edge.config.actuators import ActuatorsConfig

    out = tmp_path_factory.mktemp("prewarn")
    site = with_prewarn(load_site(demo_site_file(out)))
    controller = ModbusLightsEmulator()
    try:
        devices = ActuatorsConfig.model_validate({"devices": [{**LIGHTS, "port": controller.port}]}).devices
        site = site.model_copy(update={"actuators": site.actuators.model_copy(update={"devices": devices})})
        options = ReplayOptions(video=require_shared(CLIP), out=out / "run", signal=DEMO_TIMELINE, progress=False,
                                evidence=False, actuate=True)  # fmt: skip
        run_replay(site, build_detector(site.detector), options)
        frames = [f for _, f in controller.frames if len(f) == 14 and f[7] == 0x0F]  # Write Multiple Coils
        writes = [(int.from_bytes(f[8:10], "big"), f[13]) for f in frames]
    finally:
        controller.close()
    events = [json.loads(line) for line in (out / "run" / "events.jsonl").read_text().splitlines()]
    return events, writes


@pytest.fixture(scope="module")
def demo_events(demo_run: tuple[list[dict], list[tuple[int, int]]]) -> list[dict]:
    return demo_run[0]


def test_people_waiting_at_the_edge_on_red_are_warned_before_they_step_in(demo_events) -> None:
    # Checked on the annotated clip: the two people who step in on DON'T WALK (9.52 s, 10.61 s)
    # stood at or walked up to the near curb's edge before; both are warned 1-5 s ahead.
    violations = [e for e in demo_events if e["type"] == "violation"]
    warnings = [e for e in demo_events if e["type"] == "pre_warning"]
    assert len(violations) == 2
    for violation in violations:
        before = [w for w in warnings if w["track_id"] == violation["track_id"] and w["crosswalk_id"] == "cw-main"]
        assert before, f"no pre-warning before the violation at {violation['entry_t']} s"
        first = min(w["decided_t"] for w in before)
        assert 1.0 <= violation["entry_t"] - first <= 5.0
        assert all(w["from_curb"] == violation["from_curb"] == "near" for w in before)
        assert all(w["decided_t"] <= violation["entry_t"] for w in before), "prompts stop once they step in"


def test_prewarnings_only_on_dont_walk_and_never_for_people_who_do_not_step_in(demo_events) -> None:
    warnings = [e for e in demo_events if e["type"] == "pre_warning"]
    assert warnings and all(w["decided_t"] >= 5.0 and w["signal_state"] == "DONT_WALK" for w in warnings)
    crossed = {e["track_id"] for e in demo_events if e["type"] == "crossing"}
    assert {w["track_id"] for w in warnings} <= crossed
    # one series per person per red phase: every prompt of a person belongs to one series
    series = {(w["track_id"], w["entry_t"]) for w in warnings}
    assert len(series) == len({w["track_id"] for w in warnings})
    assert all(w["enforced"] is False and w["reason"].startswith("pre-warning") for w in warnings)


def test_waiting_counts_and_walking_along_the_edge_is_no_prewarning() -> None:
    """The rules on the minimal site (1000x1000 px; north curb above y=400, the crosswalk 200 px deep)."""
    from edge.config.actuators import PreWarnConfig
    from edge.prewarn import PreWarner
    from edge.signal.types import SignalReading, SignalState
    from tests.builders import make_site, person_at, tracks

    warner = PreWarner(make_site(), PreWarnConfig(enabled=True), 1000, 1000)
    red = {"p1": SignalReading(SignalState.DONT_WALK, 0.0)}
    events = []
    for i in range(30):  # 3 s at 10 fps
        t = i / 10
        frame = tracks(
            person_at(1, 300, 396),  # toes at the edge, still
            person_at(2, 250 + 300 * t, 396),  # walking along the edge, 1.5 depths/s sideways
            person_at(3, 500, 300),  # waiting back from the edge
        )
        events += warner.update(i, t, 1000 + t, frame, red)
    assert [(e.track_id, e.from_curb, e.type.value) for e in events] == [(1, "north", "pre_warning")]
    assert events[0].decided_t >= 1.0  # after dwell_s at the edge
    assert warner.waiting == {"cw1/north": 2, "cw1/south": 0}
    walk = {"p1": SignalReading(SignalState.WALK, 3.0)}
    assert warner.update(30, 3.0, 1003.0, tracks(person_at(1, 300, 396)), walk) == []
    assert warner.waiting == {"cw1/north": 0, "cw1/south": 0}


def test_dashboard_counts_prewarnings_beside_crossings_and_violations() -> None:
    from datetime import date
    from zoneinfo import ZoneInfo

    from edge.events import EventType
    from edge.web.dashboard import JournalEvent, day_span, tally_day

    zone = ZoneInfo("Asia/Shanghai")
    start, _ = day_span(date(2026, 12, 7), zone)
    events = [JournalEvent("a", EventType.PRE_WARNING, "cw1", start + 60), JournalEvent("b", EventType.PRE_WARNING,
              "cw1", start + 60), JournalEvent("c", EventType.VIOLATION, "cw1", start + 70),
              JournalEvent("d", EventType.CROSSING, "cw1", start + 70)]  # fmt: skip
    day = tally_day(events, ["cw1"], date(2026, 12, 7), zone)["cw1"]
    assert (day.crossings, day.violations, day.prewarnings) == (1, 1, 2)
    assert day.violation_rate == 1.0  # pre-warnings are not crossings


def test_ground_lights_follow_the_replayed_signal_and_flash_at_the_warned_curb(demo_run) -> None:
    _, writes = demo_run
    red, green, green_flash, red_flash = 0b0001, 0b0010, 0b1010, 0b1001

    def looks(address: int) -> list[int]:
        seen = [bits for where, bits in writes if where == address]
        return [b for i, b in enumerate(seen) if i == 0 or seen[i - 1] != b]  # each change once

    # red (safe) until the first signal report, then WALK, CLEARANCE, DON'T WALK; the people heading
    # for the near curb's edge make it and the stripe flash red (from the first red frame on, when
    # someone is already on their way), the far curb's line stays steady red
    for address in (0, 4):
        assert looks(address)[:3] == [red, green, green_flash] and looks(address)[3] in (red, red_flash)
        assert red_flash in looks(address)
    assert looks(8) == [red, green, green_flash, red]
    cleared = max(i for i, (_, bits) in enumerate(writes) if bits == green_flash)
    assert all(bits & 0b0010 == 0 for _, bits in writes[cleared + 1 :]), "green after DON'T WALK began"


def test_prewarning_events_are_valid_mqtt_event_payloads(demo_events) -> None:
    from edge.events import CrossingEvent
    from edge.mqtt.payloads import Origin, event_payload
    from edge.mqtt.schemas import problems
    from edge.signal.types import SignalState

    raw = next(e for e in demo_events if e["type"] == "pre_warning")
    fields = {**raw, "type": EventType.PRE_WARNING, "signal_state": SignalState(raw["signal_state"])}
    for key in ("foot_point", "box", "entry_box"):
        fields[key] = tuple(raw[key])
    payload = event_payload(CrossingEvent(**fields), (), Origin("demo", "cam1", "box-1"))
    assert problems("event", payload) == [] and payload["type"] == "pre_warning"


ZEBRA_SITE = REPO / "sites" / "eval" / "zebra-streetlevel" / "site.yaml"  # near pavement: y 244-300 px
ZEBRA_RED = REPO / "sites" / "eval" / "zebra-streetlevel" / "timeline-dont-walk.csv"  # DON'T WALK throughout
# Two people on the near pavement of video/zebra_crossing_streetlevel.mp4 (640x360, 30 fps) on red.
# Labelled by hand: the frames were viewed x2 every 8-10 frames with the zones drawn; the foot point
# (x, y: the middle between the feet, px) and the height (px) were read off (one detector run's boxes
# were drawn to help, and kept where they sat on the person's feet); between these frames each is
# interpolated linearly.
# - the woman in the black coat who walks left to right along the near pavement at frames 184-290,
#   parallel to the near kerb, and does not cross;
ALONG_THE_KERB = {184: (87, 294, 168), 192: (114, 292, 166), 200: (168, 292, 169), 208: (197, 291, 167),
                  216: (252, 290, 163), 224: (280, 286, 158), 232: (325, 288, 161), 240: (365, 291, 167),
                  250: (408, 286, 161), 260: (472, 287, 163), 270: (516, 290, 166), 280: (554, 288, 162),
                  290: (603, 288, 161)}  # fmt: skip
# - the woman in the grey cardigan who comes in from the left at frames 452-492 and walks up to the
#   near kerb at an angle; she steps off at frame 490 (sites/eval/zebra-streetlevel/expected.csv).
UP_TO_THE_KERB = {452: (32, 263, 136), 460: (56, 267, 140), 468: (71, 263, 133), 476: (103, 258, 128),
                  484: (115, 252, 117), 490: (122, 249, 113)}  # fmt: skip
UP_TO_THE_KERB_ENTRY = 490


def _labelled_at(keys: dict[int, tuple[int, int, int]], frame: int) -> tuple[float, float, float] | None:
    frames = sorted(keys)
    if not frames[0] <= frame <= frames[-1]:
        return None
    lo, hi = max(k for k in frames if k <= frame), min(k for k in frames if k >= frame)
    a = 0.0 if hi == lo else (frame - lo) / (hi - lo)
    x, y, height = (1 - a) * np.array(keys[lo]) + a * np.array(keys[hi])
    return float(x), float(y), float(height)


def test_on_real_footage_walking_along_the_kerb_is_no_prewarning_walking_up_to_it_is() -> None:
    """The labelled passes replayed frame by frame through the pre-warner on the clip's evaluation
    site and its all-red timeline. The low camera foreshortens the crossing to 34 px of depth: the
    walker along the kerb is on the near curb zone about a crosswalk depth from the edge for 2.9 s,
    fast and never toward the edge: no prompt, and not counted as waiting. The woman walking up to
    the kerb at an angle is warned before she steps off."""
    from edge.prewarn import PreWarner
    from edge.signal.timeline_file import load_timeline
    from edge.signal.types import SignalReading
    from edge.zones import CrosswalkGeometry, Zone
    from tests.builders import person_at, tracks

    site = load_site(ZEBRA_SITE)
    (crosswalk,) = site.crosswalks
    warner = PreWarner(site, site.actuators.prewarn.model_copy(update={"enabled": True}), 640, 360)
    geometry = CrosswalkGeometry.from_config(crosswalk, 640, 360)
    (change,) = load_timeline(ZEBRA_RED)
    red = {crosswalk.signal_group: SignalReading(change.state, change.t)}
    along, up = 1, 2
    on_curb, events = 0, []
    for frame in range(min(ALONG_THE_KERB), UP_TO_THE_KERB_ENTRY):
        rows = [person_at(track, *seen) for track, keys in ((along, ALONG_THE_KERB), (up, UP_TO_THE_KERB))
                if (seen := _labelled_at(keys, frame)) is not None]  # fmt: skip
        frame_tracks = tracks(*rows)
        if _labelled_at(ALONG_THE_KERB, frame) is not None:
            on_curb += Zone(int(geometry.classify(frame_tracks.foot_points())[0])) is Zone.CURB_B
            if frame - min(ALONG_THE_KERB) >= 30 * warner.config.speed_window_s:  # her speed is known
                assert warner.waiting["cw-zebra/near"] == 0, f"counted as waiting at frame {frame}"
        events += warner.update(frame, frame / 30, 1_765_000_000 + frame / 30, frame_tracks, red)
    assert on_curb >= 80, "the walk along the kerb is on the near curb zone for about 2.9 s"
    assert [e for e in events if e.track_id == along] == []
    warned = [e for e in events if e.track_id == up]
    assert warned and warned[0].from_curb == "near" and "toward the edge" in warned[0].reason
    assert warned[0].decided_frame < UP_TO_THE_KERB_ENTRY
