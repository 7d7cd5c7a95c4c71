"""The pipeline adapter passes frames through and gives each violation its signal history."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from detection.types import Detections
from edge.events import CrossingEvent
from edge.observers import EvidenceObserver
from edge.signal.hub import SignalHub
from edge.signal.types import SignalChange, SignalReading
from evidence.recorder import EvidenceRecorder
from tests.evidence.builders import (
    SIGNAL_CHANGES,
    START_UTC,
    clip_frames,
    make_event,
    make_site,
    signal_states,
    t_of,
    tracks_at,
)


@dataclass
class Frame:  # the fields of edge.pipeline.Frame the adapter reads
    index: int
    t: float
    utc: float
    image: np.ndarray


@dataclass
class Result:  # the fields of edge.pipeline.FrameResult the adapter reads
    frame: Frame
    tracks: Detections
    events: list[CrossingEvent] = field(default_factory=list)
    signal_changes: list[SignalChange] = field(default_factory=list)
    signal_readings: dict[str, SignalReading] = field(default_factory=dict)


def test_observer_records_violations_with_signal_history(tmp_path: Path) -> None:
    hub = SignalHub([])
    observer = EvidenceObserver(
        EvidenceRecorder.from_config(make_site(tmp_path / "root"), "m", "h", keep_every_frame=True), hub, 15.0
    )
    event = make_event(70)
    changes_at = {round(c.t * 11.028): c for c in SIGNAL_CHANGES}
    for i, image in enumerate(clip_frames()):
        if i in changes_at:
            hub.history.add(changes_at[i])  # what the pipeline's hub holds by this frame
        observer.on_frame(
            Result(
                Frame(i, t_of(i), START_UTC + t_of(i), image),
                tracks_at(i),
                events=[event] if i == event.decided_frame else [],
                signal_changes=[changes_at[i]] if i in changes_at else [],
                signal_readings=signal_states(i),
            )
        )
    observer.close()
    (record,) = observer.recorder.records()
    manifest = json.loads((tmp_path / "root" / record.folder / "manifest.json").read_bytes())
    assert [(c["t"], c["state"]) for c in manifest["signal_history"]] == [(0.0, "WALK"), (2.0, "DONT_WALK")]
