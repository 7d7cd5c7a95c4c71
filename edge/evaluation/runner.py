"""Running one evaluation: replay the clip through the live decision path, then score it.

The clip goes through ``run_replay`` exactly as ``crossguard replay`` runs it (so
``replay/events.jsonl`` and ``replay/summary.json`` are written as usual); a recorder
observer keeps each frame's tracks for the tracking metrics and the pictures. The
expected events come from the labels (``groundtruth``), the scores from ``matching``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from detection.base import Detector
from detection.types import Detections
from edge.config.site import SiteConfig
from edge.evaluation.groundtruth import (
    ExpectedEvent,
    GroundTruthError,
    MotTracks,
    expected_from_tracks,
    load_expected,
    load_mot,
)
from edge.evaluation.matching import MatchResult, attribute_to_passes, match_events
from edge.evaluation.report import EvalReport, FalseWarning, Finding, KindScore, PassScore, SilentPass
from edge.evaluation.tracking import TrackingScorer
from edge.evaluation.visual import render_findings
from edge.events import CrossingEvent, EventType
from edge.pipeline import FrameResult
from edge.replay import ReplayOptions, ReplaySummary, run_replay, signal_hub
from edge.signal.types import SignalReading, SignalState
from edge.video import VideoFile

REPORT_FILE = "report.json"
TABLE_FILE = "report.txt"


@dataclass(frozen=True)
class TimelineCase:
    """A further signal timeline for a clip, scored as the sub-case ``<case>@<name>``."""

    name: str
    signal: Path


@dataclass(frozen=True)
class EvalInputs:
    """What one evaluation needs besides the site and the detector.

    ``signal`` replaces the site's own sources for the case itself; each of ``timelines``
    is scored on the same perception run. ``max_frames`` limits the clip (a camera that moves later).
    """

    name: str
    video: Path
    tracks: Path | None = None
    expected: Path | None = None
    signal: Path | None = None
    start_time: str | None = None
    tolerance_s: float = 1.0
    max_frames: int | None = None
    timelines: tuple[TimelineCase, ...] = ()

    def sub_case(self, timeline: TimelineCase) -> str:
        return f"{self.name}@{timeline.name}"

    def __post_init__(self) -> None:
        if (self.tracks is None) == (self.expected is None):
            raise GroundTruthError(f"{self.name}: give exactly one of track labels or an expected-crossings file")


@dataclass
class EvalOptions:
    out: Path
    annotate: bool = False
    thumbnails: bool = True
    progress: bool = False
    max_frames: int | None = None


@dataclass
class FrameRecord:
    """What the pictures need of a frame once the run is over (no image)."""

    tracks: Detections
    readings: dict[str, SignalReading]
    events: list[CrossingEvent]


@dataclass
class Recorder:
    """Frame observer: keeps the decided events and each frame's tracks; scores tracking live."""

    truth: MotTracks | None
    keep_frames: bool
    fps: float = 0.0
    size: tuple[int, int] = (0, 0)
    events: list[CrossingEvent] = field(default_factory=list)
    frames: list[FrameRecord] = field(default_factory=list)
    scorer: TrackingScorer | None = None

    def __post_init__(self) -> None:
        if self.truth is not None:
            self.scorer = TrackingScorer()

    def bind(self, site: SiteConfig, video: VideoFile) -> Recorder:
        self.fps, self.size = video.fps, (video.width, video.height)
        return self

    def on_frame(self, result: FrameResult) -> None:
        self.events += result.events
        if self.scorer is not None and self.truth is not None:
            self.scorer.update(self.truth.at(result.frame.index), result.tracks)
        if self.keep_frames:
            self.frames.append(FrameRecord(result.tracks, result.signal_readings, result.events))

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class GroundTruth:
    """Labelled tracks, or hand labels already checked against the site and its timeline."""

    tracks: MotTracks | None = None
    labels: list[ExpectedEvent] | None = None


def load_ground_truth(site: SiteConfig, inputs: EvalInputs) -> GroundTruth:
    """Read and check the labels before anything slow runs, so a bad file fails at once."""
    if inputs.tracks is not None:
        return GroundTruth(tracks=load_mot(inputs.tracks))
    assert inputs.expected is not None
    probe = VideoFile(inputs.video, fallback_fps=site.camera.fps)
    probe.close()
    signals = signal_hub(site, _replay_options(inputs, Path("."), False, None))
    try:
        return GroundTruth(labels=load_expected(inputs.expected, site, signals, probe.fps, probe.frame_count))
    finally:
        signals.close()


def _replay_options(inputs: EvalInputs, out: Path, progress: bool, max_frames: int | None) -> ReplayOptions:
    return ReplayOptions(
        video=inputs.video,
        out=out,
        signal=inputs.signal,
        start_time=inputs.start_time,
        progress=progress,
        max_frames=max_frames,
    )


