"""The service's adapters onto the pipeline: each turns a frame's result into calls on one output.

Each adapter is a ``FrameObserver`` (``on_frame``/``close``) plus ``health()``. They hold
the output object they were given and no decision logic; ``edge.service`` builds them.
Order matters: the service lists the warning adapter first (latency), then evidence and MQTT,
so a violation is in the durable outbox before its journal line is written and the evidence
writer is flushed (``close``) while the outbox can still take what it reports.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

import cv2

from edge.annotate import Annotator
from edge.config.site import SiteConfig
from edge.events import CrossingEvent, EventType
from edge.mqtt.signal_rate import SignalReportLimit
from edge.ops.files import GROUP_READ, open_private
from edge.ops.metrics import ServiceMetrics
from edge.ops.status import AdapterHealth, ServiceStatus
from edge.pipeline import Frame, FrameResult
from edge.signal.hub import SignalHub
from edge.signal.types import SignalChange

log = logging.getLogger(__name__)

EVIDENCE_LOOKBACK_S = 10.0  # signal history a manifest keeps from before its pre-roll


class OutputAdapter(Protocol):
    """A FrameObserver the service also asks for its health (status, /healthz, metrics)."""

    name: str

    def on_frame(self, result: FrameResult) -> None: ...

    def health(self) -> AdapterHealth: ...

    def close(self) -> None: ...


def violations_of(result: FrameResult) -> list[CrossingEvent]:
    return [e for e in result.events if e.type is EventType.VIOLATION]


def change_utc(change: SignalChange, result: FrameResult) -> float:
    """UTC of a signal change, through the frame's own t→UTC mapping."""
    return result.frame.utc - (result.frame.t - change.t)


def _guarded(name: str, call: Callable[[], object]) -> None:
    """An output that fails must not take the frame loop (and the other outputs) down with it."""
    try:
        call()
    except Exception:
        log.exception("%s: output failed; the frame loop goes on", name)


class WarningObserver:
    """Violations and pre-warnings → warning outputs; signal changes → outputs that follow the signal.

    Measures the warning latency (capture of the deciding frame → hand-off) even without
    an actuator hub, so the figure exists on a box without outputs too.
    """

    name = "actuators"

    def __init__(
        self,
        hub: Any | None,
        metrics: ServiceMetrics | None = None,
        captured_mono: Callable[[], float] = time.monotonic,
    ) -> None:
        self.hub = hub
        self.metrics = metrics
        self.captured_mono = captured_mono
        self.latencies_s: deque[float] = deque(maxlen=10_000)  # recent figures, for the benchmark
        self.failures = 0

    def on_frame(self, result: FrameResult) -> None:
        for event in violations_of(result):
            if self.hub is not None:
                _guarded(self.name, lambda event=event: self.hub.on_violation(event))
            latency = time.monotonic() - self.captured_mono()
            if self.metrics is not None:
                self.metrics.warnings.inc()
                self.metrics.warning_latency.observe(latency)
            self.latencies_s.append(latency)
        if self.hub is not None:
            for event in result.events:
                if event.type is EventType.PRE_WARNING:
                    _guarded(self.name, lambda event=event: self.hub.on_prewarning(event))
            for call in result.ped_calls:
                log.info("pedestrian call for crosswalk %s (%s at curb %s: %d waiting, %.0f s)",
                         call.crosswalk_id, call.reason.value, call.curb, call.waiting, call.waited_s)  # fmt: skip
                _guarded(self.name, lambda call=call: self.hub.on_ped_call(call))
            for change in result.signal_changes:
                utc = change_utc(change, result)
                _guarded(self.name, lambda c=change, u=utc: self.hub.on_signal(c.group, c.state, u))

    def health(self) -> AdapterHealth:
        if self.hub is None:
            return AdapterHealth(True, "no warning outputs configured")
        devices = self.hub.health()
        # DeviceHealth says ok / degraded / down in ``state``; anything but ok is worth saying here,
        # and "down" makes the whole output not ok, as the dashboard's device list shows it.
        down = [name for name, h in devices.items() if str(getattr(h.state, "value", h.state)) == "down"]
        degraded = [name for name, h in devices.items() if str(getattr(h.state, "value", h.state)) == "degraded"]
        parts = [f"devices down: {', '.join(down)}"] if down else []
        parts += [f"degraded: {', '.join(degraded)}"] if degraded else []
        return AdapterHealth(not down, "; ".join(parts) or f"{len(devices)} device(s) ok")

    def close(self) -> None:
        if self.hub is not None:
            self.hub.close()


