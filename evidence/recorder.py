"""EvidenceRecorder: the pipeline's one handle on evidence. Cheap on the frame path; writing is elsewhere.

Example (what the pipeline does)::

    recorder = EvidenceRecorder.from_config(site, detector.model_id, config_hash(site_file))
    for frame in frames:
        ...
        recorder.on_frame(i, t, utc, image, tracks, signal_states)
        for event in violations:
            recorder.on_violation(event, history.changes(event.signal_group, event.entry_t - 10))
    recorder.close()
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from detection.types import Detections
from edge.config.evidence import EvidenceConfig
from edge.config.site import SiteConfig
from edge.digest import sha256_file
from edge.events import CrossingEvent, EventType
from edge.ops.clock import ClockSync, read_clock_sync
from edge.signal.types import SignalChange, SignalReading
from evidence import signing
from evidence.background import BackgroundWriter, StorageMonitor
from evidence.encoder import FrameEncoder, RawFrame
from evidence.index import EvidenceIndex
from evidence.manifest import DeviceContext, software_version
from evidence.ring import FrameRing
from evidence.storage import INDEX_FILE
from evidence.types import (
    BufferedFrame,
    EvidenceFile,
    EvidenceJob,
    EvidenceRecord,
    StorageStatus,
    UnwrittenEvidence,
)
from evidence.writer import EventWriter

log = logging.getLogger(__name__)
MB = 1024 * 1024
MAX_PENDING_FACTOR = 4  # jobs waiting for post-roll or queue space, as a multiple of the queue size


class EvidenceUnavailable(RuntimeError):
    """Evidence cannot be recorded (key or root unusable); the service may run on without it."""


@dataclass
class RecorderStats:
    """Counters for the benchmark and the status page (frame counters live in ``EncoderStats``)."""

    frames_seen: int = 0
    violations: int = 0
    jobs_dropped: int = 0  # violations whose evidence never reached the writer


def file_sha256(path: Path) -> str | None:
    try:
        return sha256_file(path)
    except OSError:
        return None


class EvidenceRecorder:
    def __init__(
        self,
        config: EvidenceConfig,
        device: DeviceContext,
        key: signing.Ed25519PrivateKey | None,
        clock: Callable[[], ClockSync] = read_clock_sync,
        free_bytes_fn: Callable[[Path], int] | None = None,
        keep_every_frame: bool = False,
    ) -> None:
        self.config = config
        self.device = device
        self.stats = RecorderStats()
        self.ring = FrameRing(config.ring_seconds, int(config.ring_max_mb * MB))
        self._pending: dict[str, EvidenceJob] = {}
        self._lock = threading.Lock()
        self._listeners: list[Callable[[EvidenceRecord], None]] = []
        self._last_t: float | None = None  # newest frame seen (it may still wait for encoding)
        self._closed = False
        self.monitor = StorageMonitor(config.root)
        self._background: BackgroundWriter | None = None
        self.encoder: FrameEncoder | None = None
        if config.enabled:
            assert key is not None, "an enabled recorder needs the device key"
            extra = {} if free_bytes_fn is None else {"free_bytes_fn": free_bytes_fn}
            writer = EventWriter(config.root, config, device, key, clock, **extra)
            self._background = BackgroundWriter(writer, config.queue_size, self.monitor, self._listeners)
            self._background.start()
            self.encoder = FrameEncoder(
                self.ring, config.jpeg_quality, config.encode_queue_frames, keep_every_frame, self._dispatch_ready
            )

    @classmethod
    def from_config(
        cls, site: SiteConfig, model_id: str, config_hash: str, keep_every_frame: bool = False
    ) -> EvidenceRecorder:
        """Build from the site file: loads (or creates) the device key and opens the index.

        ``keep_every_frame`` makes the frame path wait for the encoder instead of dropping frames
        when it falls behind: replay wants every frame (and the same evidence every run), the
        live service wants its frame rate.
        """
        cfg = site.evidence
        try:
            key = signing.load_or_create(cfg.private_key_path()) if cfg.enabled else None
        except (OSError, signing.DeviceKeyError) as exc:
            raise EvidenceUnavailable(f"device key {cfg.private_key_path()}: {exc}") from exc
        device = DeviceContext(
            site_id=site.site.id,
            site_name=site.site.name,
            location=site.site.location,
            timezone=site.site.timezone,
            device_id=site.site.device_id,
            config_sha256=config_hash,
            model_id=model_id,
            model_sha256=file_sha256(site.detector.model),
            software_version=software_version(),
            public_key_sha256=signing.fingerprint(key.public_key()) if key else "",
        )
        try:
            return cls(cfg, device, key, keep_every_frame=keep_every_frame)
        except (OSError, RuntimeError, sqlite3.Error) as exc:
            raise EvidenceUnavailable(f"evidence root {cfg.root}: {exc}") from exc

    # -- frame path ------------------------------------------------------------------------------

    def on_frame(
        self,
        frame_index: int,
        t: float,
        utc: float,
        image_bgr: np.ndarray,
        tracks: Detections,
        signal_states: dict[str, SignalReading],
    ) -> None:
        """Hand the frame and its boxes to the encoder; finished violations go on once it is buffered."""
        if self.encoder is None or self._closed:
            return
        self.stats.frames_seen += 1
        self._last_t = t
        if frame_index % self.config.encode_every_n:
            return
        ids = tracks.tracker_id if tracks.tracker_id is not None else np.full(len(tracks), -1, np.int64)
        # Boxes are copied (small); the image is not: the pipeline never draws on its frames.
        raw = RawFrame(frame_index, t, utc, image_bgr, tracks.xyxy.copy(), ids.copy(), dict(signal_states))
        self.encoder.submit(raw)

    def on_violation(self, event: CrossingEvent, signal_changes: list[SignalChange]) -> None:
        """Register the violation; it is written once its post-roll has been buffered."""
        if not self.config.enabled or self._closed or event.type is not EventType.VIOLATION:
            return
        end_t = event.entry_t + max(self.config.post_roll_s, self.config.inside_delay_s)
        with self._lock:
            if event.event_id in self._pending:
                return
            self.stats.violations += 1
            self._pending[event.event_id] = EvidenceJob(event, list(signal_changes), ready_t=end_t)
            self._drop_excess()
        buffered_t = self.encoder.last_buffered_t if self.encoder else None
        if buffered_t is not None and buffered_t >= end_t:
            self._dispatch_ready(buffered_t)  # decided late: everything is already buffered

    def _window(self, job: EvidenceJob) -> list[BufferedFrame]:
        return self.ring.window(job.event.entry_t - self.config.pre_roll_s, job.ready_t)

    def _dispatch_ready(self, t: float) -> None:
        """Submit the jobs whose post-roll is buffered up to ``t`` (runs on the encoder thread)."""
        assert self._background is not None
        with self._lock:
            if not self._pending:
                return
            for event_id, job in list(self._pending.items()):
                if t < job.ready_t:
                    continue
                if not job.frames:
                    job.frames = self._window(job)  # taken now: the ring will soon drop them
                if self._background.submit(job):
                    del self._pending[event_id]

    def _drop_excess(self) -> None:
        limit = self.config.queue_size * MAX_PENDING_FACTOR
        while len(self._pending) > limit:
            event_id = next(iter(self._pending))
            del self._pending[event_id]
            self.stats.jobs_dropped += 1
            self.monitor.note_unwritten(event_id, "too many violations waiting for the evidence writer", True)

    # -- shutdown --------------------------------------------------------------------------------

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Write every pending violation with whatever post-roll exists; True when all are written."""
        if self._background is None:
            return True
        deadline = time.monotonic() + timeout_s
        if self.encoder is not None:
            self.encoder.drain(timeout_s / 2)  # the frames already seen belong in the evidence
        with self._lock:
            jobs = list(self._pending.values())
            self._pending.clear()
        for job in jobs:
            if not job.frames:
                job.frames = self._window(job)
            last_t = self.encoder.last_buffered_t if self.encoder else self._last_t
            if last_t is not None and last_t < job.ready_t:
                job.partial_reason = f"post-roll cut short at shutdown: last frame at t={last_t:.3f}"
            if not self._background.submit(job, timeout_s=max(0.01, deadline - time.monotonic())):
                self.stats.jobs_dropped += 1
                self.monitor.note_unwritten(job.event.event_id, "evidence writer did not accept it in time", True)
        return self._background.flush(max(0.0, deadline - time.monotonic()))

    def close(self, timeout_s: float = 30.0) -> bool:
        if self._closed:
            return True
        done = self.flush(timeout_s)
        self._closed = True
        if self.encoder is not None:
            self.encoder.stop(1.0)
        if self._background is not None:
            self._background.stop(timeout_s)
        return done

    # -- reporting -------------------------------------------------------------------------------

    def add_listener(self, callback: Callable[[EvidenceRecord], None]) -> None:
        """``callback(record)`` runs on the writer thread once an event's evidence is committed."""
        self._listeners.append(callback)

    def add_unwritten_listener(self, callback: Callable[[UnwrittenEvidence], None]) -> None:
        """``callback(unwritten)`` runs, in the thread that finds it, for each violation whose evidence is lost."""
        self.monitor.listeners.append(callback)

    def committed(self, event_ids: list[str]) -> dict[str, EvidenceRecord]:
        """The committed evidence of those events that have it, read from the index (any thread)."""
        if not self.config.enabled or not event_ids:
            return {}
        index = EvidenceIndex(self.config.root / INDEX_FILE)
        try:
            found = {}
            for event_id in event_ids:
                row = index.event(event_id)
                if row is not None:
                    files = tuple(EvidenceFile(f.relpath, f.kind, f.size, f.sha256) for f in index.files(event_id))
                    found[event_id] = EvidenceRecord(event_id, row.folder, row.seq, row.manifest_sha256, files)
            return found
        finally:
            index.close()

    def without_outcome(self, event_ids: list[str]) -> list[str]:
        """Those of ``event_ids`` with neither committed evidence nor a recorded loss in the index."""
        if not self.config.enabled or not event_ids:
            return []
        index = EvidenceIndex(self.config.root / INDEX_FILE)
        try:
            known = {r[0] for r in index.db.execute("SELECT event_id FROM events UNION SELECT event_id FROM unwritten")}
        finally:
            index.close()
        return [e for e in dict.fromkeys(event_ids) if e not in known]

    def note_lost(self, event_id: str, reason: str) -> None:
        """Record that ``event_id``'s evidence will never exist (index ``unwritten`` table, status, listeners)."""
        log.error("evidence %s lost: %s", event_id, reason)
        index = EvidenceIndex(self.config.root / INDEX_FILE)
        try:
            index.record_unwritten(event_id, reason)
        finally:
            index.close()
        self.monitor.note_unwritten(event_id, reason, alarm=False)

    def records(self) -> list[EvidenceRecord]:
        """Evidence committed since start (newest last, bounded)."""
        return list(self._background.records) if self._background else []

    def wait_buffered(self, timeout_s: float = 10.0) -> bool:
        """Wait until every frame handed over so far is in the ring (tools and tests)."""
        return self.encoder.drain(timeout_s) if self.encoder else True

    def pending(self) -> int:
        waiting = len(self._pending)
        return waiting + (self._background.pending() if self._background else 0)

    def storage_status(self) -> StorageStatus:
        return self.monitor.status()
