"""Enforcement suspension: the signal hub, plus the windows in which the picture cannot be trusted.

While the camera is missing, frozen or blank, what the tracker sees is not what happens on
the street, so no entry in such a window may become a violation. Rather than add a second
path through the rules, the window is expressed in the rules' own terms: for any instant
inside it the signal reads UNKNOWN with the reason, and the decision core already never
enforces under UNKNOWN. The window starts when the picture stopped being trustworthy and
ends ``settle_s`` after it is good again, so tracks can re-form before entries count.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from edge.signal.hub import EnforcementGap, SignalHub
from edge.signal.types import SignalReading, SignalState

MAX_WINDOWS = 256  # windows far behind the newest one can no longer be asked about


@dataclass
class Suspension:
    start_t: float
    reason: str
    end_t: float | None = None  # None while the picture is still bad

    def covers(self, t: float) -> bool:
        return self.start_t <= t and (self.end_t is None or t < self.end_t)


class SuspendableSignals(SignalHub):
    """``SignalHub`` (built the same ways) with suspension windows laid over its readings."""

    def __init__(self, *args: Any, settle_s: float = 1.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.settle_s = settle_s
        self.windows: deque[Suspension] = deque(maxlen=MAX_WINDOWS)

    @property
    def open_window(self) -> Suspension | None:
        last = self.windows[-1] if self.windows else None
        return last if last is not None and last.end_t is None else None

    def suspended_at(self, t: float) -> Suspension | None:
        for window in reversed(self.windows):
            if window.covers(t):
                return window
        return None

    def suspend(self, t: float, reason: str) -> bool:
        """Open a window at ``t`` (True), or keep the open one (False; its reason is updated)."""
        current = self.open_window
        if current is not None:
            current.reason = reason
            return False
        self.windows.append(Suspension(t, reason))
        return True

    def resume(self, t: float) -> Suspension | None:
        """Close the open window ``settle_s`` after ``t``; returns it, or None if none was open."""
        current = self.open_window
        if current is not None:
            current.end_t = max(t + self.settle_s, current.start_t)
        return current

    def state_at(self, group: str, t: float) -> SignalReading:
        window = self.suspended_at(t)
        if window is not None:
            return SignalReading(
                SignalState.UNKNOWN, window.start_t, f"enforcement suspended: {window.reason}"
            )
        return super().state_at(group, t)

    def enforcement_gaps(self) -> list[EnforcementGap]:
        """The hub's UNKNOWN periods plus every suspension window, for each signal group."""
        groups = self.history.groups
        windows = [
            EnforcementGap(group, w.start_t, w.end_t, f"enforcement suspended: {w.reason}")
            for w in self.windows
            for group in groups
        ]
        return sorted([*super().enforcement_gaps(), *windows], key=lambda g: (g.start, g.group))
