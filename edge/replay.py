"""Replay: a recorded video and a signal timeline through the live decision path.

Writes ``events.jsonl`` as events are decided (so a failure part-way keeps everything
decided so far), ``summary.json`` at the end, and optionally an annotated MP4.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from detection.base import Detector
from edge.annotate import AnnotatedVideo
from edge.config.signal import TimelineSourceConfig
from edge.config.site import SiteConfig
from edge.gating import GatedDetector
from edge.observers import EVIDENCE_LOOKBACK_S, EvidenceObserver, WarningObserver
from edge.pipeline import Frame, FrameObserver, FrameResult, Pipeline
from edge.signal.hub import SignalHub
from edge.signal.sources import build_source
from edge.video import VideoError, VideoFile

EVENTS_FILE = "events.jsonl"
SUMMARY_FILE = "summary.json"
ANNOTATED_FILE = "annotated.mp4"
EVIDENCE_DIR = "evidence"


class EventLog:
    """Appends one JSON line per decided event, flushed at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("w", encoding="utf-8")

    def on_frame(self, result: FrameResult) -> None:
        for event in result.events:
            self._file.write(json.dumps(event.to_dict(), sort_keys=True, separators=(",", ":")) + "\n")
        if result.events:
            self._file.flush()

    def close(self) -> None:
        self._file.close()


@dataclass
class ReplayOptions:
    video: Path
    out: Path
    signal: Path | None = None
    start_time: str | None = None
    annotate: bool = False
    realtime: bool = False
    progress: bool = True
    max_frames: int | None = None
    evidence: bool = True
    actuate: bool = False
    config_hash: str = ""
    extra_observers: list[Callable[[SiteConfig, VideoFile], FrameObserver]] = field(default_factory=list)
    # Applied to each decoded frame before anything sees it (evaluation's corruption variants).
    frame_transform: Callable[[Frame], Frame] | None = None


@dataclass
class ReplaySummary:
    video: str
    frames: int
    media_fps: float
    duration_s: float
    wall_s: float
    fps_achieved: float
    realtime_factor: float
    tracks: int
    detections: int
    crossings: int
    violations: int
    stage_ms: dict[str, float]
    model: str
    status: str = "ok"
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def start_utc_of(start_time: str | None) -> float:
    """Epoch seconds of the video's first frame; without a start time, the epoch itself."""
    if not start_time:
        return 0.0
    moment = datetime.fromisoformat(start_time)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def signal_hub(site: SiteConfig, options: ReplayOptions) -> SignalHub:
    """``--signal`` replaces the site's own sources; otherwise the site's sources are used."""
    sources = None
    if options.signal is not None:
        sources = [build_source(TimelineSourceConfig(path=options.signal, start_time=options.start_time))]
    return SignalHub.from_config(site.signal, sources)


def run_replay(site: SiteConfig, detector: Detector, options: ReplayOptions) -> ReplaySummary:
    """Replay one video; raises VideoError (after writing what was decided) if it fails part-way."""
    from tqdm import tqdm

    video = VideoFile(options.video, start_utc_of(options.start_time), site.camera.fps)
    options.out.mkdir(parents=True, exist_ok=True)
    observers: list[FrameObserver] = [EventLog(options.out / EVENTS_FILE)]
    if options.annotate:
        observers.append(AnnotatedVideo(site, options.out / ANNOTATED_FILE, video.fps))
    signals = signal_hub(site, options)
    if options.evidence and site.evidence.enabled:
        observers.append(evidence_observer(site, detector, signals, options))
    if options.actuate:  # the site's real speaker and boards, driven by the recorded video
        from actuators.hub import ActuatorHub

        observers.append(WarningObserver(ActuatorHub.from_config(site)))
    observers += [make(site, video) for make in options.extra_observers]
    # Detection stride and motion gating, as the live service applies them (service.performance).
    gate = GatedDetector(detector, site.service.performance, site)
    pipeline = Pipeline(site, gate if gate.active else detector, signals, observers)
    gate.attach(pipeline.tracker)

    total = video.frame_count or None
    if options.max_frames:
        total = min(total or options.max_frames, options.max_frames)
    bar = tqdm(total=total, unit="frame", disable=not options.progress, desc=options.video.name)
    started = time.perf_counter()
    error: str | None = None
    try:
        for frame in video:
            if options.max_frames is not None and frame.index >= options.max_frames:
                break
            if options.realtime:
                _pace(started, frame.t)
            if options.frame_transform is not None:
                frame = options.frame_transform(frame)
            pipeline.process(frame)
            bar.update(1)
    except VideoError as exc:
        error = str(exc)
    finally:
        bar.close()
        pipeline.close()
        video.close()
    summary = _summarise(pipeline, video, options, time.perf_counter() - started, error)
    (options.out / SUMMARY_FILE).write_text(json.dumps(summary.to_dict(), indent=2) + "\n", encoding="utf-8")
    if error:
        raise VideoError(error)
    return summary


def evidence_observer(
    site: SiteConfig, detector: Detector, signals: SignalHub, options: ReplayOptions
) -> FrameObserver:
    """Evidence for a replay goes under its output folder, never into the box's evidence store."""
    from evidence.recorder import EvidenceRecorder

    local = site.evidence.model_copy(update={"root": options.out / EVIDENCE_DIR, "key_file": None})
    site = site.model_copy(update={"evidence": local})
    # Every frame buffered, however slow the encoder: the same clip must give the same evidence.
    recorder = EvidenceRecorder.from_config(site, detector.model_id, options.config_hash, keep_every_frame=True)
    return EvidenceObserver(recorder, signals, local.pre_roll_s + EVIDENCE_LOOKBACK_S)


def _pace(started: float, media_t: float) -> None:
    delay = media_t - (time.perf_counter() - started)
    if delay > 0:
        time.sleep(delay)


def _summarise(
    pipeline: Pipeline, video: VideoFile, options: ReplayOptions, wall: float, error: str | None
) -> ReplaySummary:
    frames = pipeline.stats.frames
    duration = frames / video.fps
    return ReplaySummary(
        video=str(options.video),
        frames=frames,
        media_fps=round(video.fps, 3),
        duration_s=round(duration, 3),
        wall_s=round(wall, 3),
        fps_achieved=round(frames / wall, 2) if wall > 0 else 0.0,
        realtime_factor=round(duration / wall, 2) if wall > 0 else 0.0,
        tracks=pipeline.stats.tracks,
        detections=pipeline.stats.detections,
        crossings=pipeline.crossings,
        violations=pipeline.violations,
        stage_ms=pipeline.stats.mean_ms(),
        model=pipeline.detector.model_id,
        status="failed" if error else "ok",
        error=error,
    )
