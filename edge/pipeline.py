"""One frame through the whole decision path: detect → track → signal → decide.

Replay and the live service both drive this class, so they share every line of
decision logic. Adapters (event log, annotation, evidence, actuators, MQTT) observe
the per-frame result; none of them can change a decision.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from detection.base import Detector
from detection.region import Region
from detection.riders import RiderAssociator
from detection.tracker import ByteTracker
from detection.types import Detections
from edge.config.site import SiteConfig
from edge.events import CrossingEvent, EventType
from edge.gating import GatedDetector
from edge.ped_call import PedCall, PedCaller
from edge.prewarn import PreWarner
from edge.rules import DecisionCore
from edge.signal.hub import SignalHub
from edge.signal.source import FrameClock
from edge.signal.types import SignalChange, SignalReading

STAGES = ("detect", "track", "signal", "decide", "observe")
FORGET_IDS_AFTER_FRAMES = 3000  # far beyond any tracker's lost-track buffer


@dataclass(frozen=True)
class Frame:
    """A picture and its time: ``t`` drives decisions, ``utc`` labels records."""

    index: int
    t: float
    utc: float
    image: np.ndarray


@dataclass
class FrameResult:
    frame: Frame
    detections: Detections
    tracks: Detections
    events: list[CrossingEvent]
    signal_changes: list[SignalChange]
    signal_readings: dict[str, SignalReading]
    timings_ms: dict[str, float]
    region: Region | None = None  # the part of the frame the detector last looked at; None: all of it
    riders: frozenset[int] = frozenset()  # track ids riding a bicycle or motorcycle (detection/riders.py)
    ped_calls: list[PedCall] = field(default_factory=list)  # pedestrian calls for the controller (edge/ped_call.py)
    dark: bool = False  # the low-light stage (detection/lowlight.py) finds the frame dark


class FrameObserver(Protocol):
    """An adapter that sees every frame's result (event log, annotator, evidence...)."""

    def on_frame(self, result: FrameResult) -> None: ...

    def close(self) -> None: ...


@dataclass
class PipelineStats:
    frames: int = 0
    stage_ms: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    events: Counter[str] = field(default_factory=Counter)
    tracks: int = 0  # distinct track ids seen
    detections: int = 0
    # id → frame last seen; forgotten long after the tracker itself drops a lost track, so a
    # service running for months keeps this small while every id is still counted once
    _recent_ids: dict[int, int] = field(default_factory=dict, repr=False)
    _pruned_at: int = field(default=0, repr=False)

    def count_tracks(self, ids: Iterable[int]) -> None:
        for track_id in ids:
            if track_id not in self._recent_ids:
                self.tracks += 1
            self._recent_ids[track_id] = self.frames
        if self.frames - self._pruned_at >= FORGET_IDS_AFTER_FRAMES:
            self._pruned_at = self.frames
            horizon = self.frames - FORGET_IDS_AFTER_FRAMES
            self._recent_ids = {k: v for k, v in self._recent_ids.items() if v >= horizon}

    def mean_ms(self) -> dict[str, float]:
        return {k: round(v / max(self.frames, 1), 3) for k, v in self.stage_ms.items()}