class EvidenceObserver:
    """Every frame into the evidence ring; violations (with their signal history) to the writer."""

    name = "evidence"

    def __init__(self, recorder: Any, signals: SignalHub, lookback_s: float) -> None:
        self.recorder = recorder
        self.signals = signals
        self.lookback_s = lookback_s

    def on_frame(self, result: FrameResult) -> None:
        f = result.frame
        _guarded(
            self.name,
            lambda: self.recorder.on_frame(f.index, f.t, f.utc, f.image, result.tracks, result.signal_readings),
        )
        for event in violations_of(result):
            changes = self.signals.history.changes(event.signal_group, event.entry_t - self.lookback_s, event.decided_t)
            _guarded(self.name, lambda e=event, c=changes: self.recorder.on_violation(e, c))

    def health(self) -> AdapterHealth:
        dropped = getattr(self.recorder.stats, "jobs_dropped", 0)
        if dropped:
            return AdapterHealth(False, f"{dropped} violation(s) without evidence")
        encoder = getattr(self.recorder, "encoder", None)
        skipped = encoder.stats.dropped if encoder is not None else 0
        # Skipped frames thin the pre/post-roll of a busy moment; the evidence itself is still made.
        return AdapterHealth(True, f"ok; {skipped} frame(s) not buffered (encoder behind)" if skipped else "ok")

    def close(self) -> None:
        self.recorder.close()  # writes what is pending, then stops the writer


@dataclass(frozen=True)
class StatusHealth:
    """Health of the parts a status report names: signal sources, output devices, storage, operator switches."""

    sources: list[Any] = field(default_factory=list)  # edge.signal.source.SourceStatus
    devices: dict[str, Any] = field(default_factory=dict)  # name → actuators.base.DeviceHealth
    storage: tuple[int, float] | None = None  # free bytes, used fraction
    operator: Any = None  # edge.operator.OperatorState
    waiting: dict[str, int] = field(default_factory=dict)  # "<crosswalk>/<curb>" → people waiting (edge.prewarn)


