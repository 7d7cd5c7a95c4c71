"""Adapter from the pipeline's per-frame result to the recorder (the pipeline's FrameObserver shape).

The pipeline reports each frame's signal *changes*; a violation's manifest needs the history
around its entry, so the adapter keeps a short signal history of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from detection.types import Detections
from edge.config.site import SiteConfig
from edge.events import CrossingEvent, EventType
from edge.signal.timeline import SignalHistory
from edge.signal.types import SignalChange, SignalReading
from evidence.recorder import EvidenceRecorder

HISTORY_BEFORE_ENTRY_S = 30.0  # signal history kept in the manifest before the pre-roll begins


class _FrameLike(Protocol):
    index: int
    t: float
    utc: float
    image: np.ndarray


class FrameResultLike(Protocol):
    """What the adapter reads from ``edge.pipeline.FrameResult``."""

    frame: _FrameLike
    tracks: Detections
    events: list[CrossingEvent]
    signal_changes: list[SignalChange]
    signal_readings: dict[str, SignalReading]


class EvidenceObserver:
    def __init__(self, recorder: EvidenceRecorder) -> None:
        self.recorder = recorder
        self.history = SignalHistory(horizon_s=recorder.config.ring_seconds + 2 * HISTORY_BEFORE_ENTRY_S)

    def on_frame(self, result: FrameResultLike) -> None:
        for change in result.signal_changes:
            self.history.add(change)
        f = result.frame
        self.recorder.on_frame(f.index, f.t, f.utc, f.image, result.tracks, result.signal_readings)
        for event in result.events:
            if event.type is EventType.VIOLATION:
                since = event.entry_t - self.recorder.config.pre_roll_s - HISTORY_BEFORE_ENTRY_S
                changes = self.history.changes(event.signal_group, since, event.decided_t)
                self.recorder.on_violation(event, changes)

    def close(self) -> None:
        self.recorder.close()


def observer_factory(model_id: str, config_hash: str) -> Callable[[SiteConfig, Any], EvidenceObserver]:
    """For ``ReplayOptions.extra_observers``: builds the recorder once the site is loaded."""

    def build(site: SiteConfig, _video: Any) -> EvidenceObserver:
        return EvidenceObserver(EvidenceRecorder.from_config(site, model_id, config_hash))

    return build
