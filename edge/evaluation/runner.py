"""Running one evaluation: replay the clip through the live decision path, then score it.

The clip goes through ``run_replay`` exactly as ``crossguard replay`` runs it (so
``replay/events.jsonl`` and ``replay/summary.json`` are written as usual); a recorder
observer keeps each frame's tracks for the tracking metrics, the pictures and the case's
further timelines. Each of those re-runs only the decision core on the recorded tracks
(``decisions``) and is scored as its own sub-case. The expected events come from the
labels (``groundtruth``), the scores from ``matching``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from detection.base import Detector
from detection.region import Region
from detection.types import Detections
from edge.config.site import SiteConfig
from edge.evaluation.corruptions import Variant, frame_rng
from edge.evaluation.decisions import TrackedFrame, decide_on_tracks
from edge.evaluation.groundtruth import (
    ExpectedEvent,
    GroundTruthError,
    MotTracks,
    ambiguous_near_changes,
    expected_from_tracks,
    labels_under_timeline,
    load_expected,
    load_mot,
)
from edge.evaluation.matching import MatchResult, attribute_to_passes, match_events
from edge.evaluation.report import EvalReport, FalseWarning, Finding, KindScore, PassScore, SilentPass
from edge.evaluation.tracking import TrackingScorer
from edge.evaluation.visual import render_findings
from edge.events import CrossingEvent, EventType
from edge.pipeline import Frame, FrameResult
from edge.replay import EVENTS_FILE, ReplayOptions, ReplaySummary, run_replay, signal_hub
from edge.signal.timeline_file import load_timeline
from edge.signal.types import SignalReading, SignalState
from edge.video import VideoFile

REPORT_FILE = "report.json"
TABLE_FILE = "report.txt"
TIMELINES_DIR = "timelines"


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
    variant: Variant | None = None  # a corruption applied to every frame; None = the clip as recorded


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
    tracked: list[TrackedFrame] = field(default_factory=list)
    scorer: TrackingScorer | None = None

    def bind(self, site: SiteConfig, video: VideoFile) -> Recorder:
        self.fps, self.size = video.fps, (video.width, video.height)
        if self.truth is not None:
            scale = np.array([video.width, video.height], np.float64)
            self.scorer = TrackingScorer([np.asarray(c.polygon, np.float64) * scale for c in site.crosswalks])
        return self

    def on_frame(self, result: FrameResult) -> None:
        self.events += result.events
        frame = result.frame
        if self.tracked and self.tracked[-1].index == frame.index:
            # The end-of-stream result repeats the last frame with the events it flushed.
            if self.keep_frames and self.frames:
                self.frames[-1].events.extend(result.events)
            return
        self.tracked.append(TrackedFrame(frame.index, frame.t, frame.utc, result.tracks, result.riders, result.dark))
        if self.scorer is not None and self.truth is not None:
            self.scorer.update(_in_region(self.truth.at(frame.index), result.region), result.tracks)
        if self.keep_frames:
            self.frames.append(FrameRecord(result.tracks, result.signal_readings, result.events))

    def close(self) -> None:
        pass


def _in_region(truth: Detections, region: Region | None) -> Detections:
    """The labelled people the detector was shown: those standing inside its detection region.

    On a large frame the detector looks only at the zones plus margins (``detector.crop``), by
    design; people elsewhere are never tracked, so counting them as misses would measure the
    crop, not the tracker. Like a MOTChallenge ignore region, they are left out of the figures.
    """
    if region is None or not len(truth):
        return truth
    feet = truth.foot_points()
    x, y = feet[:, 0], feet[:, 1]
    inside = (x >= region.x0) & (x < region.x1) & (y >= region.y0) & (y <= region.y1)
    return truth[inside]


@dataclass(frozen=True)
class GroundTruth:
    """Labelled tracks, or hand labels already checked against the site and its timeline."""

    tracks: MotTracks | None = None
    labels: list[ExpectedEvent] | None = None


def load_ground_truth(site: SiteConfig, inputs: EvalInputs) -> GroundTruth:
    """Read and check the labels and timelines before anything slow runs, so a bad file fails at once."""
    for timeline in inputs.timelines:
        _check_groups(site, timeline, inputs.start_time)
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


def _check_groups(site: SiteConfig, timeline: TimelineCase, start_time: str | None) -> None:
    """A timeline silent about a crosswalk's group would leave it UNKNOWN, so nothing there is enforced."""
    given = {c.group for c in load_timeline(timeline.signal, start_time)}
    missing = sorted({c.signal_group for c in site.crosswalks} - given)
    if missing:
        raise GroundTruthError(
            f"{timeline.signal}: gives no state for signal group(s) {', '.join(missing)} of the site's crosswalks"
        )


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
) -> list[EvalReport]:
    """Replay once, then score the case and each of its timelines: one report each, the case's first.

    Writes ``report.json`` / ``report.txt`` (plus thumbnails, annotated video) in ``options.out``,
    and those of each timeline, with its ``events.jsonl``, in ``options.out/timelines/<name>``.
    """
    truth = truth or load_ground_truth(site, inputs)
    recorder = Recorder(truth.tracks, keep_frames=options.annotate)
    limits = [n for n in (inputs.max_frames, options.max_frames) if n]
    replay = _replay_options(inputs, options.out / "replay", options.progress, min(limits) if limits else None)
    replay.extra_observers.append(recorder.bind)
    if options.variant is not None:
        replay.frame_transform = corrupted_frames(inputs.name, options.variant)
    summary = run_replay(site, detector, replay)
    expected = _expected(site, replay, recorder, truth, summary.frames, inputs.tolerance_s)
    diagonal = float(np.hypot(*recorder.size))
    report = score(inputs, summary, expected, recorder.events, inputs.tolerance_s, diagonal)
    if recorder.scorer is not None:
        report.tracking = recorder.scorer.result()
    if options.variant is not None:
        report.variant = options.variant.name
    if options.thumbnails or options.annotate:
        pictures = (options.out, options.thumbnails, options.annotate, replay.frame_transform)
        render_findings(site, inputs.video, report, recorder.frames, *pictures)
    write_report(report, options.out)
    seen = (recorder, summary, report.variant)  # each timeline is scored on the pictures this run saw
    return [report, *(_run_timeline(site, inputs, options, truth, *seen, t) for t in inputs.timelines)]


