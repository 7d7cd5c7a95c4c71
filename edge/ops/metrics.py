"""Prometheus metrics of one running service, in their own registry (several services per test process)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from edge.pipeline import STAGES

STAGE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28)
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.0)


class ServiceMetrics:
    """Every figure the service exports; names follow Prometheus conventions (``_total``, ``_seconds``)."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self._hooks: list[Callable[[], None]] = []
        self.registry = r = CollectorRegistry()
        ProcessCollector(registry=r)  # RSS, CPU seconds, open fds
        self.frames_captured = Counter(
            "crossguard_frames_captured_total", "Frames read from the source", registry=r
        )
        self.frames_dropped = Counter(
            "crossguard_frames_dropped_total",
            "Stale frames replaced before the pipeline took them",
            registry=r,
        )
        self.frames_processed = Counter(
            "crossguard_frames_processed_total", "Frames through the pipeline", registry=r
        )
        self.detections_skipped = Counter(
            "crossguard_detection_skipped_total",
            "Frames where the tracker predicted instead of detecting",
            ["reason"],
            registry=r,
        )
        self.fps = Gauge("crossguard_fps", "Frames processed per second (recent)", registry=r)
        self.stage_seconds = Histogram(
            "crossguard_stage_seconds",
            "Time per frame in each pipeline stage",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=r,
        )
        self.frame_age_seconds = Histogram(
            "crossguard_frame_age_seconds",
            "From capture to the end of the pipeline",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.detections = Counter(
            "crossguard_detections_total", "People detected (summed over frames)", registry=r
        )
        self.tracks = Gauge("crossguard_tracks", "Tracks on the last frame", registry=r)
        self.events = Counter("crossguard_events_total", "Decided events", ["type"], registry=r)
        self.warnings = Counter(
            "crossguard_warnings_total", "Violations handed to the warning outputs", registry=r
        )
        self.warning_latency = Histogram(
            "crossguard_warning_latency_seconds",
            "From capture of the deciding frame to the warning hand-off",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.camera_up = Gauge("crossguard_camera_up", "1 while the source delivers frames", registry=r)
        self.camera_reconnects = Counter("crossguard_camera_reconnects_total", "Source losses", registry=r)
        # Per camera of a box with several (one with a single camera exports it under its id too).
        self.camera_frames_captured = Counter(
            "crossguard_camera_frames_captured_total", "Frames read from this camera", ["camera"], registry=r
        )
        self.camera_frames_processed = Counter(
            "crossguard_camera_frames_processed_total", "This camera's frames through the pipeline", ["camera"],
            registry=r,
        )
        self.camera_frames_dropped = Counter(
            "crossguard_camera_frames_dropped_total",
            "This camera's stale frames replaced by newer ones before the frame loop took them",
            ["camera"],
            registry=r,
        )
        self.camera_fps = Gauge(
            "crossguard_camera_fps", "This camera's frames processed per second", ["camera"], registry=r
        )
        self.camera_suspended = Gauge(
            "crossguard_camera_enforcement_suspended",
            "1 while this camera's picture (frozen, missing, too few frames) suspends its crosswalks",
            ["camera"],
            registry=r,
        )
        self.picture_ok = Gauge(
            "crossguard_picture_ok", "1 while the picture is neither frozen nor blank", registry=r
        )
        self.suspended = Gauge(
            "crossguard_enforcement_suspended", "1 while enforcement is suspended", registry=r
        )
        self.suspensions = Counter(
            "crossguard_enforcement_suspensions_total",
            "Times enforcement was suspended",
            ["cause"],
            registry=r,
        )
        self.clock_synced = Gauge("crossguard_clock_synced", "1 synced, 0 not, -1 unknown", registry=r)
        self.clock_offset = Gauge(
            "crossguard_clock_offset_seconds", "System clock offset from NTP", registry=r
        )
        self.adapter_up = Gauge(
            "crossguard_adapter_up", "1 when an output adapter is healthy", ["adapter"], registry=r
        )
        self.outbox_depth = Gauge(
            "crossguard_mqtt_outbox_depth", "Messages waiting in the MQTT outbox", registry=r
        )
        self.storage_free = Gauge(
            "crossguard_storage_free_bytes", "Free bytes where state is kept", registry=r
        )
        for stage in STAGES:
            self.stage_seconds.labels(stage)  # export every stage from the start, not on first use

    def on_scrape(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` before each scrape, to copy figures kept elsewhere (capture thread) into metrics."""
        self._hooks.append(hook)

    def render(self) -> bytes:
        for hook in self._hooks:
            hook()
        return generate_latest(self.registry)
