"""The live service: the one place where adapters are built from the site file and wired together.

``Service`` builds, in this order, the detector (behind the cost-control gate), the signal
hub (with enforcement suspension), the operator's switches, the output adapters (and the
MQTT commands on them), the pipeline and the capture thread; ``start`` starts the
operations HTTP server first (so health answers at once), then the web UI on its own server
where the site's ``web`` section says, then the MQTT link and capture;
``run`` turns the frame loop; ``stop`` stops everything in reverse, flushing what the
outputs hold. Decisions are made by ``edge.pipeline.Pipeline`` — the same class replay
drives — and nowhere else.

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
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from detection.base import Detector
from edge.announce import ANNOUNCE_FILE, AnnouncementDesk
from edge.capture import Capture, CaptureState, Grabbed, open_source
from edge.capture.base import hide_passwords, resolve_spec, source_kind
from edge.capture.picture import PictureMonitor, PictureState
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
from edge.ops.status import AdapterHealth, ServiceStatus, SignalSourceHealth
from edge.pipeline import Frame, Pipeline
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
        self._captured_mono = 0.0
        self._last_frame: tuple[float, float] | None = None  # (mono, t) of the last processed frame
        self._frames = 0
        self._picture = "ok"
        self._media_utc0 = time.time()  # UTC of media time 0 for file sources
        self._fps_window = (time.monotonic(), 0)
        self._fps = 0.0
        self._mirrored: dict[str, int] = {}
        self._mirror_lock = threading.Lock()
        self.http: HttpServer | None = None
        self.web: HttpServer | None = None
        self.reporter: ReportObserver | None = None
        self._recorder: Any | None = None  # the evidence recorder, when evidence is recorded
        self.adapters: list[OutputAdapter] = []
        self.failed_outputs: dict[str, str] = {}  # outputs the site turns on that could not start
        self._build()

    # -- building -------------------------------------------------------------------------------

    def _build(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        detector = self._detector or self._build_detector()
        self.gate = GatedDetector(detector, self.config.performance, self.site)
        self.signals = SuspendableSignals.from_config(self.site.signal)
        self.signals.settle_s = self.config.picture.resume_settle_s
        hub = self._actuator_hub()
        self.operator = OperatorControls(self.data_dir / OPERATOR_FILE, hub)  # mutes the hub if saved so
        self.warnings = WarningObserver(hub, self.metrics, lambda: self._captured_mono)
        self.announcements = AnnouncementDesk(hub, self.data_dir / ANNOUNCE_FILE)
        self.journal = EventJournal(self.data_dir / "events")
        self.snapshot = SnapshotObserver(self.site)
        # Evidence and MQTT before the journal: a journalled violation is already in the outbox.
        observers: list[OutputAdapter] = [self.warnings, *self._optional_observers(detector.model_id)]
        observers += [self.journal, MetricsObserver(self.metrics), self.snapshot]
        self._accept_commands()
        self.adapters = observers
        self.pipeline = Pipeline(self.site, self.gate if self.gate.active else detector, self.signals, observers)
        self.gate.attach(self.pipeline.tracker)
        self.picture = PictureMonitor(self.config.picture)
        self.capture = self._build_capture()
        self.metrics.on_scrape(self._export_metrics)

    def _build_detector(self) -> Detector:
        from detection.registry import build_detector

        return build_detector(self.site.detector)

    def _build_capture(self) -> Capture:
        spec = resolve_spec(self.site.camera.source, self.site_path.parent)
        cfg = self.config.capture
        # A file read as fast as possible is a bench input: hand over every frame, drop none.
        drop_stale = not (source_kind(spec) == "file" and not cfg.realtime)
        open_source(spec, cfg, self.site.camera.fps)  # fail now on an empty or unknown source
        return Capture(lambda: open_source(spec, cfg, self.site.camera.fps), cfg, drop_stale=drop_stale)

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

    def _optional_observers(self, model_id: str) -> list[OutputAdapter]:
        observers: list[OutputAdapter] = []
        recorder = self._optional(
            "evidence",
            "evidence.recorder",
            "evidence",
            lambda m: m.EvidenceRecorder.from_config(self.site, model_id, self.config_hash),
        )
        if recorder is not None:
            self._recorder = recorder
            lookback = self.site.evidence.pre_roll_s + EVIDENCE_LOOKBACK_S
            observers.append(EvidenceObserver(recorder, self.signals, lookback))
        reporter = self._optional(
            "MQTT reporting",
            "edge.mqtt.reporter",
            "mqtt",
            lambda m: m.Reporter.from_config(self.site, self.data_dir),
        )
        if reporter is not None:
            self.reporter = ReportObserver(reporter)
            if recorder is not None:  # each violation's evidence follows it, linked by event id
                self.reporter.follow_evidence(recorder)
            observers.append(self.reporter)
        return observers

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
            snapshot=lambda: self.snapshot.jpeg(annotated=True),
            raw_snapshot=lambda: self.snapshot.jpeg(annotated=False),
            status=self.status,
            apply_site=self.apply_site,
            evidence_root=evidence.root if evidence.enabled else None,
            devices=self.warnings.hub,
            live=self.live_readings,
            journal_dir=self.journal.folder,
            https=web.tls_cert is not None,
            announcements=self.announcements if self.warnings.hub is not None else None,
        )

    def live_readings(self) -> Any:
        """Per-group signal and its sources, detector time, devices, MQTT outbox, disk: for the dashboard."""
        from edge.web.live import read_live

        frame = self.snapshot.latest_frame()
        hub = self.warnings.hub
        return read_live(
            self.signals,
            sorted({c.signal_group for c in self.site.crosswalks}),
            (frame.t, frame.utc) if frame is not None else None,
            self.pipeline.stats.mean_ms().get("detect"),
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
        self.pipeline.apply_zones(site)
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
        self.capture.start()
        threading.Thread(target=self._watch_clock, name="clock", daemon=True).start()
        self.notifier.ready(f"started; camera {self.capture.label or hide_passwords(self.site.camera.source)}")
        log.info("service: started (site %s, camera %s)", self.site.site.id, self.site.camera.id)
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
        self.capture.stop()
        self.pipeline.finish()  # crossings still waiting for their signal state are judged now
        self.pipeline.close()  # observers flush: warnings, journal, evidence, MQTT outbox
        self._write_status()
        for server in (self.web, self.http):
            if server is not None:
                server.stop()
        self.notifier.close()
        log.info("service: stopped after %d frames", self._frames)

    # -- the frame loop -------------------------------------------------------------------------

    def run(self, limits: RunLimits = RunLimits()) -> None:
        started = time.monotonic()
        next_status = started + self.config.status_interval_s
        watchdog_every = Notifier.watchdog_interval_s()
        next_watchdog = started
        while not self._stop.is_set():
            grabbed = self.capture.get(timeout=0.2)
            now = time.monotonic()
            self._heartbeat = now
            if grabbed is not None:
                self._process(grabbed)
            elif self.capture.finished:
                log.info("service: source finished")
                break
            else:
                self._check_missing(now)
            if watchdog_every is not None and now >= next_watchdog:
                self.notifier.watchdog()
                next_watchdog = now + watchdog_every
            if now >= next_status:
                self._report_status()
                next_status = now + self.config.status_interval_s
            if self._limit_reached(limits, now - started):
                break

    def _limit_reached(self, limits: RunLimits, elapsed: float) -> bool:
        if limits.duration_s is not None and elapsed >= limits.duration_s:
            return True
        return limits.max_frames is not None and self._frames >= limits.max_frames

    def _frame_time(self, grabbed: Grabbed) -> tuple[float, float]:
        if grabbed.media_t is not None:
            return grabbed.media_t, self._media_utc0 + grabbed.media_t
        return self.clock.t(grabbed.mono), self.clock.utc(grabbed.mono)

    def _process(self, grabbed: Grabbed) -> None:
        t, utc = self._frame_time(grabbed)
        if self._last_frame is None or self._picture == PictureState.MISSING.value:
            self.picture.reset()  # the first picture after a gap may repeat the last one
        self._check_picture(grabbed, t)
        self._captured_mono = grabbed.mono
        self._apply_operator(t)
        self.pipeline.process(Frame(grabbed.seq, t, utc, grabbed.image))
        self._last_frame = (grabbed.mono, t)
        self._frames += 1
        self.metrics.frame_age_seconds.observe(time.monotonic() - grabbed.mono)
        self._update_fps()

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
        self.metrics.suspended.set(1 if self.signals.open_window or self.signals.operator_window else 0)

    def _check_picture(self, grabbed: Grabbed, t: float) -> None:
        check = self.picture.check(grabbed.image, t)
        if check.state is PictureState.OK:
            self._set_picture(PictureState.OK, t, "")
        else:
            since = check.since if check.since is not None else t
            self._set_picture(check.state, since, check.detail)

    def _check_missing(self, now: float) -> None:
        stats = self.capture.stats
        silent = self._last_frame is None or now - self._last_frame[0] > self.config.capture.read_timeout_s
        if stats.state is CaptureState.LIVE and not silent:
            return
        if self._last_frame is None and stats.state is CaptureState.CONNECTING:
            return  # still starting up: nothing was ever enforced
        last_t = self._last_frame[1] if self._last_frame is not None else self.clock.t(now)
        reason = f"camera lost: {stats.last_error}" if stats.last_error else "camera delivers no frames"
        self._set_picture(PictureState.MISSING, last_t, reason)

    def _set_picture(self, state: PictureState, t: float, detail: str) -> None:
        previous, self._picture = self._picture, state.value
        self.metrics.picture_ok.set(1 if state is PictureState.OK else 0)
        if state is PictureState.OK:
            window = self.signals.resume(t) if previous != state.value else None
            if window is not None:
                log.warning(
                    "enforcement resumed at t=%.2f (suspended %.1f s: %s)",
                    t,
                    t - window.start_t,
                    window.reason,
                )
        elif self.signals.suspend(t, detail):
            self.metrics.suspensions.labels(state.value).inc()
            log.warning("enforcement SUSPENDED from t=%.2f: %s", t, detail)
        self._export_suspended()

    def _update_fps(self) -> None:
        since, frames = self._fps_window
        now = time.monotonic()
        if now - since >= 2.0:
            self._fps = (self._frames - frames) / (now - since)
            self._fps_window = (now, self._frames)
            self.metrics.fps.set(self._fps)

    # -- status ---------------------------------------------------------------------------------

    def status(self) -> ServiceStatus:
        """A snapshot for /healthz, /status, logs and MQTT; safe to call from any thread."""
        stats = self.capture.stats
        now = time.monotonic()
        window = self.signals.open_window
        suspensions = [w for w in (window, self.signals.operator_window) if w is not None]
        reasons = []
        if stats.state is not CaptureState.LIVE:
            reasons.append(f"camera {stats.state.value}" + (f": {stats.last_error}" if stats.last_error else ""))
        if window is not None:
            reasons.append(f"enforcement suspended: {window.reason}")
        signal_sources = self._signal_health()
        reasons += [f"signal source {n} down: {h.detail}" for n, h in signal_sources.items() if h.state == "down"]
        adapters = {a.name: self._adapter_health(a) for a in self.adapters}
        adapters.update({name: AdapterHealth(False, why) for name, why in self.failed_outputs.items()})
        live = now - self._heartbeat < LIVENESS_S and not self._stop.is_set()
        return ServiceStatus(
            live=live,
            ready=live and not reasons,
            reasons=reasons,
            utc=time.time(),
            uptime_s=round(now - self._started, 1),
            model_id=self.gate.model_id,
            camera_state=stats.state.value,
            camera_source=self.capture.label,
            camera_error=stats.last_error,
            frames_captured=stats.frames_read,
            frames_dropped=stats.frames_dropped,
            frames_processed=self._frames,
            reconnects=stats.reconnects,
            fps=round(self._fps, 2),
            picture=self._picture,
            enforcement_suspended=bool(suspensions),
            suspension_reason="; ".join(w.reason for w in suspensions),
            crossings=self.pipeline.crossings,
            violations=self.pipeline.violations,
            clock=self.clock_sync.to_dict(),
            adapters=adapters,
            operator=self.operator.state,
            signal_sources=signal_sources,
        )

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
        stats = self.capture.stats
        m.camera_up.set(1 if stats.state is CaptureState.LIVE else 0)
        self._mirror(m.frames_captured, "captured", stats.frames_read)
        self._mirror(m.frames_dropped, "dropped", stats.frames_dropped)
        self._mirror(m.camera_reconnects, "reconnects", stats.reconnects)
        for reason, count in list(self.gate.skipped.items()):
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
            groups = {c.signal_group for c in self.site.crosswalks}
            t = self._last_frame[1] if self._last_frame else 0.0
            readings = {g: self.signals.observed_state_at(g, t) for g in groups}
            devices = self.warnings.hub.health() if self.warnings.hub is not None else {}
            waiting = dict(self.pipeline.prewarner.waiting) if self.pipeline.prewarner is not None else {}
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