class ReportObserver:
    """Events and signal changes into the MQTT outbox (durable before ``on_frame`` returns).

    Every event goes out at once, violations included: the warning and evidence paths never
    delay a report. With evidence recording on, a violation's evidence follows as its own
    message linked by event id (``…/evidence``): the files and hashes once committed, or an
    explicit "lost" with the reason when it never will be. The outbox keeps the list of
    violations still owed that message, so one a crash overtook is reported lost at the next start.
    """

    name = "mqtt"

    def __init__(self, reporter: Any) -> None:
        self.reporter = reporter
        self.follows_evidence = False
        self.signal_limit = SignalReportLimit()  # a flapping or flooded signal must not flood the outbox

    def follow_evidence(self, recorder: Any) -> None:
        """Send each violation's evidence outcome from ``recorder`` after the violation."""
        self.follows_evidence = True
        recorder.add_listener(self._on_evidence)
        recorder.add_unwritten_listener(self._on_lost)

    def settle_after_crash(self, recorder: Any) -> int:
        """Tell the centre the outcome of violations a previous run queued but never settled; returns how many.

        Call once at start, after the recorder has finished its own crash recovery and before
        any frame: evidence committed just before the crash is sent as recorded, the rest is lost.
        """
        owed = self.reporter.awaiting_evidence()
        if not owed:
            return 0
        try:
            committed = recorder.committed(owed)
        except Exception:  # an unreadable index proves nothing lost: keep them owed for the next start
            log.exception("evidence index unreadable; %d violation(s) stay owed their evidence outcome", len(owed))
            return 0
        for event_id in owed:
            record = committed.get(event_id)
            if record is not None:
                _guarded(self.name, lambda r=record: self._on_evidence(r))
            else:  # the listener reports it lost
                reason = "the box stopped (crash or power loss) before this violation's evidence was written"
                _guarded(self.name, lambda e=event_id, why=reason: recorder.note_lost(e, why))
        log.warning("evidence outcome of %d violation(s) from before a crash reported now", len(owed))
        return len(owed)

    def on_frame(self, result: FrameResult) -> None:
        for event in result.events:
            awaits = self.follows_evidence and event.type is EventType.VIOLATION
            _guarded(self.name, lambda e=event, a=awaits: self.reporter.report_event(e, awaits_evidence=a))
        changes = [(c, change_utc(c, result)) for c in result.signal_changes]
        for change, utc in self.signal_limit.admit(changes, result.frame.utc):
            _guarded(self.name, lambda c=change, u=utc: self.reporter.report_signal(c, u))

    def _on_evidence(self, record: Any) -> None:
        """Runs on the evidence writer's thread; the outbox is safe to use from it."""
        report = evidence_report(record, time.time())
        _guarded(self.name, lambda: self.reporter.report_evidence(report))

    def _on_lost(self, unwritten: Any) -> None:
        from edge.mqtt.payloads import EvidenceReport

        report = EvidenceReport(unwritten.event_id, unwritten.utc, lost_reason=unwritten.reason or "not written")
        _guarded(self.name, lambda: self.reporter.report_evidence(report))

    def report_status(
        self,
        status: ServiceStatus,
        signals: dict[str, Any],
        stage_ms: dict[str, float],
        health: StatusHealth | None = None,
    ) -> None:
        from edge.mqtt.payloads import ComponentHealth, StatusReport

        health = health or StatusHealth()
        storage = health.storage or (None, None)
        report = StatusReport(
            utc=status.utc,
            fps=status.fps,
            inference_ms=stage_ms.get("detect", 0.0),
            frames_dropped=status.frames_dropped,
            signal_states={group: reading.state for group, reading in signals.items()},
            # Source health includes the hub's own entry, which carries conflict alarms.
            signal_sources=[ComponentHealth(s.name, s.health.value == "ok", s.detail) for s in health.sources],
            actuators=[
                ComponentHealth(name, d.state.value == "ok", device_detail(d)) for name, d in health.devices.items()
            ],
            storage_free_bytes=storage[0],
            storage_used_fraction=storage[1],
            clock_offset_s=status.clock.get("offset_s"),
            enforcement_enabled=not status.enforcement_suspended,
            operator=health.operator,
            waiting=health.waiting,
        )
        _guarded(self.name, lambda: self.reporter.report_status(report))

    def health(self) -> AdapterHealth:
        if self.reporter.connected:
            return AdapterHealth(True, f"connected, outbox {self.reporter.outbox_depth}")
        return AdapterHealth(False, f"broker not connected ({self.reporter.last_error or 'connecting'})")

    def close(self) -> None:
        # The evidence writer has closed before us (it is listed first); what it did not finish
        # stays owed in the outbox and is settled at the next start.
        self.reporter.stop()  # flushes the outbox for up to mqtt.flush_timeout_s


def device_detail(device: Any) -> str:
    """An output's status detail: its last error, and whether the operator muted it."""
    parts = ["muted" if getattr(device, "muted", False) else "", device.last_error or ""]
    return "; ".join(p for p in parts if p)


def evidence_report(record: Any, utc: float) -> Any:
    """A committed evidence record as its MQTT message: files, hashes and its place in the chain."""
    from edge.mqtt.payloads import EvidenceReport

    return EvidenceReport(record.event_id, utc, evidence_files(record), record.manifest_sha256, record.sequence)


def evidence_files(record: Any) -> list[Any]:
    """An evidence record's files as the MQTT payload lists them (paths relative to the evidence root)."""
    from edge.mqtt.payloads import EvidenceFile, EvidenceKind

    kinds = {
        "original": EvidenceKind.SNAPSHOT,
        "closeup": EvidenceKind.SNAPSHOT,
        "sheet": EvidenceKind.SHEET,
        "clip": EvidenceKind.CLIP,
        "manifest": EvidenceKind.MANIFEST,
    }
    return [
        EvidenceFile(f"{record.folder}/{f.relpath}", f.sha256, f.size, kinds.get(f.kind.value, EvidenceKind.OTHER))
        for f in record.files
    ]


