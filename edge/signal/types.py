"""Signal states and the records that carry them. Pure: no I/O, no clock."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class SignalState(str, Enum):
    WALK = "WALK"
    CLEARANCE = "CLEARANCE"  # flashing DON'T WALK / countdown: finish crossing, do not start
    DONT_WALK = "DONT_WALK"
    UNKNOWN = "UNKNOWN"  # dark, stale, conflicting or unhealthy: never enforce

    @classmethod
    def parse(cls, text: str) -> SignalState:
        """Accept the usual spellings: ``DONT_WALK``, ``don't walk``, ``dont-walk``, ``red``..."""
        key = text.strip().upper().replace("'", "").replace("-", "_").replace(" ", "_")
        aliases = {
            "RED": "DONT_WALK",
            "STOP": "DONT_WALK",
            "GREEN": "WALK",
            "FLASHING": "CLEARANCE",
            "DARK": "UNKNOWN",
            "OFF": "UNKNOWN",
        }
        key = aliases.get(key, key)
        try:
            return cls(key)
        except ValueError:
            raise ValueError(
                f"unknown signal state '{text}'; expected one of {', '.join(s.value for s in cls)}"
            ) from None


@dataclass(frozen=True)
class SignalChange:
    """Group ``group`` showed ``state`` from time ``t`` (pipeline seconds) on."""

    t: float
    group: str
    state: SignalState
    source: str = ""
    reason: str = ""


@dataclass(frozen=True)
class SignalReading:
    """What a group showed at an instant, and since when (None: since before history began)."""

    state: SignalState
    since: float | None
    reason: str = ""

    def seconds_in_state(self, t: float) -> float | None:
        return None if self.since is None else t - self.since
