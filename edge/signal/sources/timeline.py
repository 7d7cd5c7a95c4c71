"""Replay timeline as a signal source: every change is known up front, released as time passes."""

from __future__ import annotations

import numpy as np

from edge.config.signal import TimelineSourceConfig
from edge.signal.source import FrameClock, SignalSource
from edge.signal.sources import register
from edge.signal.timeline_file import load_timeline
from edge.signal.types import SignalChange


@register("timeline")
class TimelineSource(SignalSource):
    prerecorded = True

    def __init__(self, name: str, changes: list[SignalChange]) -> None:
        super().__init__(name)
        self._pending = sorted(changes, key=lambda c: c.t)
        self._next = 0

    @classmethod
    def from_config(cls, config: TimelineSourceConfig) -> TimelineSource:
        return cls(f"timeline:{config.path.name}", load_timeline(config.path, config.start_time))

    def poll(self, clock: FrameClock, image: np.ndarray | None) -> list[SignalChange]:
        released = []
        while self._next < len(self._pending) and self._pending[self._next].t <= clock.t:
            released.append(self._pending[self._next])
            self._next += 1
        return released