def _run_timeline(
    site: SiteConfig,
    inputs: EvalInputs,
    options: EvalOptions,
    truth: GroundTruth,
    recorder: Recorder,
    summary: ReplaySummary,
    variant: str,
    timeline: TimelineCase,
) -> EvalReport:
    """The decision core alone on the recorded tracks under another timeline, scored as ``<case>@<name>``."""
    out = options.out / TIMELINES_DIR / timeline.name
    replay = _replay_options(replace(inputs, signal=timeline.signal), out, False, None)
    signals = signal_hub(site, replay)
    try:
        events = decide_on_tracks(site, recorder.tracked, signals, *recorder.size)
    finally:
        signals.close()
    out.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(e.to_dict(), sort_keys=True, separators=(",", ":")) + "\n" for e in events]
    (out / EVENTS_FILE).write_text("".join(lines), encoding="utf-8")
    expected = _expected(site, replay, recorder, truth, summary.frames, inputs.tolerance_s, alternate=True)
    diagonal = float(np.hypot(*recorder.size))
    report = score(inputs, summary, expected, events, inputs.tolerance_s, diagonal)
    report.case, report.timeline, report.variant = inputs.sub_case(timeline), timeline.name, variant
    if options.thumbnails and report.findings:
        transform = corrupted_frames(inputs.name, options.variant) if options.variant is not None else None
        render_findings(site, inputs.video, report, recorder.frames, out, True, False, transform)
    write_report(report, out)
    return report


def corrupted_frames(case: str, variant: Variant) -> Callable[[Frame], Frame]:
    """Each frame under the variant, its noise seeded by (case, variant, frame index): runs repeat exactly."""

    def apply(frame: Frame) -> Frame:
        return replace(frame, image=variant.apply(frame.image, frame_rng(case, variant.name, frame.index)))

    return apply


def _expected(
    site: SiteConfig,
    replay: ReplayOptions,
    recorder: Recorder,
    truth: GroundTruth,
    frames: int,
    tolerance_s: float,
    alternate: bool = False,
) -> list[ExpectedEvent]:
    """What should have been recorded under ``replay``'s timeline, on the frames the run saw.

    Under an alternate timeline, entries near a phase change are ambiguous (``labels_under_timeline``).
    """
    if truth.labels is not None and not alternate:
        return [e for e in truth.labels if e.entry_frame < frames]  # a --max-frames run is scored on what it saw
    signals = signal_hub(site, replay)
    try:
        if truth.labels is not None:
            labels = labels_under_timeline(truth.labels, site, signals, recorder.fps, frames, tolerance_s)
            return [e for e in labels if e.entry_frame < frames]
        assert truth.tracks is not None
        width, height = recorder.size
        expected = expected_from_tracks(site, truth.tracks, signals, recorder.fps, width, height, frames)
        return ambiguous_near_changes(expected, site, signals, tolerance_s) if alternate else expected
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
    recorded for it counts either way; one whose verdict alone is ambiguous (near a phase
    change) is a required crossing and an ambiguous violation. Records that match no
    pedestrian are attributed to a rider or along-the-road pass nearby, which must have
    produced none.
    """
    people = [e for e in expected if not e.must_be_silent]
    crossings = [e for e in reported if e.type is EventType.CROSSING]
    violations = [e for e in reported if e.type is EventType.VIOLATION]
    by_crossings = match_events(people, crossings, tolerance_s, diagonal)
    judged = [
        replace(e, required=e.required and not e.ambiguous_verdict)
        for e in people
        if e.violation or not e.required or e.ambiguous_verdict
    ]
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
