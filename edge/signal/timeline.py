"""Per-group state history: "what was group G's state at time t, and since when?". Pure."""

from __future__ import annotations

import bisect
from collections.abc import Iterable

from edge.signal.types import SignalChange, SignalReading, SignalState


class SignalHistory:
    """Ordered state changes per group, bounded to ``horizon_s`` behind the newest one.

    Changes may arrive late and out of order; they are inserted at their own time so an
    entry is always judged by the state at its own instant.

    Example:
        >>> h = SignalHistory()
        >>> h.add(SignalChange(0.0, "p1", SignalState.WALK))
        >>> h.add(SignalChange(10.0, "p1", SignalState.DONT_WALK))
        >>> h.state_at("p1", 12.5)
        SignalReading(state=<SignalState.DONT_WALK: 'DONT_WALK'>, since=10.0, reason='')
    """

    def __init__(self, changes: Iterable[SignalChange] = (), horizon_s: float = 600.0) -> None:
        self.horizon_s = horizon_s
        self._times: dict[str, list[float]] = {}
        self._changes: dict[str, list[SignalChange]] = {}
        for change in changes:
            self.add(change)

    @property
    def groups(self) -> list[str]:
        return sorted(self._changes)

    def add(self, change: SignalChange) -> None:
        times = self._times.setdefault(change.group, [])
        changes = self._changes.setdefault(change.group, [])
        i = bisect.bisect_right(times, change.t)
        times.insert(i, change.t)
        changes.insert(i, change)
        self._trim(change.group)

    def discard_from(self, group: str, t: float) -> None:
        """Forget ``group``'s changes at or after ``t`` (the hub rewrites them when late news arrives)."""
        times = self._times.get(group)
        if times:
            i = bisect.bisect_left(times, t)
            del times[i:], self._changes[group][i:]

    def _trim(self, group: str) -> None:
        times, changes = self._times[group], self._changes[group]
        cutoff = times[-1] - self.horizon_s
        keep_from = max(0, bisect.bisect_left(times, cutoff) - 1)  # keep the change in force at the cutoff
        if keep_from:
            del times[:keep_from], changes[:keep_from]

    def state_at(self, group: str, t: float) -> SignalReading:
        """The state in force at ``t``; ``since`` is when that run of the same state began."""
        times = self._times.get(group)
        if not times:
            return SignalReading(SignalState.UNKNOWN, None, f"no signal information for group '{group}'")
        i = bisect.bisect_right(times, t) - 1
        if i < 0:
            return SignalReading(SignalState.UNKNOWN, None, f"no signal information for group '{group}' yet")
        changes = self._changes[group]
        state, start = changes[i].state, i
        while start > 0 and changes[start - 1].state == state:
            start -= 1  # repeated reports of the same state do not restart it
        # At the start of history the state may have begun earlier; the first known time is the
        # conservative choice (a shorter time in DON'T WALK never creates a violation).
        return SignalReading(state, changes[start].t, changes[i].reason)

    def changes(self, group: str, t0: float = float("-inf"), t1: float = float("inf")) -> list[SignalChange]:
        """Changes of ``group`` within [t0, t1], plus the one in force at t0."""
        times = self._times.get(group, [])
        lo = max(0, bisect.bisect_right(times, t0) - 1)
        hi = bisect.bisect_right(times, t1)
        return list(self._changes.get(group, [])[lo:hi])