def run_eval(
    site: SiteConfig,
    detector: Detector,
    inputs: EvalInputs,
    options: EvalOptions,
    truth: GroundTruth | None = None,
) -> EvalReport:
    """Replay, score and write ``report.json`` / ``report.txt`` (plus thumbnails, annotated video)."""
    truth = truth or load_ground_truth(site, inputs)
    recorder = Recorder(truth.tracks, keep_frames=options.annotate)
    limits = [n for n in (inputs.max_frames, options.max_frames) if n]
    replay = _replay_options(inputs, options.out / "replay", options.progress, min(limits) if limits else None)
    replay.extra_observers.append(recorder.bind)
    summary = run_replay(site, detector, replay)
    expected = _expected(site, replay, recorder, truth, summary.frames)
    diagonal = float(np.hypot(*recorder.size))
    report = score(inputs, summary, expected, recorder.events, inputs.tolerance_s, diagonal)
    if recorder.scorer is not None:
        report.tracking = recorder.scorer.result()
    if options.thumbnails or options.annotate:
        render_findings(site, inputs.video, report, recorder.frames, options.out, options.thumbnails, options.annotate)
    write_report(report, options.out)
    return report


def _expected(
    site: SiteConfig, replay: ReplayOptions, recorder: Recorder, truth: GroundTruth, frames: int
) -> list[ExpectedEvent]:
    if truth.labels is not None:
        return [e for e in truth.labels if e.entry_frame < frames]  # a --max-frames run is scored on what it saw
    assert truth.tracks is not None
    signals = signal_hub(site, replay)
    try:
        width, height = recorder.size
        return expected_from_tracks(site, truth.tracks, signals, recorder.fps, width, height, frames)
    finally:
        signals.close()


def score(
    inputs: EvalInputs,
    summary: ReplaySummary,
    expected: list[ExpectedEvent],
    reported: list[CrossingEvent],
    tolerance_s: float,
    diagonal: float = 0.0,
) -> EvalReport:
    """Match violations and crossings separately; count warnings given to people who had WALK.

    An ambiguous entry takes part in both matchings, so neither a crossing nor a violation
    recorded for it counts either way. Records that match no pedestrian are attributed to a
    rider or along-the-road pass nearby, which must have produced none.
    """
    people = [e for e in expected if not e.must_be_silent]
    crossings = [e for e in reported if e.type is EventType.CROSSING]
    violations = [e for e in reported if e.type is EventType.VIOLATION]
    by_crossings = match_events(people, crossings, tolerance_s, diagonal)
    judged = [e for e in people if e.violation or not e.required]
    by_violations = match_events(judged, violations, tolerance_s, diagonal)
    unmatched = by_crossings.false_records + by_violations.false_records
    passes = attribute_to_passes([e for e in expected if e.must_be_silent], unmatched, tolerance_s, diagonal)
    return EvalReport(
        case=inputs.name,
        video=str(inputs.video),
        model=summary.model,
        frames=summary.frames,
        fps=summary.fps_achieved,
        tolerance_s=tolerance_s,
        ground_truth="tracks" if inputs.tracks is not None else "hand labels",
        violations=KindScore.of(by_violations),
        crossings=KindScore.of(by_crossings),
        findings=_findings(by_violations, EventType.VIOLATION) + _findings(by_crossings, EventType.CROSSING),
        false_warnings=false_warnings(by_crossings, by_violations),
        passes=PassScore.of(passes),
        silent_passes=[SilentPass.of(p) for p in passes if p.records],
    )


def false_warnings(crossings: MatchResult, violations: MatchResult) -> list[FalseWarning]:
    """Violation records for people whose labelled entry was on WALK or CLEARANCE (and so was allowed)."""
    allowed = (SignalState.WALK, SignalState.CLEARANCE)
    truth_of = {_entry_key(p.reported): p.expected for p in crossings.hits + crossings.ambiguous}
    out = []
    for record in violations.false_records:
        truth = truth_of.get(_entry_key(record))
        if truth is not None and not truth.violation and truth.signal_state in allowed:
            out.append(FalseWarning(record.entry_t, truth.entry_t, truth.signal_state.value, record.track_id))
    return out


def _entry_key(event: CrossingEvent) -> tuple[str, int, int]:
    """A violation and its crossing share track, crosswalk and entry frame."""
    return (event.crosswalk_id, event.track_id, event.entry_frame)


def _findings(result: MatchResult, kind: EventType) -> list[Finding]:
    misses = [Finding.missed(kind, e) for e in result.misses]
    false = [Finding.false_record(kind, e) for e in result.false_records]
    return sorted(misses + false, key=lambda f: f.entry_t)


def write_report(report: EvalReport, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / REPORT_FILE).write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    (out / TABLE_FILE).write_text(report.describe() + "\n", encoding="utf-8")
