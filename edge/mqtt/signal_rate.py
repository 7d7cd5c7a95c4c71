"""A cap on signal-change reports: at most ``per_s`` per group per second, the last state always sent.

A feed that floods (or a signal flapping between two publishers) must not flood the durable outbox
and the centre with it. Changes over a group's budget are held, one per group: a newer one replaces
the held one, which goes out as soon as the group's budget allows, so the centre always ends up with
the group's latest state. Time is the frame's UTC, so replay and live behave alike.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from edge.signal.types import SignalChange

Report = tuple[SignalChange, float]  # the change and its UTC


class SignalReportLimit:
    def __init__(self, per_s: int = 2, window_s: float = 1.0) -> None:
        self.per_s = per_s
        self.window_s = window_s
        self.coalesced = 0  # changes replaced by a newer one before they could be sent
        self._sent: dict[str, deque[float]] = {}  # per group: frame UTCs of the reports in the window
        self._held: dict[str, Report] = {}

    def admit(self, reports: Iterable[Report], now_utc: float) -> list[Report]:
        """The reports to send now, oldest first: new ones within budget, then held ones the budget allows."""
        out: list[Report] = []
        for change, utc in reports:
            if change.group in self._held:
                self.coalesced += 1
            self._held[change.group] = (change, utc)
            self._release(change.group, now_utc, out)
        for group in list(self._held):
            self._release(group, now_utc, out)
        return out

    def _release(self, group: str, now_utc: float, out: list[Report]) -> None:
        sent = self._sent.setdefault(group, deque())
        while sent and now_utc - sent[0] >= self.window_s:
            sent.popleft()
        if len(sent) < self.per_s:
            sent.append(now_utc)
            out.append(self._held.pop(group))
