"""One camera of the live service: its capture, detection gate, pipeline and picture checks.

A box watching an intersection runs one ``CameraUnit`` per camera of the site, all in one
frame loop (``edge.service``). Each unit is single-camera code fed the site's view of its
camera (``SiteConfig.for_camera``): its own tracker and decision core, its own detection region
and motion gate, its own picture monitor and enforcement suspension (``CameraSignals``), so a
frozen or starved camera stops enforcement only on the crosswalks it watches. The detector
(one ONNX Runtime session), the signal hub and the outputs are the box's and shared.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from detection.base import Detector
from detection.packing import Request
from detection.types import Detections
from edge.capture import Capture, CaptureState, Grabbed, open_source
from edge.capture.base import resolve_spec, source_kind
from edge.capture.picture import PictureMonitor, PictureState
from edge.config.camera import CameraConfig
from edge.config.site import SiteConfig
from edge.enforcement import CameraSignals, SuspendableSignals
from edge.gating import GatedDetector
from edge.observers import OutputAdapter, SnapshotObserver
from edge.ops.metrics import ServiceMetrics
from edge.ops.status import CameraStatus
from edge.pipeline import Frame, Pipeline

log = logging.getLogger(__name__)

SPARSE_WINDOW_S = 5.0  # frame rate is judged over this much frame time


class CameraUnit:
    def __init__(
        self,
        site: SiteConfig,
        site_path: Path,
        detector: Detector,
        hub: SuspendableSignals,
        observers: list[OutputAdapter],
        metrics: ServiceMetrics,
        feeds_image: bool,
        clock_t: Callable[[float], tuple[float, float]],
        named: bool = False,
        on_picture: Callable[[], None] = lambda: None,
    ) -> None:
        """``site`` is this camera's view; ``clock_t`` maps a capture monotonic time to (t, utc);
        ``named``: suspension reasons name the camera (a box with several); ``on_picture`` is
        called as soon as the picture's state has been judged (the service exports it at once)."""
        self.site = site
        self._named = named
        self._on_picture = on_picture
        self.camera: CameraConfig = site.camera
        self.id = self.camera.id
        self.config = site.service
        self.metrics = metrics
        self._clock_t = clock_t
        self.gate = GatedDetector(detector, self.config.performance, site)
        self.signals = CameraSignals(hub, feeds_image)
        self.snapshot = SnapshotObserver(site)
        self.observers = [*observers, self.snapshot]
        self.pipeline = Pipeline(site, self.gate if self.gate.active else detector, self.signals, self.observers)
        self.gate.attach(self.pipeline.tracker)
        self.picture = PictureMonitor(self.config.picture)
        self.capture = self._build_capture(site_path)
        self.frames = 0
        self.picture_state = "ok"
        self.captured_mono = 0.0
        self.last_frame: tuple[float, float] | None = None  # (mono, t) of the last processed frame
        self._last_seq: int | None = None  # the capture's number of the last processed frame
        self.fps = 0.0
        self._fps_window = (time.monotonic(), 0)
        self._recent_t: deque[float] = deque()  # frame times of the last SPARSE_WINDOW_S, for min_camera_fps
        self._first_t: float | None = None
        self._sparse = False

    def _build_capture(self, site_path: Path) -> Capture:
        spec = resolve_spec(self.camera.source, site_path.parent)
        cfg = self.config.capture
        # A file read as fast as possible is a bench input: hand over every frame, drop none.
        drop_stale = not (source_kind(spec) == "file" and not cfg.realtime)
        open_source(spec, cfg, self.camera.fps)  # fail now on an empty or unknown source
        depth = cfg.buffer_frames or (3 if self._named else 1)
        return Capture(lambda: open_source(spec, cfg, self.camera.fps), cfg, drop_stale=drop_stale, depth=depth)

    def apply_zones(self, site: SiteConfig) -> None:
        """This camera's zones from a freshly saved site (its view), from the next frame on."""
        self.site = site
        self.pipeline.apply_zones(site)

    # -- the frame path -------------------------------------------------------------------------

    def process(self, grabbed: Grabbed, t: float, utc: float) -> None:
        """One frame, detected by this camera alone."""
        self.prepare(grabbed, t)
        self.finish(grabbed, t, utc)

    def prepare(self, grabbed: Grabbed, t: float) -> None:
        """The frame's picture and rate checks, before anything is detected on it."""
        if self.last_frame is None or self.picture_state == PictureState.MISSING.value:
            self.picture.reset()  # the first picture after a gap may repeat the last one
        self._check_picture(grabbed, t)
        self._check_rate(t)
        self._on_picture()
        self.captured_mono = grabbed.mono
        # Behind on this live camera: stale frames were dropped (a gap in the capture's numbering),
        # or its next frame is already waiting while this one has not been looked at. (A file read
        # without dropping always has the next frame waiting, and is never behind.)
        dropped = self._last_seq is not None and grabbed.seq - self._last_seq > 1
        self.gate.behind = dropped or (self.capture.drop_stale and self.capture.waiting > 0)
        self._last_seq = grabbed.seq

    def plan(self, grabbed: Grabbed) -> Detections | Request:
        """The frame's coasted tracks (detection skipped) or the region to detect on with other cameras'."""
        return self.gate.plan(grabbed.image, packed=True)

    def finish(
        self, grabbed: Grabbed, t: float, utc: float, found: Detections | None = None, detect_ms: float = 0.0
    ) -> None:
        """The frame through tracking and the rules; ``found``: its detections when made with other
        cameras', ``detect_ms`` its share of their inference time."""
        self.pipeline.process(Frame(grabbed.seq, t, utc, grabbed.image), found, detect_ms)
        self.last_frame = (grabbed.mono, t)
        self.frames += 1
        self.metrics.frame_age_seconds.observe(time.monotonic() - grabbed.mono)
        self.metrics.camera_frames_processed.labels(self.id).inc()
        self._update_fps()

    def _check_picture(self, grabbed: Grabbed, t: float) -> None:
        check = self.picture.check(grabbed.image, t)
        if check.state is PictureState.OK:
            self._set_picture(PictureState.OK, t, "")
        else:
            since = check.since if check.since is not None else t
            self._set_picture(check.state, since, check.detail)

    def _check_rate(self, t: float) -> None:
        """Frames too sparse to judge entries (``service.min_camera_fps``) suspend this camera's crosswalks."""
        floor = self.config.min_camera_fps
        if floor <= 0:
            return
        self._first_t = t if self._first_t is None else self._first_t
        self._recent_t.append(t)
        while self._recent_t and self._recent_t[0] <= t - SPARSE_WINDOW_S:
            self._recent_t.popleft()
        if t - self._first_t < SPARSE_WINDOW_S:
            return  # not enough frame time yet to judge the rate
        rate = len(self._recent_t) / SPARSE_WINDOW_S
        sparse = rate < floor
        if sparse and self.picture_state == PictureState.OK.value:
            detail = f"frames too sparse: {rate:.1f} fps < {floor:g} (service.min_camera_fps)"
            if self.signals.suspend(t, detail):
                self.metrics.suspensions.labels("sparse").inc()
                log.warning("camera %s: enforcement SUSPENDED from t=%.2f: %s", self.id, t, detail)
        elif not sparse and self._sparse and self.picture_state == PictureState.OK.value:
            self._resume(t)
        self._sparse = sparse

    def check_missing(self, now: float) -> None:
        stats = self.capture.stats
        silent = self.last_frame is None or now - self.last_frame[0] > self.config.capture.read_timeout_s
        if stats.state is CaptureState.LIVE and not silent:
            return
        if self.last_frame is None and stats.state is CaptureState.CONNECTING:
            return  # still starting up: nothing was ever enforced
        last_t = self.last_frame[1] if self.last_frame is not None else self._clock_t(now)[0]
        reason = f"camera lost: {stats.last_error}" if stats.last_error else "camera delivers no frames"
        self._set_picture(PictureState.MISSING, last_t, reason)
        self._on_picture()

    def _set_picture(self, state: PictureState, t: float, detail: str) -> None:
        previous, self.picture_state = self.picture_state, state.value
        if state is PictureState.OK:
            if previous != state.value and not self._sparse:
                self._resume(t)
        elif self.signals.suspend(t, f"camera {self.id}: {detail}" if self._named else detail):
            self.metrics.suspensions.labels(state.value).inc()
            log.warning("camera %s: enforcement SUSPENDED from t=%.2f: %s", self.id, t, detail)

    def _resume(self, t: float) -> None:
        window = self.signals.resume(t)
        if window is not None:
            log.warning(
                "camera %s: enforcement resumed at t=%.2f (suspended %.1f s: %s)",
                self.id,
                t,
                t - window.start_t,
                window.reason,
            )

    def _update_fps(self) -> None:
        since, frames = self._fps_window
        now = time.monotonic()
        if now - since >= 2.0:
            self.fps = (self.frames - frames) / (now - since)
            self._fps_window = (now, self.frames)

    # -- status ---------------------------------------------------------------------------------

    def status(self) -> CameraStatus:
        stats = self.capture.stats
        window = self.signals.open_window
        return CameraStatus(
            state=stats.state.value,
            source=self.capture.label,
            error=stats.last_error,
            frames_captured=stats.frames_read,
            frames_dropped=stats.frames_dropped,
            frames_processed=self.frames,
            reconnects=stats.reconnects,
            fps=round(self.fps, 2),
            picture=self.picture_state,
            enforcement_suspended=window is not None,
            suspension_reason=window.reason if window is not None else "",
            crosswalks=[c.id for c in self.site.crosswalks],
        )
