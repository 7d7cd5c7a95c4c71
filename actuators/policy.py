"""When to warn and how loudly: a pure function of the event's own time.

No clock reads: the instant is the event's ``decided_utc``, so a replay of the same video
makes the same choices as the live run did. The site's time zone turns it into local time
for quiet hours and the volume/brightness schedule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timezone
from enum import Enum
from zoneinfo import ZoneInfo

from actuators.base import Level


@dataclass(frozen=True)
class Window:
    """A daily span of local time; ``end`` before ``start`` wraps past midnight."""

    start: time
    end: time

    def contains(self, local: time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


@dataclass(frozen=True)
class Step:
    """From ``start`` (local time) on, until the next step, use this level."""

    start: time
    volume: float
    brightness: int


@dataclass(frozen=True)
class Policy:
    cooldown_s: float
    quiet_hours: tuple[Window, ...] = ()
    schedule: tuple[Step, ...] = ()
    timezone: str = "UTC"


class Verdict(str, Enum):
    WARN = "warn"
    COOLDOWN = "cooldown"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    level: Level

    @property
    def warn(self) -> bool:
        return self.verdict is Verdict.WARN


def local_time(utc: float, zone: str) -> time:
    return datetime.fromtimestamp(utc, tz=timezone.utc).astimezone(ZoneInfo(zone)).time()


def level_at(policy: Policy, local: time) -> Level:
    """The schedule step in force at ``local``; before the first step the last one still holds."""
    audible = not any(w.contains(local) for w in policy.quiet_hours)
    if not policy.schedule:
        return Level(audible=audible)
    steps = sorted(policy.schedule, key=lambda s: s.start)
    current = steps[-1]  # wraps from the previous day
    for step in steps:
        if step.start <= local:
            current = step
    return Level(volume=current.volume, brightness=current.brightness, audible=audible)


def decide(policy: Policy, utc: float, last_warned_utc: float | None) -> Decision:
    """Warn unless this crosswalk was warned less than ``cooldown_s`` ago (in event time).

    An event earlier than the last warning (a replay started over) is not in cooldown.
    """
    level = level_at(policy, local_time(utc, policy.timezone))
    if last_warned_utc is not None and 0.0 <= utc - last_warned_utc < policy.cooldown_s:
        return Decision(Verdict.COOLDOWN, level)
    return Decision(Verdict.WARN, level)


class CooldownBook:
    """Last warning time per crosswalk, in event time."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}

    def decide(self, policy: Policy, crosswalk_id: str, utc: float) -> Decision:
        decision = decide(policy, utc, self._last.get(crosswalk_id))
        if decision.warn:
            self._last[crosswalk_id] = utc
        return decision
