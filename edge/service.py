"""The live service: the one place where adapters are built from the site file and wired together.

``Service`` builds, in this order, the detector (one, shared by every camera), the signal
hub, the operator's switches, the output adapters (and the MQTT commands on them), then one
``CameraUnit`` per camera of the site (capture thread, cost-control gate, pipeline, picture
checks and enforcement suspension of its own, edge/camera_unit.py); ``start`` starts the
operations HTTP server first (so health answers at once), then the web UI on its own server
where the site's ``web`` section says, then the MQTT link and capture;
``run`` turns the frame loop, taking the newest frame of each camera in turn; ``stop`` stops
everything in reverse, flushing what the outputs hold. Decisions are made by
``edge.pipeline.Pipeline`` — the same class replay drives — and nowhere else.

Optional outputs (actuators, evidence, MQTT, web UI) are built only when their module is
importable and the site file turns them on; a missing one is logged and the service runs
without it.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, cast

from detection.base import Detector
from detection.packing import Request, detect_packed
from detection.types import Detections
from edge.announce import ANNOUNCE_FILE, AnnouncementDesk
from edge.camera_unit import CameraUnit
from edge.capture import Capture, CaptureState, Grabbed
from edge.capture.base import hide_passwords
from edge.capture.picture import PictureState
from edge.config.site import SiteConfig
from edge.enforcement import SuspendableSignals
from edge.gating import GatedDetector
from edge.observers import (
    EVIDENCE_LOOKBACK_S,
    EventJournal,
    EvidenceObserver,
    MetricsObserver,
    OutputAdapter,
    ReportObserver,
    SnapshotObserver,
    StatusHealth,
    WarningObserver,
)
from edge.operator import OPERATOR_FILE, OperatorControls
from edge.ops.clock import UNKNOWN as UNKNOWN_CLOCK
from edge.ops.clock import ClockMap, read_clock_sync
from edge.ops.files import GROUP_READ, write_private
from edge.ops.http import HttpServer, create_app
from edge.ops.metrics import ServiceMetrics
from edge.ops.sdnotify import Notifier
from edge.ops.status import AdapterHealth, CameraStatus, ServiceStatus, SignalSourceHealth
from edge.pipeline import Pipeline
from edge.signal.coverage import group_problems

log = logging.getLogger(__name__)
UNRECORDED = "no evidence was committed before the service stopped (crash, power loss, or evidence unavailable)"

STATUS_FILE = "status.json"
LIVENESS_S = 30.0  # the frame loop must turn at least this often to count as alive
CLOCK_CHECK_S = 300.0


@dataclass(frozen=True)
class RunLimits:
    """Stop after this long or this many frames (bench and test runs); None runs until stopped."""

    duration_s: float | None = None
    max_frames: int | None = None


def optional_module(module: str, what: str, enabled: bool) -> ModuleType | None:
    """Import an optional output's module, or log why the service runs without it."""
    if not enabled:
        log.info("%s: off in the site file", what)
        return None
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        log.warning("%s: not available in this installation (%s); running without it", what, exc)
        return None


def section_enabled(site: SiteConfig, name: str) -> bool:
    """Whether the site turns an output on: its ``enabled`` flag, or (actuators) any enabled device."""
    section = getattr(site, name)
    if name == "actuators":
        return any(device.enabled for device in section.devices)
    return bool(section.enabled)


