"""Timeline files: CSV and JSON, seconds or ISO times; every bad row named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.signal.timeline_file import TimelineError, load_timeline
from edge.signal.types import SignalState


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_with_comments(tmp_path: Path) -> None:
    path = write(tmp_path, "t.csv", "# demo\nt,group,state\n5,p1,DONT_WALK\n0,p1,WALK\n")
    changes = load_timeline(path)
    assert [(c.t, c.state) for c in changes] == [(0.0, SignalState.WALK), (5.0, SignalState.DONT_WALK)]


def test_json_with_iso_times(tmp_path: Path) -> None:
    rows = [{"t": "2026-05-01T08:00:02+00:00", "group": "p1", "state": "CLEARANCE"}]
    path = write(tmp_path, "t.json", json.dumps({"changes": rows}))
    changes = load_timeline(path, start_time="2026-05-01T08:00:00+00:00")
    assert changes[0].t == 2.0 and changes[0].state is SignalState.CLEARANCE


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("t.csv", "time,group,state\n0,p1,WALK\n", "header must name the columns"),
        ("t.csv", "t,group,state\n0,p1,PURPLE\n", "row 2: unknown signal state 'PURPLE'"),
        ("t.csv", "t,group,state\nsoon,p1,WALK\n", "row 2: time 'soon' is neither seconds nor an ISO time"),
        ("t.csv", "t,group,state\n0,,WALK\n", "row 2: empty group"),
        ("t.csv", "t,group,state\n", "no state changes"),
        ("t.json", "{not json", "not valid JSON"),
        ("t.json", '{"changes": 3}', "expected a list"),
        ("t.json", '[{"t": 0, "group": "p1"}]', "item 0: needs t, group and state"),
        ("t.csv", "t,group,state\n2026-05-01T08:00:00,p1,WALK\n", "needs the video's start time"),
        ("t.csv", "t,group,state\n0,p1,WALK\nnan,p1,DONT_WALK\n", "row 3: time 'nan' is not a finite number"),
        ("t.csv", "t,group,state\ninf,p1,WALK\n", "row 2: time 'inf' is not a finite number of seconds"),
        ("t.csv", "t,group,state\n-Infinity,p1,WALK\n", "row 2: time '-Infinity' is not a finite number"),
        ("t.csv", "t,group,state\n1e999,p1,WALK\n", "row 2: time '1e999' is not a finite number of seconds"),
        ("t.json", '[{"t": NaN, "group": "p1", "state": "WALK"}]', "item 0: time 'nan' is not a finite number"),
        ("t.json", '[{"t": Infinity, "group": "p1", "state": "WALK"}]', "item 0: time 'inf' is not a finite"),
        (
            "t.csv",
            "t,group,state\n0,p1,WALK\n5,p1,DONT_WALK\n5.0,p1,WALK\n",
            r"row 4: group 'p1' already changes at t=5 \(row 3\)",
        ),
        (
            "t.json",
            '[{"t": 3, "group": "p1", "state": "WALK"}, {"t": 3, "group": "p1", "state": "WALK"}]',
            r"item 1: group 'p1' already changes at t=3 \(item 0\)",
        ),
    ],
)
def test_bad_timelines(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(TimelineError, match=message) as info:
        load_timeline(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TimelineError, match="file not found"):
        load_timeline(tmp_path / "none.csv")


def test_same_time_in_two_groups_and_times_before_the_first_frame(tmp_path: Path) -> None:
    path = write(tmp_path, "t.csv", "t,group,state\n5,p1,WALK\n5,p2,DONT_WALK\n-30,p1,DONT_WALK\n")
    changes = load_timeline(path)
    assert [(c.t, c.group, c.state) for c in changes] == [
        (-30.0, "p1", SignalState.DONT_WALK),
        (5.0, "p1", SignalState.WALK),
        (5.0, "p2", SignalState.DONT_WALK),
    ]