class MetricsObserver:
    """Per-frame figures into Prometheus."""

    name = "metrics"

    def __init__(self, metrics: ServiceMetrics) -> None:
        self.metrics = metrics

    def on_frame(self, result: FrameResult) -> None:
        m = self.metrics
        m.frames_processed.inc()
        m.detections.inc(len(result.detections))
        m.tracks.set(len(result.tracks))
        for stage, ms in result.timings_ms.items():
            m.stage_seconds.labels(stage).observe(ms / 1000.0)
        for event in result.events:
            m.events.labels(event.type.value).inc()

    def health(self) -> AdapterHealth:
        return AdapterHealth(True)

    def close(self) -> None:
        pass


class EventJournal:
    """Every decided event as one JSON line in ``events-YYYY-MM-DD.jsonl`` (UTC day), flushed per frame.

    Lines are written whole and flushed before the next frame, so a stop at any moment
    leaves only complete lines; files older than ``keep_days`` are deleted.
    """

    name = "journal"

    def __init__(self, folder: Path, keep_days: int = 30) -> None:
        self.folder = folder
        self.keep_days = keep_days
        folder.mkdir(parents=True, exist_ok=True)
        self._day = ""
        self._file: Any = None
        self.written = 0

    def path_for(self, day: str) -> Path:
        return self.folder / f"events-{day}.jsonl"

    def on_frame(self, result: FrameResult) -> None:
        if not result.events:
            return
        day = datetime.fromtimestamp(result.frame.utc, timezone.utc).strftime("%Y-%m-%d")
        if day != self._day:
            self._open(day)
        lines = "".join(json.dumps(e.to_dict(), sort_keys=True, separators=(",", ":")) + "\n" for e in result.events)
        self._file.write(lines)
        self._file.flush()
        self.written += len(result.events)

    def recent_violations(self, files: int = 2) -> list[str]:
        """Ids of the violations in the newest ``files`` day files (a line cut by a crash is skipped).

        The newest two cover the run a crash ended, however long the box was off afterwards.
        """
        ids: list[str] = []
        for path in sorted(self.folder.glob("events-*.jsonl"))[-files:]:
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                if '"violation"' not in line:  # most lines are crossings: skip them unparsed
                    continue
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(event, dict) and event.get("type") == "violation" and "event_id" in event:
                    ids.append(str(event["event_id"]))
        return ids

    def _open(self, day: str) -> None:
        if self._file is not None:
            self._file.close()
        self._day = day
        self._file = open_private(self.path_for(day), "a", GROUP_READ)
        self._prune()

    def _prune(self) -> None:
        files = sorted(self.folder.glob("events-*.jsonl"))
        for old in files[: max(0, len(files) - self.keep_days)]:
            old.unlink(missing_ok=True)

    def health(self) -> AdapterHealth:
        return AdapterHealth(True, f"{self.written} event(s) written")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class SnapshotObserver:
    """The latest frame's result, for the web UI's live picture; drawn and encoded only on request.

    Keeping a reference costs nothing on the frame path; the UI's polling pays for the JPEG.
    """

    name = "snapshot"

    def __init__(self, site: SiteConfig) -> None:
        self._annotator = Annotator(site)
        self._lock = threading.Lock()
        self._latest: FrameResult | None = None

    def on_frame(self, result: FrameResult) -> None:
        self._latest = result

    def latest_frame(self) -> Frame | None:
        result = self._latest
        return None if result is None else result.frame

    def jpeg(self, annotated: bool = True) -> bytes | None:
        result = self._latest
        if result is None:
            return None
        with self._lock:  # the annotator remembers violators between calls
            image = self._annotator.draw(result) if annotated else result.frame.image
        ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
        return buffer.tobytes() if ok else None

    def health(self) -> AdapterHealth:
        return AdapterHealth(True)

    def close(self) -> None:
        self._latest = None