class Service:
    def __init__(
        self,
        site: SiteConfig,
        site_path: Path,
        data_dir: Path | None = None,
        detector: Detector | None = None,
        config_hash: str = "",
    ) -> None:
        self.site = site
        self.config = site.service
        self.site_path = site_path
        self.data_dir = Path(data_dir or self.config.data_dir)
        self.config_hash = config_hash
        self.metrics = ServiceMetrics()
        self.clock = ClockMap()
        self.notifier = Notifier()
        self.clock_sync = UNKNOWN_CLOCK
        self._detector = detector
        self._stop = threading.Event()
        self._started = time.monotonic()
        self._heartbeat = time.monotonic()
        self._captured_mono = 0.0  # capture time of the frame in hand, for the warning latency
        self._media_utc0 = time.time()  # UTC of media time 0 for file sources
        self._turn = 0  # the camera whose frame the next round takes first
        self._rounds = 0  # rounds of frames detected together (several cameras)
        self.units: list[CameraUnit] = []
        self._mirrored: dict[str, int] = {}
        self._mirror_lock = threading.Lock()
        self.http: HttpServer | None = None
        self.web: HttpServer | None = None
        self.reporter: ReportObserver | None = None
        self._recorder: Any | None = None  # the first camera's evidence recorder, when evidence is recorded
        self._uploader: Any | None = None  # uploads evidence to the centre, when evidence.upload.url is set
        self.adapters: list[OutputAdapter] = []
        self.failed_outputs: dict[str, str] = {}  # outputs the site turns on that could not start
        self._build()

    # -- building -------------------------------------------------------------------------------

    def _build(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        detector = self._detector or self._build_detector()  # one session, shared by every camera
        self.signals = SuspendableSignals.from_config(self.site.signal)
        self.signals.settle_s = self.config.picture.resume_settle_s
        hub = self._actuator_hub()
        self.operator = OperatorControls(self.data_dir / OPERATOR_FILE, hub)  # mutes the hub if saved so
        self.warnings = WarningObserver(hub, self.metrics, lambda: self._captured_mono)
        self.announcements = AnnouncementDesk(hub, self.data_dir / ANNOUNCE_FILE)
        self.journal = EventJournal(self.data_dir / "events")
        self._build_reporter()
        self._accept_commands()
        cameras = self.site.camera_configs()
        for i, camera in enumerate(cameras):
            view = self.site.for_camera(camera.id)
            # Evidence and MQTT before the journal: a journalled violation is already in the outbox.
            observers: list[OutputAdapter] = [self.warnings, *self._evidence_observers(view, detector.model_id)]
            observers += [self.reporter] if self.reporter is not None else []
            observers += [self.journal, MetricsObserver(self.metrics)]
            unit = CameraUnit(
                view, self.site_path, detector, self.signals, observers, self.metrics,
                feeds_image=i == 0, clock_t=self._clock_t, named=len(cameras) > 1, on_picture=self._export_suspended,
            )  # fmt: skip
            self.units.append(unit)
        self.detector = detector
        self._packing = len(self.units) > 1 and self.config.performance.pack_cameras
        self._spares, self._lanes = self._spare_detectors()
        self._gather_s = 0.5 / max(c.fps for c in cameras)  # half the shortest frame interval
        self.adapters = self._distinct_adapters()
        self.metrics.on_scrape(self._export_metrics)

    # The first camera's parts, under the names a single-camera service always had.
    @property
    def gate(self) -> GatedDetector:
        return self.units[0].gate

    @property
    def pipeline(self) -> Pipeline:
        return self.units[0].pipeline

    @property
    def capture(self) -> Capture:
        return self.units[0].capture

    @property
    def snapshot(self) -> SnapshotObserver:
        return self.units[0].snapshot

    def unit(self, camera_id: str | None = None) -> CameraUnit:
        """The camera called ``camera_id`` (None: the first); KeyError names the cameras."""
        if camera_id is None:
            return self.units[0]
        found = next((u for u in self.units if u.id == camera_id), None)
        if found is None:
            raise KeyError(f"no camera '{camera_id}'; cameras are {', '.join(u.id for u in self.units)}")
        return found

    def _distinct_adapters(self) -> list[OutputAdapter]:
        """Every output once (shared ones are in every camera's pipeline); the live picture is no output."""
        seen: dict[int, OutputAdapter] = {}
        for unit in self.units:
            for observer in unit.pipeline.observers:
                if not isinstance(observer, SnapshotObserver):
                    seen.setdefault(id(observer), observer)
        return list(seen.values())

    def _spare_detectors(self) -> tuple[list[Detector], ThreadPoolExecutor | None]:
        """Sessions beside the first for the canvases of one round detected at the same time
        (``performance.parallel_canvases``); none for one camera or a detector handed in."""
        count = self.config.performance.parallel_canvases - 1
        if not self._packing or count < 1 or self._detector is not None:
            return [], None
        spares = [self._build_detector() for _ in range(count)]
        return spares, ThreadPoolExecutor(count, thread_name_prefix="detect")

    def _build_detector(self) -> Detector:
        from detection.registry import build_detector

        return build_detector(self.site.detector)

    def _optional(self, what: str, module: str, section: str, build: Callable[[ModuleType], Any]) -> Any | None:
        """Build one optional output; one that fails to build is reported, and the service runs on."""
        found = optional_module(module, what, section_enabled(self.site, section))
        if found is None:
            return None
        try:
            return build(found)
        except Exception as exc:
            log.exception("%s: could not be started; running without it", what)
            self.failed_outputs[section] = f"could not be started: {exc}"
            return None

    def _actuator_hub(self) -> Any | None:
        return self._optional(
            "warning outputs", "actuators.hub", "actuators", lambda m: m.ActuatorHub.from_config(self.site)
        )

    def _evidence_observers(self, view: SiteConfig, model_id: str) -> list[OutputAdapter]:
        """One camera's evidence: its own frame ring and writer, into the box's one evidence store."""
        recorder = self._optional(
            "evidence",
            "evidence.recorder",
            "evidence",
            lambda m: m.EvidenceRecorder.from_config(view, model_id, self.config_hash),
        )
        if recorder is None:
            return []
        if self._recorder is None:
            self._recorder = recorder
            if self.site.evidence.upload.enabled:  # one uploader for the box: every camera writes one store
                self._uploader = self._optional(
                    "evidence upload", "evidence.uploader", "evidence",
                    lambda m: m.EvidenceUploader.from_config(self.site.evidence),
                )  # fmt: skip
        if self.reporter is not None:  # each violation's evidence follows it, linked by event id
            self.reporter.follow_evidence(recorder)
        lookback = self.site.evidence.pre_roll_s + EVIDENCE_LOOKBACK_S
        return [EvidenceObserver(recorder, self.signals, lookback)]

    def _build_reporter(self) -> None:
        reporter = self._optional(
            "MQTT reporting",
            "edge.mqtt.reporter",
            "mqtt",
            lambda m: m.Reporter.from_config(self.site, self.data_dir),
        )
        if reporter is not None:
            self.reporter = ReportObserver(reporter)

    def _accept_commands(self) -> None:
        """The traffic centre's commands (enforcement, mute, test), when MQTT reporting runs."""
        if self.reporter is None:
            return
        from edge.mqtt.handlers import OperatorCommands

        OperatorCommands(self.operator, self.warnings.hub, announcements=self.announcements).register(
            self.reporter.reporter
        )

    def web_context(self) -> Any:
        """What the web UI needs from the live service."""
        from edge.web.context import WebContext

        web = self.site.web.resolved(self.site_path.parent)
        evidence = self.site.evidence
        return WebContext(
            site_path=self.site_path.resolve(),
            users_db=web.users_db,
            snapshot=lambda camera=None: self.unit(camera).snapshot.jpeg(annotated=True),
            raw_snapshot=lambda camera=None: self.unit(camera).snapshot.jpeg(annotated=False),
            status=self.status,
            apply_site=self.apply_site,
            evidence_root=evidence.root if evidence.enabled else None,
            devices=self.warnings.hub,
            live=self.live_readings,
            journal_dir=self.journal.folder,
            https=web.tls_cert is not None,
            cameras=[u.id for u in self.units] if len(self.units) > 1 else [],
            announcements=self.announcements if self.warnings.hub is not None else None,
        )

    def live_readings(self, camera: str | None = None) -> Any:
        """Per-group signal and its sources, detector time, devices, MQTT outbox, disk: for the dashboard.

        Signals as ``camera`` sees them (its own suspension over the box's hub); without one, every
        group of the site as the hub has it (the first camera's frame time and detector time).
        """
        from edge.web.live import read_live

        unit = self.unit(camera)
        whole = camera is None and len(self.units) > 1
        frame = unit.snapshot.latest_frame()
        hub = self.warnings.hub
        return read_live(
            self.signals if whole else unit.signals,
            sorted({c.signal_group for c in (self.site if whole else unit.site).crosswalks}),
            (frame.t, frame.utc) if frame is not None else None,
            unit.pipeline.stats.mean_ms().get("detect"),
            hub.health() if hub is not None else {},
            self.reporter.reporter.outbox_depth if self.reporter is not None else None,
            self._storage(),
            self.site.evidence.min_free_mb,
        )

    def apply_site(self, site: SiteConfig) -> None:
        """Zones and rules saved in the web UI take effect on the next frame, without a restart.

        Other sections (camera, detector, signal sources, outputs) are read once at start-up;
        a save that changes them is refused here, naming them, so the operator knows the box
        still runs the old ones until it is restarted.
        """
        live = ("crosswalks", "web")
        sections = [name for name in type(site).model_fields if name not in live]
        changed = [name for name in sections if getattr(site, name) != getattr(self.site, name)]
        if changed:
            raise RuntimeError(
                f"saved, but {', '.join(changed)} only change on restart (systemctl restart crossguard)"
            )
        for unit in self.units:  # only a camera whose crosswalks changed starts judging afresh
            view = site.for_camera(unit.id)
            if len(self.units) == 1 or view.crosswalks != unit.site.crosswalks:
                unit.apply_zones(view)
        self.site = site

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        http = self.config.http
        if http.enabled:
            self.http = HttpServer(create_app(self.status, self.metrics), http.host, http.port)
            self.http.start()
        self._settle_evidence_after_crash()  # before any frame: a new violation is never mistaken for one
        self._start_web_ui()
        if self.reporter is not None:
            self.reporter.reporter.start()
        if self._uploader is not None:
            self._uploader.start()  # evidence left unconfirmed by an earlier run goes first
        for unit in self.units:
            unit.capture.start()
        threading.Thread(target=self._watch_clock, name="clock", daemon=True).start()
        labels = [u.capture.label or hide_passwords(u.camera.source) for u in self.units]
        self.notifier.ready(f"started; camera {', '.join(labels)}")
        log.info("service: started (site %s, camera %s)", self.site.site.id, ", ".join(u.id for u in self.units))
        for problem in group_problems(self.site, self.site_path.parent):  # a typo would switch enforcement off
            log.warning("service: %s: %s", self.site_path, problem)

    def _settle_evidence_after_crash(self) -> None:
        """Violations a crash left without evidence get an explicit loss: to the centre, and in the index."""
        recorder = self._recorder
        if recorder is None:
            return
        if self.reporter is not None:
            self.reporter.settle_after_crash(recorder)  # those the outbox knows the centre is owed
        try:  # with or without MQTT, the journal's last days against the index
            missing = recorder.without_outcome(self.journal.recent_violations())
        except Exception:
            log.exception("evidence: could not check the journal's violations against the index")
            return
        for event_id in missing:
            recorder.note_lost(event_id, UNRECORDED)

    def _start_web_ui(self) -> None:
        """The web UI where ``web:`` says (address, port, TLS); one that cannot start is reported, not fatal."""
        pushed = self._pushed_sources()  # served on the UI's server, with its TLS
        app = optional_module("edge.web.app", "web UI", True)
        if app is None:
            for source in pushed:
                source.not_served("the web UI is not available in this installation")
            return
        web = self.site.web.resolved(self.site_path.parent)
        try:
            mounts = [source.mount for source in pushed]
            server = HttpServer(
                app.create_app(self.web_context(), web, mounts), web.host, web.port, "web UI", web.tls_cert, web.tls_key
            )
            server.start()
        except Exception as exc:  # enforcement goes on without the UI
            log.error("web UI: could not be started; running without it: %s", exc)
            self.failed_outputs["web"] = f"could not be started: {exc}"
            for source in pushed:
                source.not_served(f"the web UI could not be started: {exc}")
            return
        self.web = server
        if web.plain_http_on_network:
            log.warning(
                "web UI: served on %s without TLS: passwords and session cookies cross the network readable;"
                " set web.tls_cert and web.tls_key",
                web.host,
            )

    def _pushed_sources(self) -> list[Any]:
        """HTTP push sources without a server of their own: the web UI's server carries their route."""
        if not any(c.type == "http_push" for c in self.site.signal.sources):
            return []
        from edge.signal.sources.http_push import HttpPushSource

        return [s for s in self.signals.sources if isinstance(s, HttpPushSource) and s.server is None]

    def request_stop(self) -> None:
        """Ask the frame loop to finish the frame in hand and return (signal-handler safe)."""
        self._stop.set()

    def stop(self) -> None:
        """Stop in reverse order of start, flushing outputs; safe to call once after ``run``."""
        self.notifier.stopping()
        log.info("service: stopping")
        self._stop.set()  # also when run() ended at its limits: the clock watcher ends with it
        for unit in self.units:
            # Every camera at once: stopped one after another, the later ones would go on filling
            # buffers nobody takes from while the earlier threads are joined, and count stale drops.
            unit.capture.request_stop()
        for unit in self.units:
            unit.capture.stop()
        if self._lanes is not None:
            self._lanes.shutdown(wait=True)
        for unit in self.units:
            unit.pipeline.finish()  # crossings still waiting for their signal state are judged now
        for observer in [*self.adapters, *(u.snapshot for u in self.units)]:
            observer.close()  # each once, though shared: warnings, journal, evidence, MQTT outbox flush
        self.signals.close()
        if self._uploader is not None:
            self._uploader.stop()
        self._write_status()
        for server in (self.web, self.http):
            if server is not None:
                server.stop()
        self.notifier.close()
        log.info("service: stopped after %d frames", self.frames)

    # -- the frame loop -------------------------------------------------------------------------

    @property
    def frames(self) -> int:
        """Frames processed, every camera together."""
        return sum(u.frames for u in self.units)

    def run(self, limits: RunLimits = RunLimits()) -> None:
        started = time.monotonic()
        next_status = started + self.config.status_interval_s
        watchdog_every = Notifier.watchdog_interval_s()
        next_watchdog = started
        while not self._stop.is_set():
            processed = self._round()
            now = time.monotonic()
            self._heartbeat = now
            if not processed:
                if all(u.capture.finished for u in self.units):
                    log.info("service: source finished")
                    break
                self._wait_for_frame()
            if watchdog_every is not None and now >= next_watchdog:
                self.notifier.watchdog()
                next_watchdog = now + watchdog_every
            if now >= next_status:
                self._report_status()
                next_status = now + self.config.status_interval_s
            if self._limit_reached(limits, now - started):
                break

    def _round(self) -> bool:
        """The newest frame of each camera, once round, starting one camera further each time.

        Each capture thread keeps only its newest frame (a live source), so a box that cannot
        keep up drops stale frames on every camera alike, counted per camera; none waits on
        another: a camera without a frame is passed over (and checked for a missing picture).
        """
        count = len(self.units)
        ready: dict[CameraUnit, Grabbed] = {}
        for k in range(count):
            unit = self.units[(self._turn + k) % count]
            grabbed = unit.capture.get(timeout=0)
            if grabbed is not None:
                ready[unit] = grabbed
            elif not unit.capture.finished:
                unit.check_missing(time.monotonic())
        self._turn = (self._turn + 1) % count
        if ready:
            self._process(self._gather(ready))
        return bool(ready)

    def _wait_for_frame(self) -> None:
        """Nothing was waiting: wait a little on the next camera still delivering (briefly, with several)."""
        waiting = [u for u in self.units if not u.capture.finished]
        if not waiting:
            return
        unit = waiting[self._turn % len(waiting)]
        grabbed = unit.capture.get(timeout=0.2 if len(self.units) == 1 else 0.02)
        if grabbed is not None:
            self._process(self._gather({unit: grabbed}))

    def _gather(self, ready: dict[CameraUnit, Grabbed]) -> list[tuple[CameraUnit, Grabbed]]:
        """With cameras detected together: wait up to half a frame interval for the frames of live
        cameras not in this round yet.

        Cameras are not in step: their frames arrive spread over a frame interval. Taken as they
        come, each round would hold one camera's frame and no two would share an inference; a
        short wait puts every camera's frame of this interval into one round.
        """
        if not self._packing:
            return list(ready.items())
        deadline = time.monotonic() + self._gather_s
        for unit in self.units:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if unit in ready or unit.capture.finished or unit.capture.stats.state is not CaptureState.LIVE:
                continue
            grabbed = unit.capture.get(timeout=remaining)
            if grabbed is not None:
                ready[unit] = grabbed
        return list(ready.items())

    def _limit_reached(self, limits: RunLimits, elapsed: float) -> bool:
        if limits.duration_s is not None and elapsed >= limits.duration_s:
            return True
        return limits.max_frames is not None and self.frames >= limits.max_frames

    def _clock_t(self, mono: float) -> tuple[float, float]:
        return self.clock.t(mono), self.clock.utc(mono)

    def _frame_time(self, grabbed: Grabbed) -> tuple[float, float]:
        if grabbed.media_t is not None:
            return grabbed.media_t, self._media_utc0 + grabbed.media_t
        return self._clock_t(grabbed.mono)

    def _process(self, ready: list[tuple[CameraUnit, Grabbed]]) -> None:
        """A round's frames. With several cameras (``performance.pack_cameras``) the frames due for
        detection are detected together, their zone regions sharing the model's input
        (detection/packing.py): one inference where there were two or three, and a round's
        canvases detected at the same time (``performance.parallel_canvases``)."""
        if not self._packing:
            for unit, grabbed in ready:
                t, utc = self._frame_time(grabbed)
                self._captured_mono = grabbed.mono
                self._apply_operator(t)
                unit.process(grabbed, t, utc)
            return
        times = [self._frame_time(grabbed) for _, grabbed in ready]
        for (unit, grabbed), (t, _) in zip(ready, times, strict=True):
            self._apply_operator(t)
            unit.prepare(grabbed, t)
            unit.gate.round = self._rounds  # strided detections of every camera in the same rounds
        self._rounds += 1
        plans = [unit.plan(grabbed) for unit, grabbed in ready]
        wanted = [i for i, plan in enumerate(plans) if isinstance(plan, Request)]
        start = time.perf_counter()
        requests = [cast(Request, plans[i]) for i in wanted]
        found = detect_packed(self.detector, requests, self.gate.model_size, self._spares, self._lanes)
        share_ms = (time.perf_counter() - start) * 1000 / max(1, len(wanted))  # each detected frame's part
        for i, detections in zip(wanted, found, strict=True):
            plans[i] = detections
        for i, ((unit, grabbed), (t, utc), plan) in enumerate(zip(ready, times, plans, strict=True)):
            self._captured_mono = grabbed.mono
            unit.finish(grabbed, t, utc, cast(Detections, plan), share_ms if i in wanted else 0.0)

    def _apply_operator(self, t: float) -> None:
        """An enforcement switch the operator asked for since the last frame takes effect at ``t``."""
        applied = self.operator.apply(self.signals, t)
        if applied is None:
            return
        if applied.enabled:
            log.warning("enforcement switched ON by %s at t=%.3f", applied.by, t)
        else:
            self.metrics.suspensions.labels("operator").inc()
            log.warning("enforcement switched OFF by %s from t=%.3f", applied.by, t)
        self._export_suspended()

    def _export_suspended(self) -> None:
        m = self.metrics
        suspended = [u.signals.open_window is not None for u in self.units]
        m.suspended.set(1 if any(suspended) or self.signals.operator_window else 0)
        m.picture_ok.set(1 if all(u.picture_state == PictureState.OK.value for u in self.units) else 0)
        for unit, down in zip(self.units, suspended, strict=True):
            m.camera_suspended.labels(unit.id).set(1 if down else 0)

    # -- status ---------------------------------------------------------------------------------

    def status(self) -> ServiceStatus:
        """A snapshot for /healthz, /status, logs and MQTT; safe to call from any thread.

        The top-level camera figures are the cameras' together (one camera: its own); ``cameras``
        has each camera's, and a reason names the camera when there are several.
        """
        now = time.monotonic()
        cameras = {u.id: u.status() for u in self.units}
        named = len(cameras) > 1
        reasons = []
        for camera_id, cam in cameras.items():
            prefix = f"camera {camera_id} " if named else "camera "
            if cam.state != CaptureState.LIVE.value:
                reasons.append(prefix + cam.state + (f": {cam.error}" if cam.error else ""))
        for cam in cameras.values():
            if cam.enforcement_suspended:
                reasons.append(f"enforcement suspended: {cam.suspension_reason}")
        signal_sources = self._signal_health()
        reasons += [f"signal source {n} down: {h.detail}" for n, h in signal_sources.items() if h.state == "down"]
        adapters = self._adapters_health()
        adapters.update({name: AdapterHealth(False, why) for name, why in self.failed_outputs.items()})
        live = now - self._heartbeat < LIVENESS_S and not self._stop.is_set()
        suspensions = [c.suspension_reason for c in cameras.values() if c.enforcement_suspended]
        operator = self.signals.operator_window
        suspensions += [operator.reason] if operator is not None else []
        first = next(iter(cameras.values()))
        return ServiceStatus(
            live=live,
            ready=live and not reasons,
            reasons=reasons,
            utc=time.time(),
            uptime_s=round(now - self._started, 1),
            model_id=self.gate.model_id,
            camera_state=first.state if not named else _worst_state(cameras.values()),
            camera_source=", ".join(c.source for c in cameras.values()),
            camera_error="; ".join(c.error for c in cameras.values() if c.error),
            frames_captured=sum(c.frames_captured for c in cameras.values()),
            frames_dropped=sum(c.frames_dropped for c in cameras.values()),
            frames_processed=sum(c.frames_processed for c in cameras.values()),
            reconnects=sum(c.reconnects for c in cameras.values()),
            fps=round(sum(c.fps for c in cameras.values()), 2),
            picture=first.picture if not named else _worst_picture(cameras),
            enforcement_suspended=bool(suspensions),
            suspension_reason="; ".join(suspensions),
            crossings=sum(u.pipeline.crossings for u in self.units),
            violations=sum(u.pipeline.violations for u in self.units),
            clock=self.clock_sync.to_dict(),
            adapters=adapters,
            operator=self.operator.state,
            signal_sources=signal_sources,
            cameras=cameras,
        )

    def _adapters_health(self) -> dict[str, AdapterHealth]:
        """Each output's health; a camera's own output (its evidence) is named with the camera after the first."""
        health: dict[str, AdapterHealth] = {}
        for adapter in self.adapters:
            name = adapter.name
            if name in health:
                owner = next(u.id for u in self.units if adapter in u.pipeline.observers)
                name = f"{name} ({owner})"
            health[name] = self._adapter_health(adapter)
        return health

    def _signal_health(self) -> dict[str, SignalSourceHealth]:
        try:
            return {s.name: SignalSourceHealth(s.health.value, s.detail) for s in self.signals.statuses()}
        except Exception as exc:  # a health probe must never break /healthz
            return {"signal": SignalSourceHealth("down", f"health check failed: {exc}")}

    @staticmethod
    def _adapter_health(adapter: OutputAdapter) -> AdapterHealth:
        try:
            return adapter.health()
        except Exception as exc:  # a health probe must never break /healthz
            return AdapterHealth(False, f"health check failed: {exc}")

    def _mirror(self, counter: Any, key: str, total: int) -> None:
        """Move a Prometheus counter up to a total kept elsewhere (capture thread, detector gate)."""
        with self._mirror_lock:
            delta = total - self._mirrored.get(key, 0)
            if delta > 0:
                counter.inc(delta)
                self._mirrored[key] = total

    def _export_metrics(self) -> None:
        m = self.metrics
        stats = [u.capture.stats for u in self.units]
        m.camera_up.set(1 if all(s.state is CaptureState.LIVE for s in stats) else 0)
        self._mirror(m.frames_captured, "captured", sum(s.frames_read for s in stats))
        self._mirror(m.frames_dropped, "dropped", sum(s.frames_dropped for s in stats))
        self._mirror(m.camera_reconnects, "reconnects", sum(s.reconnects for s in stats))
        m.fps.set(sum(u.fps for u in self.units))
        for unit, stat in zip(self.units, stats, strict=True):
            self._mirror(m.camera_frames_captured.labels(unit.id), f"captured:{unit.id}", stat.frames_read)
            self._mirror(m.camera_frames_dropped.labels(unit.id), f"dropped:{unit.id}", stat.frames_dropped)
            m.camera_fps.labels(unit.id).set(unit.fps)
        skipped: dict[str, int] = {}
        for unit in self.units:
            for reason, count in list(unit.gate.skipped.items()):
                skipped[reason] = skipped.get(reason, 0) + count
        for reason, count in skipped.items():
            self._mirror(m.detections_skipped.labels(reason), f"skipped:{reason}", count)
        for adapter in self.adapters:
            m.adapter_up.labels(adapter.name).set(1 if self._adapter_health(adapter).ok else 0)
        if self.reporter is not None:
            m.outbox_depth.set(self.reporter.reporter.outbox_depth)
        with contextlib.suppress(OSError):
            m.storage_free.set(shutil.disk_usage(self.data_dir).free)

    def _report_status(self) -> None:
        status = self.status()
        log.info("status: %s", status.summary())
        self.notifier.status(status.summary())
        self.clock.resync()
        if self.reporter is not None:
            readings = {}
            for unit in self.units:  # each group as the camera watching it sees it (suspended or not)
                t = unit.last_frame[1] if unit.last_frame else 0.0
                for group in {c.signal_group for c in unit.site.crosswalks} - readings.keys():
                    readings[group] = unit.signals.observed_state_at(group, t)
            devices = self.warnings.hub.health() if self.warnings.hub is not None else {}
            waiting = {}  # per crosswalk/curb: crosswalk ids are unique across the cameras
            for unit in self.units:
                if unit.pipeline.prewarner is not None:
                    waiting.update(unit.pipeline.prewarner.waiting)
            health = StatusHealth(self.signals.statuses(), devices, self._storage(), self.operator.state, waiting)
            self.reporter.report_status(status, readings, self.pipeline.stats.mean_ms(), health)
        self._write_status(status)

    def _storage(self) -> tuple[int, float] | None:
        """Free bytes and used fraction of the disk holding the evidence (or the state folder)."""
        folder = self.site.evidence.root if self.site.evidence.enabled else self.data_dir
        try:
            usage = shutil.disk_usage(folder)
        except OSError:
            return None
        return usage.free, usage.used / usage.total if usage.total else 0.0

    def _write_status(self, status: ServiceStatus | None = None) -> None:
        """status.json, replaced atomically so a reader (or a stop) never sees half a file."""
        status = status or self.status()
        path = self.data_dir / STATUS_FILE
        tmp = path.with_suffix(".tmp")
        write_private(tmp, json.dumps(status.to_dict(), indent=2, default=str) + "\n", GROUP_READ)
        os.replace(tmp, path)

    def _watch_clock(self) -> None:
        while not self._stop.is_set():
            self.clock_sync = sync = read_clock_sync()
            self.metrics.clock_synced.set(-1 if sync.synchronised is None else int(sync.synchronised))
            if sync.offset_s is not None:
                self.metrics.clock_offset.set(sync.offset_s)
            self._stop.wait(CLOCK_CHECK_S)


def _worst_state(cameras: Any) -> str:
    """``live`` only when every camera is; else the first camera's state that is not."""
    return next((c.state for c in cameras if c.state != CaptureState.LIVE.value), CaptureState.LIVE.value)


def _worst_picture(cameras: dict[str, CameraStatus]) -> str:
    """``ok`` when every camera's picture is; else which are not, e.g. ``south: frozen``."""
    bad = [f"{camera_id}: {c.picture}" for camera_id, c in cameras.items() if c.picture != PictureState.OK.value]
    return ", ".join(bad) or PictureState.OK.value
