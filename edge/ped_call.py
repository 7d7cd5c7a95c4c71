"""Pedestrian calls to the signal controller from the people waiting at the curbs. Pure: no I/O, no clock.

Per crosswalk, during DON'T WALK, from ``PreWarner.waiting`` (people standing on each curb):

- **enough people**: ``min_waiting`` or more on one curb, or
- **waited long enough**: a curb has had someone waiting for ``max_wait_s``; a curb empty for
  less than ``gap_s`` (a person missed by the detector for a moment) keeps its wait,

places one call for the crosswalk's signal group. One call per crosswalk per DON'T WALK phase:
a controller latches a pedestrian call until it serves the phase, so calling again asks for
nothing more. The controller decides whether and when to serve it; the box only asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from edge.config.actuators import PedCallConfig
from edge.config.crosswalk import CrosswalkConfig
from edge.signal.types import SignalReading, SignalState


class CallReason(str, Enum):
    CROWD = "crowd"  # min_waiting people on one curb
    WAITED = "waited"  # someone waiting max_wait_s


@dataclass(frozen=True)
class PedCall:
    crosswalk_id: str
    signal_group: str
    curb: str
    reason: CallReason
    waiting: int  # people on that curb when the call was placed
    waited_s: float  # how long that curb has had someone waiting
    t: float
    utc: float


class PedCaller:
    """Feeds each frame's waiting counts; returns the calls placed on this frame."""

    def __init__(self, crosswalks: list[CrosswalkConfig], config: PedCallConfig) -> None:
        self.config = config
        self.crosswalks = crosswalks
        self._since: dict[str, float] = {}  # "<crosswalk>/<curb>" → t someone started waiting there
        self._last_seen: dict[str, float] = {}  # "<crosswalk>/<curb>" → t someone was last waiting there
        self._called: set[str] = set()  # crosswalks called in their current DON'T WALK phase

    def update(
        self, t: float, utc: float, waiting: dict[str, int], readings: dict[str, SignalReading]
    ) -> list[PedCall]:
        if not self.config.enabled:
            return []
        calls = []
        for cw in self.crosswalks:
            reading = readings.get(cw.signal_group)
            if reading is None or reading.state is not SignalState.DONT_WALK:
                self._reset(cw)
                continue
            for curb in cw.curbs:
                key = f"{cw.id}/{curb.name}"
                count = waiting.get(key, 0)
                waited = self._waited(key, count, t)
                if cw.id in self._called:
                    continue
                reason = self._reason(count, waited)
                if reason is not None:
                    self._called.add(cw.id)
                    calls.append(PedCall(cw.id, cw.signal_group, curb.name, reason, count, waited, t, utc))
        return calls

    def _waited(self, key: str, count: int, t: float) -> float:
        """Seconds the curb has had someone waiting, with gaps shorter than ``gap_s`` bridged."""
        if count > 0:
            if key not in self._since or t - self._last_seen.get(key, t) > self.config.gap_s:
                self._since[key] = t
            self._last_seen[key] = t
            return t - self._since[key]
        if key in self._last_seen and t - self._last_seen[key] > self.config.gap_s:
            self._since.pop(key, None)
            self._last_seen.pop(key, None)
        return 0.0

    def _reason(self, count: int, waited: float) -> CallReason | None:
        if count >= self.config.min_waiting:
            return CallReason.CROWD
        if count > 0 and waited >= self.config.max_wait_s:
            return CallReason.WAITED
        return None

    def _reset(self, cw: CrosswalkConfig) -> None:
        self._called.discard(cw.id)
        for curb in cw.curbs:
            self._since.pop(f"{cw.id}/{curb.name}", None)
            self._last_seen.pop(f"{cw.id}/{curb.name}", None)
