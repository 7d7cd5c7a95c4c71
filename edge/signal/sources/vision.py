"""Reading the pedestrian signal heads from the camera picture (see head_classifier / head_tracker)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.config.signal import VisionHeadConfig, VisionSourceConfig
from edge.signal.head_classifier import HeadLook, HeadReading, classify, crop
from edge.signal.head_tracker import HeadStateTracker
from edge.signal.source import FrameClock, SignalSource, SourceHealth, SourceStatus
from edge.signal.sources import register
from edge.signal.types import SignalChange

_MIN_REGION_PIXELS = 16  # below this the head is too small in the picture to read at all


@dataclass
class _Head:
    config: VisionHeadConfig
    tracker: HeadStateTracker
    last: HeadReading | None = None


@register("vision")
class VisionSource(SignalSource):
    """Classifies every configured head on every frame and reports state changes per group."""

    def __init__(self, config: VisionSourceConfig) -> None:
        super().__init__(config.name)
        self.config = config
        self.heads = [
            _Head(
                h,
                HeadStateTracker(
                    config.smoothing_frames,
                    config.flash_min_hz,
                    config.flash_max_hz,
                    config.flash_cycles,
                    config.max_unknown_s,
                    countdown_clearance=h.countdown_state == "CLEARANCE",
                ),
            )
            for h in config.heads
        ]
        self._problem = "no frame yet"

    @classmethod
    def from_config(cls, config: VisionSourceConfig) -> VisionSource:
        return cls(config)

    def groups(self) -> list[str]:
        return sorted({h.group for h in self.config.heads})

    def max_delay_s(self) -> float:
        return max(h.tracker.max_delay_s for h in self.heads)

    def poll(self, clock: FrameClock, image: np.ndarray | None) -> list[SignalChange]:
        if image is None or image.ndim != 3:
            self._problem = "no colour frame to read the signal head from"
            return []
        self._problem = ""
        changes = []
        for head in self.heads:
            head.last = self.read(head.config, image)
            update = head.tracker.update(clock.t, head.last.look, head.last.reason)
            if update is not None:
                changes.append(SignalChange(update.t, head.config.group, update.state, self.name, update.reason))
        return changes

    def read(self, head: VisionHeadConfig, image: np.ndarray) -> HeadReading:
        region = crop(image, head.region)
        if region.shape[0] * region.shape[1] < _MIN_REGION_PIXELS:
            reading = classify(region[:0], self.config.calibration)
            return HeadReading(HeadLook.UNCERTAIN, reading.measurement, "region too small in this picture")
        digits = crop(image, head.countdown_region) if head.countdown_region else None
        return classify(region, self.config.calibration, digits)

    def status(self) -> SourceStatus:
        if self._problem:
            return SourceStatus(self.name, SourceHealth.DEGRADED, self._problem)
        looks = ", ".join(f"{h.config.group}: {h.last.look.value}" for h in self.heads if h.last is not None)
        return SourceStatus(self.name, SourceHealth.OK, looks)