class Pipeline:
    """Runs the decision path on frames; built once per camera."""

    def __init__(
        self,
        site: SiteConfig,
        detector: Detector,
        signals: SignalHub,
        observers: Iterable[FrameObserver] = (),
    ) -> None:
        self.site = site
        self.detector = detector
        self.signals = signals
        self.observers = list(observers)
        self.tracker = ByteTracker(site.tracker)
        self.core: DecisionCore | None = None  # built on the first frame, when the size is known
        self.prewarner: PreWarner | None = None  # built with the core
        self.ped_caller: PedCaller | None = None  # built with the core
        self.stats = PipelineStats()
        self._last: FrameResult | None = None
        self._next_site: SiteConfig | None = None  # handed over by another thread, adopted between frames
        self._classes = tuple(site.detector.classes)
        riders = site.detector.riders
        self._vehicle_classes = tuple(riders.vehicle_classes) if riders.enabled else ()
        self.riders = RiderAssociator(riders.min_overlap, riders.confirm_s)
        self._groups = sorted({c.signal_group for c in site.crosswalks})

    def apply_zones(self, site: SiteConfig) -> None:
        """Adopt new crosswalks and rules from the next frame on (safe to call from another thread).

        The decision core is rebuilt, so people already on the crossing are judged afresh;
        the detection region and motion mask follow the new zones; tracking and signal sources
        carry on untouched.
        """
        self._next_site = site

    def process(self, frame: Frame, found: Detections | None = None, detect_ms: float = 0.0) -> FrameResult:
        """One frame through detection, tracking, signals and the rules.

        ``found``: this frame's detections when they were made elsewhere (a box with several
        cameras detects them together, edge/service.py), ``detect_ms`` this frame's share of
        that time; otherwise the pipeline's detector runs.
        """
        timings: dict[str, float] = {}
        clock = time.perf_counter
        if self._next_site is not None:
            self.site, self._next_site, self.core = self._next_site, None, None
            self._groups = sorted({c.signal_group for c in self.site.crosswalks})
            if isinstance(self.detector, GatedDetector):
                self.detector.apply_zones(self.site)
        if self.core is None:
            height, width = frame.image.shape[:2]
            self.core = DecisionCore(self.site, width, height, settle_s=self.signals.revision_window_s)
            self.prewarner = PreWarner(self.site, self.site.actuators.prewarn, width, height)
            self.ped_caller = PedCaller(self.site.crosswalks, self.site.actuators.ped_call)

        start = clock()
        if found is None:
            found = self.detector.detect(frame.image)
            detect_ms = (clock() - start) * 1000
        detections = found.of_classes(self._classes)
        timings["detect"] = detect_ms

        dark = self._is_dark(frame.image)
        start = clock()
        # Detections that already carry track ids are the tracker's own coasted tracks, given by
        # a detector that skipped this frame (edge/gating.py): already tracked, not to be matched.
        if detections.tracker_id is not None:
            tracks = detections
        else:
            tracks = self.tracker.update(detections, frame.t, None if dark else frame.image)
        timings["track"] = (clock() - start) * 1000

        start = clock()
        changes = self.signals.update(FrameClock(frame.t, frame.utc), frame.image)
        readings = {g: self.signals.state_at(g, frame.t) for g in self._groups}
        timings["signal"] = (clock() - start) * 1000

        start = clock()
        riders = self._riders(tracks, found, frame.t, measured=detections.tracker_id is None)
        events = self.core.update(frame.index, frame.t, frame.utc, tracks, self.signals, riders, dark=dark)
        ped_calls: list[PedCall] = []
        if self.prewarner is not None and self.ped_caller is not None:
            events += self.prewarner.update(frame.index, frame.t, frame.utc, tracks, readings)
            ped_calls = self.ped_caller.update(frame.t, frame.utc, self.prewarner.waiting, readings)
        timings["decide"] = (clock() - start) * 1000

        region = self.detector.region if isinstance(self.detector, GatedDetector) else None
        result = FrameResult(
            frame, detections, tracks, events, changes, readings, timings, region=region, riders=riders,
            ped_calls=ped_calls, dark=dark,
        )  # fmt: skip
        start = clock()
        for observer in self.observers:
            observer.on_frame(result)
        timings["observe"] = (clock() - start) * 1000
        self._count(result)
        self._last = result
        return result

    def _is_dark(self, image: np.ndarray) -> bool:
        """Whether the low-light stage (detection/lowlight.py) finds the frame dark, or monochrome infrared.

        There the tracker gets no picture for its torso-colour cue: the colours are gone and what
        is left is sensor noise, every torso's histogram spread evenly over the bins, so any two
        look alike, and the cue would let a lost track be revived on a box it barely overlaps
        (someone else's). The decision core keeps a found-again person's height (edge/rules.py)."""
        detector = self.detector.inner if isinstance(self.detector, GatedDetector) else self.detector
        is_dark = getattr(detector, "is_dark", None)
        return is_dark is not None and bool(is_dark(image))

    def _riders(self, tracks: Detections, found: Detections, t: float, measured: bool) -> frozenset[int]:
        """Tracks riding a vehicle; a frame the detector skipped brings no new evidence either way."""
        if not self._vehicle_classes:
            return frozenset()
        if not measured:
            return self.riders.riding(tracks)
        return self.riders.update(tracks, found.of_classes(self._vehicle_classes), t)

    def finish(self) -> FrameResult | None:
        """End of stream: crossings still waiting for their signal state are judged now, on the last frame."""
        if self.core is None or self._last is None:
            return None
        last = self._last
        events = self.core.flush(last.frame.index, last.frame.t, last.frame.utc, self.signals)
        if not events:
            return None
        result = FrameResult(
            last.frame, last.detections, last.tracks, events, [], last.signal_readings, {}, last.region, last.riders
        )
        for observer in self.observers:
            observer.on_frame(result)
        for event in events:
            self.stats.events[event.type.value] += 1
        return result

    def _count(self, result: FrameResult) -> None:
        stats = self.stats
        stats.frames += 1
        stats.detections += len(result.detections)
        for stage, ms in result.timings_ms.items():
            stats.stage_ms[stage] += ms
        if result.tracks.tracker_id is not None:
            stats.count_tracks(result.tracks.tracker_id.tolist())
        for event in result.events:
            stats.events[event.type.value] += 1

    @property
    def crossings(self) -> int:
        return self.stats.events[EventType.CROSSING.value]

    @property
    def violations(self) -> int:
        return self.stats.events[EventType.VIOLATION.value]

    def close(self) -> None:
        """Judge what is pending, then close observers (flushing what they hold) and signal sources."""
        self.finish()
        for observer in self.observers:
            observer.close()
        self.signals.close()
