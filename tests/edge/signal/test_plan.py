"""Fixed-time plan arithmetic: cycles, schedules by day and time, midnight and both DST changes."""

from __future__ import annotations

import itertools
import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.config.signal import FixedTimeSourceConfig
from edge.config.site import SiteConfig
from edge.signal.plan import FixedTimePlan, local_time
from edge.signal.source import FrameClock
from edge.signal.sources.fixed_time import FixedTimeSource
from edge.signal.types import SignalState
from tests.conftest import REPO

W, C, D, U = SignalState.WALK, SignalState.CLEARANCE, SignalState.DONT_WALK, SignalState.UNKNOWN
NY = "America/New_York"


def plan(**overrides: object) -> FixedTimePlan:
    config = {
        "timezone": NY,
        "plans": {
            # 70 s does not divide a day: the cycle restarts at midnight
            "day": {
                "cycle_s": 70,
                "offset_s": 10,
                "groups": {
                    "p1": {"walk_s": 7, "clearance_s": 12},
                    "p2": {"walk_start_s": 40, "walk_s": 10, "clearance_s": 8},
                },
            },
            "night": {"cycle_s": 60, "groups": {"p1": {"walk_start_s": 50, "walk_s": 20, "clearance_s": 5}}},
            "weekend": {
                "cycle_s": 100,
                "groups": {"p1": {"walk_s": 30, "clearance_s": 10}, "p2": {"walk_s": 30, "clearance_s": 10}},
            },
        },
        "schedule": [
            {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "06:00", "plan": "day"},
            {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "22:00", "plan": "night"},
            {"days": ["sat", "sun"], "start": "08:00", "plan": "weekend"},
            {"days": ["sat", "sun"], "start": "20:00", "plan": "night"},
        ],
    }
    config.update(overrides)
    return FixedTimePlan(FixedTimeSourceConfig.model_validate(config))


def local(text: str) -> float:
    return local_time(NY, text)


def wall(utc: float) -> str:
    return datetime.fromtimestamp(utc, ZoneInfo(NY)).strftime("%Y-%m-%d %H:%M:%S%z")


@pytest.mark.parametrize(
    ("when", "plan_name", "p1", "p2"),
    [
        ("2026-06-10T12:00:00", "day", W, D),  # Wednesday noon: 43200 s - 10 s offset = 617 whole cycles
        ("2026-06-10T12:00:06.9", "day", W, D),
        ("2026-06-10T12:00:07", "day", C, D),
        ("2026-06-10T12:00:19", "day", D, D),
        ("2026-06-10T12:00:40", "day", D, W),  # p2 walks from 40 s into the cycle
        ("2026-06-10T12:00:55", "day", D, C),
        ("2026-06-10T23:00:00", "night", W, U),  # night: WALK 50..70 wraps past the cycle end; p2 not timed
        ("2026-06-10T23:00:09.5", "night", W, U),
        ("2026-06-10T23:00:10", "night", C, U),
        ("2026-06-11T05:59:59", "night", W, U),  # Thursday before 06:00: still Wednesday's night plan
        ("2026-06-13T07:00:00", "night", W, U),  # Saturday 07:00: Friday's 22:00 night plan runs on
        ("2026-06-13T08:00:00", "weekend", W, W),
        ("2026-06-15T05:00:00", "night", W, U),  # Monday 05:00: Sunday's 20:00 night plan runs on
    ],
)
def test_state_at(when: str, plan_name: str, p1: SignalState, p2: SignalState) -> None:
    p = plan()
    assert p.plan_name_at(local(when)) == plan_name
    assert p.states_at(local(when)) == {"p1": p1, "p2": p2}


def test_cycle_restarts_at_midnight() -> None:
    p = plan(schedule=[], plans={"only": {"cycle_s": 70, "groups": {"p1": {"walk_s": 7, "clearance_s": 12}}}})
    # 86400 = 1234 × 70 + 20: the last cycle before midnight is cut to 20 s, then WALK starts at 00:00:00
    changes = p.changes_between(local("2026-06-10T23:59:30"), local("2026-06-11T00:00:20"))
    assert [(wall(c.utc), c.state) for c in changes] == [
        ("2026-06-10 23:59:40-0400", W),
        ("2026-06-10 23:59:47-0400", C),
        ("2026-06-10 23:59:59-0400", D),
        ("2026-06-11 00:00:00-0400", W),
        ("2026-06-11 00:00:07-0400", C),
        ("2026-06-11 00:00:19-0400", D),
    ]


def test_plan_switch_at_its_start_time() -> None:
    p = plan()
    changes = p.changes_between(local("2026-06-10T21:59:50"), local("2026-06-10T22:00:30"))
    assert [(wall(c.utc), c.group, c.state, c.plan) for c in changes] == [
        ("2026-06-10 21:59:59-0400", "p1", D, "day"),  # day plan: clearance ends 19 s into its cycle
        # night plan: 22:00:00 is 0 s into a 60 s cycle → WALK
        ("2026-06-10 22:00:00-0400", "p1", W, "night"),
        ("2026-06-10 22:00:00-0400", "p2", U, "night"),  # the night plan does not time p2
        ("2026-06-10 22:00:10-0400", "p1", C, "night"),
        ("2026-06-10 22:00:15-0400", "p1", D, "night"),
    ]


def test_spring_forward_skips_the_missing_hour() -> None:
    # 2026-03-08: 02:00 EST becomes 03:00 EDT; the Saturday→Sunday night plan runs across it
    p = plan()
    start = local("2026-03-08T01:59:40")
    changes = p.changes_between(start, start + 60)
    assert [(wall(c.utc), c.state) for c in changes] == [
        ("2026-03-08 01:59:50-0500", W),  # 50 s into the cycle
        ("2026-03-08 03:00:10-0400", C),  # 03:00:00 is 0 s into a cycle: WALK goes on, no change
        ("2026-03-08 03:00:15-0400", D),
    ]
    assert p.states_at(start + 20) == {"p1": W, "p2": U}  # one real second after 01:59:59 it is 03:00:00


