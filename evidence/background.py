"""The background writer: one thread, a bounded queue, and the storage alarm it raises."""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from evidence.encoder import lower_thread_priority
from evidence.index import EvidenceIndex
from evidence.storage import free_bytes
from evidence.types import EvidenceJob, EvidenceRecord, StorageStatus, UnwrittenEvidence
from evidence.writer import AlreadyRecorded, EventWriter, NothingToWrite, StorageFull

log = logging.getLogger(__name__)
RETENTION_INTERVAL_S = 3600.0
WRITER_NICE = 10
MAX_REMEMBERED = 1000  # committed records and unwritten events kept in memory for reporting

_STOP = object()


class StorageMonitor:
    """Thread-safe storage alarm: raised when evidence could not be written, with what was lost."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._alarm_reason = ""
        self._unwritten: deque[UnwrittenEvidence] = deque(maxlen=MAX_REMEMBERED)
        self.stored_bytes = 0
        self.listeners: list[Callable[[UnwrittenEvidence], None]] = []  # told of each loss, in the caller's thread

    def note_unwritten(self, event_id: str, reason: str, alarm: bool) -> None:
        lost = UnwrittenEvidence(event_id, time.time(), reason)
        with self._lock:
            if alarm:
                self._alarm_reason = reason
            self._unwritten.append(lost)
        for listener in self.listeners:
            try:
                listener(lost)
            except Exception:
                log.exception("unwritten-evidence listener failed for %s", event_id)

    def clear_alarm(self) -> None:
        with self._lock:
            self._alarm_reason = ""

    def status(self) -> StorageStatus:
        with self._lock:
            return StorageStatus(
                alarm=bool(self._alarm_reason),
                reason=self._alarm_reason,
                free_bytes=free_bytes(self.root),
                stored_bytes=self.stored_bytes,
                unwritten=tuple(self._unwritten),
            )


class BackgroundWriter:
    """Owns the writer thread. ``submit`` never blocks the frame path; it reports a full queue."""

    def __init__(
        self,
        writer: EventWriter,
        queue_size: int,
        monitor: StorageMonitor,
        listeners: list[Callable[[EvidenceRecord], None]],
    ) -> None:
        self.writer = writer
        self.monitor = monitor
        self.listeners = listeners
        self.records: deque[EvidenceRecord] = deque(maxlen=MAX_REMEMBERED)
        self._queue: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        self._ready = threading.Event()
        self._open_error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="evidence-writer", daemon=True)
        self._next_retention = 0.0

    def start(self, timeout_s: float = 60.0) -> None:
        """Start the thread; returns once the index is open and crash recovery is done."""
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise RuntimeError(f"evidence writer did not start within {timeout_s} s")
        if self._open_error is not None:
            raise self._open_error

    def submit(self, job: EvidenceJob, timeout_s: float | None = None) -> bool:
        try:
            if timeout_s is None:
                self._queue.put_nowait(job)
            else:
                self._queue.put(job, timeout=timeout_s)
        except queue.Full:
            return False
        return True

    def pending(self) -> int:
        return self._queue.unfinished_tasks

    def flush(self, timeout_s: float) -> bool:
        """Wait until every submitted job is written; False on timeout."""
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks and time.monotonic() < deadline and self._thread.is_alive():
            time.sleep(0.01)
        return self._queue.unfinished_tasks == 0

    def stop(self, timeout_s: float) -> bool:
        done = self.flush(timeout_s)
        if self._thread.is_alive():
            with contextlib.suppress(queue.Full):  # the thread is stuck; it is a daemon and dies with us
                self._queue.put(_STOP, timeout=max(0.1, timeout_s))
            self._thread.join(timeout_s)
        return done

    # -- the thread ------------------------------------------------------------------------------

    def _run(self) -> None:
        lower_thread_priority(WRITER_NICE)  # below the frame path and the encoder; ffmpeg inherits it
        try:
            self.writer.open()
            self.monitor.stored_bytes = self._index().stored_bytes()
        except BaseException as exc:  # reported to start(); the service decides what to do
            self._open_error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            while True:
                self._maybe_purge_expired()
                try:
                    item = self._queue.get(timeout=60.0)
                except queue.Empty:
                    continue
                try:
                    if item is _STOP:
                        return
                    self._handle(item)  # type: ignore[arg-type]
                finally:
                    self._queue.task_done()
        finally:
            self.writer.close()

    def _index(self) -> EvidenceIndex:
        """The writer's index connection, opened in this thread."""
        assert self.writer.index is not None
        return self.writer.index

    def _handle(self, job: EvidenceJob) -> None:
        event_id = job.event.event_id
        try:
            record = self.writer.write(job)
        except StorageFull as exc:
            self._unwritten(event_id, f"storage full: {exc}", alarm=True)
            return
        except AlreadyRecorded as exc:
            log.info("%s", exc)
            return
        except NothingToWrite as exc:
            self._unwritten(event_id, str(exc), alarm=False)
            return
        except Exception as exc:  # never let one bad event stop the writer
            log.exception("evidence %s: write failed", event_id)
            self._unwritten(event_id, f"write failed: {exc}", alarm=True)
            return
        self.monitor.clear_alarm()
        self.monitor.stored_bytes = self._index().stored_bytes()
        self.records.append(record)
        log.info("evidence %s committed in %s (%d files)", event_id, record.folder, len(record.files))
        for listener in self.listeners:
            try:
                listener(record)
            except Exception:
                log.exception("evidence listener failed for %s", event_id)

    def _unwritten(self, event_id: str, reason: str, alarm: bool) -> None:
        log.error("%sevidence %s not written: %s", "STORAGE ALARM: " if alarm else "", event_id, reason)
        self.monitor.note_unwritten(event_id, reason, alarm)
        try:
            self._index().record_unwritten(event_id, reason)
        except Exception as exc:  # the index lives on the same full disk
            log.warning("could not note unwritten evidence %s in the index: %s", event_id, exc)

    def _maybe_purge_expired(self) -> None:
        now = time.monotonic()
        if now < self._next_retention:
            return
        self._next_retention = now + RETENTION_INTERVAL_S
        try:
            assert self.writer.retention is not None
            self.writer.retention.purge_expired()
        except Exception:
            log.exception("evidence retention failed")
