"""Enforcement suspension: the signal hub, plus the windows in which the picture cannot be trusted.

While the camera is missing, frozen or blank, what the tracker sees is not what happens on
the street, so no entry in such a window may become a violation. Rather than add a second
path through the rules, the window is expressed in the rules' own terms: for any instant
inside it the signal reads UNKNOWN with the reason, and the decision core already never
enforces under UNKNOWN. The window starts when the picture stopped being trustworthy and
ends ``settle_s`` after it is good again, so tracks can re-form before entries count.

An operator can also switch enforcement off (the MQTT ``enforcement`` command). That is a
second, separate set of windows with its own reason: a camera recovery closes only picture
windows, so it never re-enables what an operator switched off, and an operator switching
enforcement back on never hides a picture that is still bad. The operator's window opens and
closes at the frame time the service applies the request, without a settle time.

A box with several cameras shares one hub (the intersection's signals) but each camera's
picture fails on its own: ``CameraSignals`` is one camera's view of the hub, with picture
windows of its own and the box's operator windows, so a frozen camera suspends only the
crosswalks it watches.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge.signal.hub import EnforcementGap, SignalHub
from edge.signal.source import FrameClock
from edge.signal.types import SignalChange, SignalReading, SignalState

MAX_WINDOWS = 256  # windows far behind the newest one can no longer be asked about
OPERATOR = "operator"  # the reason of an operator's switch-off, followed by who asked


@dataclass
class Suspension:
    start_t: float
    reason: str
    end_t: float | None = None  # None while the picture is still bad

    def covers(self, t: float) -> bool:
        return self.start_t <= t and (self.end_t is None or t < self.end_t)


class PictureWindows:
    """Picture-fault windows: opened when the picture goes bad, closed ``settle_s`` after it is good."""

    windows: deque[Suspension]
    settle_s: float

    @property
    def open_window(self) -> Suspension | None:
        """The picture-fault window still open, if any."""
        return _open(self.windows)

    def suspended_at(self, t: float) -> Suspension | None:
        """The picture-fault window covering ``t``, if any."""
        return _covering(self.windows, t)

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


class SuspendableSignals(PictureWindows, SignalHub):
    """``SignalHub`` (built the same ways) with suspension windows laid over its readings."""

    def __init__(self, *args: Any, settle_s: float = 1.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.settle_s = settle_s
        self.windows: deque[Suspension] = deque(maxlen=MAX_WINDOWS)  # picture faults
        self.operator_windows: deque[Suspension] = deque(maxlen=MAX_WINDOWS)

    @property
    def operator_window(self) -> Suspension | None:
        """The operator's switch-off still in force, if any."""
        return _open(self.operator_windows)

    def switch_off(self, t: float, by: str) -> bool:
        """The operator switches enforcement off from ``t`` (True), or it already was (False)."""
        if self.operator_window is not None:
            return False
        self.operator_windows.append(Suspension(t, f"{OPERATOR} ({by})" if by else OPERATOR))
        return True

    def switch_on(self, t: float) -> Suspension | None:
        """The operator switches enforcement back on at ``t``; returns the window it closed, if any.

        Picture-fault windows are untouched: a bad picture stays unenforced.
        """
        current = self.operator_window
        if current is not None:
            current.end_t = max(t, current.start_t)
        return current

    def state_at(self, group: str, t: float) -> SignalReading:
        return self._reading(group, t, [self.windows, self.operator_windows])

    def observed_state_at(self, group: str, t: float) -> SignalReading:
        """The signal as the box sees it, for status: an operator switch-off does not hide the real state."""
        return self._reading(group, t, [self.windows])

    def _reading(self, group: str, t: float, window_lists: list[deque[Suspension]]) -> SignalReading:
        return _reading(SignalHub.state_at(self, group, t), t, window_lists)

    def enforcement_gaps(self) -> list[EnforcementGap]:
        """The hub's UNKNOWN periods plus every suspension window (picture or operator), per signal group."""
        groups = self.history.groups
        windows = [
            EnforcementGap(group, w.start_t, w.end_t, f"enforcement suspended: {w.reason}")
            for w in [*self.windows, *self.operator_windows]
            for group in groups
        ]
        return sorted([*super().enforcement_gaps(), *windows], key=lambda g: (g.start, g.group))


class CameraSignals(PictureWindows):
    """One camera's view of the box's ``SuspendableSignals``: the hub's readings and operator switch,
    this camera's picture windows only.

    Every camera's pipeline updates the hub; an update older than the hub's newest (frames of
    several cameras interleave) only reads, so the shared history never steps back. Only the
    camera that ``feeds_image`` hands its picture to the sources (a vision source reads one camera).
    """

    def __init__(self, hub: SuspendableSignals, feeds_image: bool = True) -> None:
        self.hub = hub
        self.feeds_image = feeds_image
        self.windows = deque(maxlen=MAX_WINDOWS)

    def __getattr__(self, name: str) -> Any:  # sources, history, statuses, operator switch: the hub's
        return getattr(self.hub, name)

    @property
    def settle_s(self) -> float:  # type: ignore[override]
        return self.hub.settle_s

    def update(self, clock: FrameClock, image: np.ndarray | None = None) -> list[SignalChange]:
        newest = self.hub._now  # the hub's own clock: its history never steps back
        if newest is not None and clock.t < newest:
            return []
        return self.hub.update(clock, image if self.feeds_image else None)

    def state_at(self, group: str, t: float) -> SignalReading:
        return _reading(SignalHub.state_at(self.hub, group, t), t, [self.windows, self.hub.operator_windows])

    def observed_state_at(self, group: str, t: float) -> SignalReading:
        return _reading(SignalHub.state_at(self.hub, group, t), t, [self.windows])

    def enforcement_gaps(self) -> list[EnforcementGap]:
        groups = self.hub.history.groups
        windows = [
            EnforcementGap(group, w.start_t, w.end_t, f"enforcement suspended: {w.reason}")
            for w in [*self.windows, *self.hub.operator_windows]
            for group in groups
        ]
        return sorted([*SignalHub.enforcement_gaps(self.hub), *windows], key=lambda g: (g.start, g.group))


def _reading(reading: SignalReading, t: float, window_lists: list[deque[Suspension]]) -> SignalReading:
    covering = [w for w in (_covering(windows, t) for windows in window_lists) if w]
    if covering:
        reasons = "; ".join(w.reason for w in covering)
        since = max(w.start_t for w in covering)
        return SignalReading(SignalState.UNKNOWN, since, f"enforcement suspended: {reasons}")
    return reading


def _open(windows: deque[Suspension]) -> Suspension | None:
    last = windows[-1] if windows else None
    return last if last is not None and last.end_t is None else None


def _covering(windows: deque[Suspension], t: float) -> Suspension | None:
    for window in reversed(windows):
        if window.covers(t):
            return window
    return None