def test_fall_back_repeats_the_hour() -> None:
    # 2026-11-01: 02:00 EDT becomes 01:00 EST; the wall clock runs 01:00–02:00 twice
    p = plan()
    first = local("2026-11-01T01:59:55")  # fold=0: the EDT one
    changes = p.changes_between(first, first + 20)
    assert [(wall(c.utc), c.state) for c in changes] == [
        # after the jump back 01:00:00 is 0 s into the cycle: WALK (50..70) goes on, CLEARANCE at 10 s
        ("2026-11-01 01:00:10-0500", C),
        ("2026-11-01 01:00:15-0500", D),
    ]
    assert p.states_at(first + 5) == {"p1": W, "p2": U}


@settings(max_examples=40, deadline=None)
@given(
    start=st.floats(min_value=local("2026-03-06T00:00"), max_value=local("2026-03-10T00:00")),
    span=st.floats(min_value=1, max_value=4000),
)
def test_changes_agree_with_states(start: float, span: float) -> None:
    """Walking the changes from the state at ``start`` gives the state at every later instant."""
    p = plan()
    states = p.states_at(start)
    changes = p.changes_between(start, start + span)
    for k in range(9):
        instant = start + span * k / 8
        expected = dict(states)
        for c in changes:
            if c.utc <= instant:
                expected[c.group] = c.state
        assert p.states_at(instant) == expected, wall(instant)
    for a, b in itertools.pairwise(changes):
        assert a.utc <= b.utc


def test_source_reports_changes_on_the_frame_clock() -> None:
    source = FixedTimeSource.from_config(
        FixedTimeSourceConfig(
            timezone="UTC", plans={"p": {"cycle_s": 20, "groups": {"p1": {"walk_s": 5, "clearance_s": 5}}}}
        )
    )
    base = 1_780_000_000.0  # a whole number of 20 s cycles after midnight UTC
    assert base % 86400 % 20 == 0
    seen = [c for k in range(0, 41) for c in source.poll(FrameClock(k * 0.5, base + k * 0.5), None)]
    assert [(c.t, c.state) for c in seen] == [(0.0, W), (5.0, C), (10.0, D), (20.0, W)]


def test_site_timezone_is_the_default() -> None:
    site = SiteConfig.model_validate(
        {
            "site": {"id": "s1", "name": "Main St", "device_id": "box1", "timezone": "Asia/Shanghai"},
            "crosswalks": [
                {
                    "id": "c1",
                    "signal_group": "p1",
                    "polygon": [[0.1, 0.5], [0.9, 0.5], [0.9, 0.7], [0.1, 0.7]],
                    "curbs": [
                        {"name": "n", "polygon": [[0.1, 0.4], [0.9, 0.4], [0.9, 0.5]]},
                        {"name": "s", "polygon": [[0.1, 0.7], [0.9, 0.7], [0.9, 0.8]]},
                    ],
                }
            ],
            "signal": {
                "sources": [
                    {
                        "type": "fixed_time",
                        "plans": {"p": {"cycle_s": 60, "groups": {"p1": {"walk_s": 10, "clearance_s": 5}}}},
                    }
                ]
            },
        }
    )
    assert site.signal.sources[0].timezone == "Asia/Shanghai"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schedule": [{"start": "06:00", "plan": "missing"}]}, "schedule[0].plan 'missing' is not in plans"),
        ({"schedule": []}, "several plans need a schedule"),
        ({"timezone": "Mars/Olympus"}, "not a known IANA time zone"),
        (
            {
                "plans": {"x": {"cycle_s": 30, "groups": {"p1": {"walk_s": 20, "clearance_s": 10}}}},
                "schedule": [],
            },
            "must leave DON'T WALK time",
        ),
    ],
)
def test_bad_plans_are_named(change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        plan(**change)


SITE_WITH_PLAN = """\
site: {id: s1, name: Main St, device_id: box1, timezone: America/New_York}
crosswalks:
  - id: c1
    signal_group: p1
    polygon: [[0.1, 0.5], [0.9, 0.5], [0.9, 0.7], [0.1, 0.7]]
    curbs:
      - {name: n, polygon: [[0.1, 0.4], [0.9, 0.4], [0.9, 0.5]]}
      - {name: s, polygon: [[0.1, 0.7], [0.9, 0.7], [0.9, 0.8]]}
signal:
  sources:
    - type: fixed_time
      plans:
        night: {cycle_s: 60, groups: {p1: {walk_start_s: 50, walk_s: 20, clearance_s: 5}}}
"""


def test_plan_command_lists_changes_across_the_dst_jump(tmp_path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(SITE_WITH_PLAN)
    driver = "import sys, edge.cli as c; c.COMMAND_MODULES = ['edge.commands.signal']; sys.exit(c.main())"
    args = ["signal", "plan", "--site", str(site), "--from", "2026-03-08T01:59:40", "--minutes", "0.6"]
    result = subprocess.run([sys.executable, "-c", driver, *args], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "2026-03-08T01:59:40.000-05:00  plan night: p1=DONT_WALK",
        "2026-03-08T01:59:50.000-05:00  plan night: p1 → WALK",
        "2026-03-08T03:00:10.000-04:00  plan night: p1 → CLEARANCE",
        "2026-03-08T03:00:15.000-04:00  plan night: p1 → DONT_WALK",
    ]
