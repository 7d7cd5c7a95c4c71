"""Combines the configured signal sources into the one history the decision core reads."""

from __future__ import annotations

import numpy as np

from edge.signal.source import FrameClock, SignalSource, SourceStatus
from edge.signal.timeline import SignalHistory
from edge.signal.types import SignalChange, SignalReading


class SignalHub:
    """Polls every source once per frame and records their changes in ``history``."""

    def __init__(self, sources: list[SignalSource], horizon_s: float = 600.0) -> None:
        self.sources = sources
        self.history = SignalHistory(horizon_s=horizon_s)

    def update(self, clock: FrameClock, image: np.ndarray | None = None) -> list[SignalChange]:
        changes = []
        for source in self.sources:
            for change in source.poll(clock, image):
                self.history.add(change)
                changes.append(change)
        return changes

    def state_at(self, group: str, t: float) -> SignalReading:
        return self.history.state_at(group, t)

    def statuses(self) -> list[SourceStatus]:
        return [s.status() for s in self.sources]

    def close(self) -> None:
        for source in self.sources:
            source.close()
