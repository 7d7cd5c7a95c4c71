"""The decision path of a replay without its perception: recorded tracks → signal hub → DecisionCore.

A case's clip is detected and tracked once; every further signal timeline re-runs only this
part, on the tracks the decision core saw in that run. Labelled person tracks go the same way
to give the expected events. It does what ``Pipeline.process`` and ``Pipeline.finish`` do after
tracking: the same core, built alike, the hub polled at each frame time, and the crossings still
waiting for their signal state to settle judged on the last frame. Whatever else the pipeline
hands the core with a frame's tracks belongs in ``TrackedFrame`` too; tests/edge/eval/
test_timelines.py checks that a re-run under the case's own timeline repeats the replay exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from detection.types import Detections
from edge.config.site import SiteConfig
from edge.events import CrossingEvent
from edge.rules import DecisionCore
from edge.signal.hub import SignalHub
from edge.signal.source import FrameClock


@dataclass(frozen=True)
class TrackedFrame:
    """One frame's tracks as the decision core received them, and the frame's times."""

    index: int
    t: float
    utc: float
    tracks: Detections
    riders: frozenset[int] = frozenset()  # the track ids the pipeline flagged as riding a vehicle
    dark: bool = False  # the low-light stage found the frame dark


def decide_on_tracks(
    site: SiteConfig, frames: Iterable[TrackedFrame], signals: SignalHub, width: int, height: int
) -> list[CrossingEvent]:
    """Every event the decision core decides on these tracks under ``signals``, in order."""
    core = DecisionCore(site, width, height, settle_s=signals.revision_window_s)  # as the pipeline builds it
    events: list[CrossingEvent] = []
    last: TrackedFrame | None = None
    for frame in frames:
        signals.update(FrameClock(frame.t, frame.utc))
        events += core.update(frame.index, frame.t, frame.utc, frame.tracks, signals, frame.riders, dark=frame.dark)
        last = frame
    if last is not None:  # end of stream, as Pipeline.finish
        events += core.flush(last.index, last.t, last.utc, signals)
    return events
