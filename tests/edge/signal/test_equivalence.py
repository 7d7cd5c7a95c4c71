"""The same changes told by a timeline file, a fixed-time plan and a recorded MQTT feed read the same."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.config.signal import SignalConfig
from edge.signal.hub import SignalHub
from edge.signal.source import FrameClock
from edge.signal.types import SignalState

START_UTC = 1_779_999_995.0  # the video's first frame: 5 s into a 30 s cycle counted from UTC midnight
CYCLE = 30.0
# per group: (WALK from, CLEARANCE from, DON'T WALK from), seconds into the cycle
SPLITS = {"p1": (0.0, 8.0, 14.0), "p2": (15.0, 23.0, 27.0)}
J2735 = {SignalState.WALK: 6, SignalState.CLEARANCE: 8, SignalState.DONT_WALK: 3}
DURATION = 95.0


def expected_changes() -> list[tuple[float, str, SignalState]]:
    """Worked out by hand from the splits: (seconds from the video start, group, state)."""
    cycle_start = START_UTC - (START_UTC % 86400) % CYCLE
    rows = []
    for group, (walk, clearance, dont_walk) in SPLITS.items():
        position = START_UTC - cycle_start
        first = (
            SignalState.WALK
            if walk <= position < clearance
            else SignalState.CLEARANCE
            if clearance <= position < dont_walk
            else SignalState.DONT_WALK
        )
        rows.append((0.0, group, first))
        for k in range(5):
            for offset, state in (
                (walk, SignalState.WALK),
                (clearance, SignalState.CLEARANCE),
                (dont_walk, SignalState.DONT_WALK),
            ):
                t = cycle_start + k * CYCLE + offset - START_UTC
                if 0 < t <= DURATION:
                    rows.append((t, group, state))
    return sorted(rows)


def write_timeline(path: Path) -> None:
    lines = ["t,group,state"] + [f"{t:g},{g},{s.value}" for t, g, s in expected_changes()]
    path.write_text("\n".join(lines) + "\n")


def write_recorded_feed(path: Path) -> None:
    """A controller publishing SPaT once a second and on every change, received 40 ms later."""
    changes = expected_changes()
    instants = sorted({t for t, _, _ in changes} | {float(s) for s in range(int(DURATION) + 1)})
    lines = []
    for t in instants:
        current = {}
        for when, group, state in changes:
            if when <= t:
                current[group] = state
        payload = {
            "ts": START_UTC + t,
            "states": [{"signalGroup": int(g[1:]), "eventState": J2735[s]} for g, s in sorted(current.items())],
        }
        lines.append(json.dumps({"received": START_UTC + t + 0.04, "topic": "spat/x", "payload": json.dumps(payload)}))
    path.write_text("\n".join(lines) + "\n")


SOURCES = {
    "timeline": lambda d: {"type": "timeline", "path": str(d / "timeline.csv")},
    "fixed_time": lambda d: {
        "type": "fixed_time",
        "timezone": "UTC",
        "plans": {
            "only": {
                "cycle_s": CYCLE,
                "groups": {
                    g: {"walk_start_s": w, "walk_s": c - w, "clearance_s": dw - c} for g, (w, c, dw) in SPLITS.items()
                },
            }
        },
    },
    "recorded_feed": lambda d: {
        "type": "recorded_feed",
        "path": str(d / "feed.jsonl"),
        "groups": {"1": "p1", "2": "p2"},
    },
}


def readings(kind: str, folder: Path) -> list[tuple[str, float, SignalState, float | None]]:
    hub = SignalHub.from_config(SignalConfig.model_validate({"sources": [SOURCES[kind](folder)]}))
    fps = 10.0
    for k in range(int(DURATION * fps) + 1):
        hub.update(FrameClock(k / fps, START_UTC + k / fps))
    hub.close()
    grid = [0.05 + 0.25 * k for k in range(int(DURATION * 4) - 1)]
    return [
        (g, t, (r := hub.state_at(g, t)).state, None if r.since is None else round(r.since, 6))
        for g in SPLITS
        for t in grid
    ]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write_timeline(tmp_path / "timeline.csv")
    write_recorded_feed(tmp_path / "feed.jsonl")
    return tmp_path


def test_three_sources_read_the_same(folder: Path) -> None:
    reference = readings("timeline", folder)
    assert {s for _, _, s, _ in reference} == {SignalState.WALK, SignalState.CLEARANCE, SignalState.DONT_WALK}
    assert readings("fixed_time", folder) == reference
    assert readings("recorded_feed", folder) == reference
