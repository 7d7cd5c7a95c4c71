"""Warning policy: cooldown, quiet hours and level schedule, all from the event's own time."""

from __future__ import annotations

from datetime import time

import pytest

from actuators.base import Level
from actuators.policy import CooldownBook, Policy, Step, Verdict, Window, decide, level_at, local_time

from .conftest import BASE_UTC  # 18:00 in Asia/Shanghai, 10:00 UTC

NIGHT = Window(time(22, 0), time(6, 0))
SCHEDULE = (Step(time(7, 0), 1.0, 100), Step(time(19, 0), 0.6, 70), Step(time(23, 0), 0.3, 40))


@pytest.mark.parametrize(
    ("window", "local", "inside"),
    [
        (NIGHT, time(23, 30), True),
        (NIGHT, time(0, 0), True),
        (NIGHT, time(5, 59), True),
        (NIGHT, time(6, 0), False),
        (NIGHT, time(21, 59), False),
        (NIGHT, time(22, 0), True),
        (Window(time(12, 0), time(13, 0)), time(12, 30), True),
        (Window(time(12, 0), time(13, 0)), time(13, 0), False),
        (Window(time(12, 0), time(12, 0)), time(12, 0), False),  # empty span
    ],
)
def test_window_contains(window: Window, local: time, inside: bool) -> None:
    assert window.contains(local) is inside


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (time(6, 59), Level(0.3, 40, True)),  # before the first step, last night's step still holds
        (time(7, 0), Level(1.0, 100, True)),
        (time(18, 59), Level(1.0, 100, True)),
        (time(19, 0), Level(0.6, 70, True)),
        (time(22, 30), Level(0.6, 70, False)),  # quiet hours: silent, boards keep their level
        (time(23, 15), Level(0.3, 40, False)),
        (time(3, 0), Level(0.3, 40, False)),
    ],
)
def test_level_at_follows_schedule_and_quiet_hours(local: time, expected: Level) -> None:
    policy = Policy(cooldown_s=5, quiet_hours=(NIGHT,), schedule=SCHEDULE)
    assert level_at(policy, local) == expected


def test_no_schedule_means_full_level() -> None:
    assert level_at(Policy(cooldown_s=5), time(3, 0)) == Level(1.0, 100, True)


@pytest.mark.parametrize(
    ("zone", "expected"),
    [("UTC", time(10, 0)), ("Asia/Shanghai", time(18, 0)), ("America/New_York", time(5, 0))],
)
def test_local_time_uses_site_zone(zone: str, expected: time) -> None:
    assert local_time(BASE_UTC, zone) == expected


@pytest.mark.parametrize(
    ("utc", "last", "verdict"),
    [
        (100.0, None, Verdict.WARN),
        (100.0, 95.1, Verdict.COOLDOWN),
        (100.0, 95.0, Verdict.WARN),  # exactly cooldown_s later
        (100.0, 100.0, Verdict.COOLDOWN),
        (100.0, 120.0, Verdict.WARN),  # earlier than the last warning: a replay started over
    ],
)
def test_decide_cooldown(utc: float, last: float | None, verdict: Verdict) -> None:
    assert decide(Policy(cooldown_s=5), utc, last).verdict is verdict


def test_schedule_uses_event_time_in_site_zone() -> None:
    policy = Policy(cooldown_s=0, quiet_hours=(NIGHT,), schedule=SCHEDULE, timezone="Asia/Shanghai")
    assert decide(policy, BASE_UTC, None).level == Level(1.0, 100, True)  # 18:00 local
    assert decide(policy, BASE_UTC + 5 * 3600, None).level == Level(0.3, 40, False)  # 23:00 local


def test_cooldown_book_is_per_crosswalk_and_counts_only_warnings() -> None:
    book, policy = CooldownBook(), Policy(cooldown_s=5)
    verdicts = [
        book.decide(policy, crosswalk, utc).verdict
        for crosswalk, utc in [("a", 0), ("a", 2), ("b", 3), ("a", 4.9), ("a", 5.0), ("a", 9.0), ("a", 10.0)]
    ]
    assert verdicts == [Verdict.WARN, Verdict.COOLDOWN, Verdict.WARN, Verdict.COOLDOWN, Verdict.WARN,
                        Verdict.COOLDOWN, Verdict.WARN]  # fmt: skip


def test_policy_module_is_pure() -> None:
    import ast
    import inspect

    import actuators.policy as module

    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(ast.parse(inspect.getsource(module)))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])
    }
    assert not imported & {"time", "threading", "socket", "subprocess", "asyncio"}
