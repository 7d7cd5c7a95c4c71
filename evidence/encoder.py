"""JPEG encoding of buffered frames on a thread of its own, so the frame path only hands over a reference.

Encoding a frame costs about as much as a tenth of a small model's inference; done on the frame
path it comes straight off the detector's frame rate. Here the frame loop queues the picture (the
pipeline never draws on its frames, so no copy is needed) and this thread encodes it into the ring.

Two policies for a full queue, because the two callers want different things:

* the live service **drops** the new frame and counts it: warning latency matters more than one
  more frame of pre-roll, and a box that cannot keep up must not build up lag or memory;
* replay **waits**, so every frame is buffered and two runs over the same clip record the same
  evidence.

The thread runs at a lower scheduling priority (Linux ``nice`` applies per thread), so on a busy
box the detector gets the cores first and encoding uses what is left between frames.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from edge.signal.types import SignalReading
from evidence.ring import FrameRing
from evidence.types import BufferedFrame

log = logging.getLogger(__name__)

ENCODER_NICE = 5  # below the frame loop and ONNX Runtime's threads, above the evidence writer (10)


def lower_thread_priority(niceness: int) -> None:
    """Make the calling thread yield the CPU to normal-priority threads (Linux; a no-op elsewhere)."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or a sandbox that forbids it
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)


@dataclass(frozen=True)
class RawFrame:
    """A frame as the pipeline saw it, waiting to be encoded."""

    frame_index: int
    t: float
    utc: float
    image: np.ndarray
    boxes: np.ndarray
    track_ids: np.ndarray
    signals: dict[str, SignalReading]


@dataclass
class EncoderStats:
    encoded: int = 0
    dropped: int = 0  # not encoded: the queue was full (live policy)
    rejected: int = 0  # not an image, or the encoder failed on it
    encode_s: float = 0.0  # total encoding time, on the encoder thread


class FrameEncoder:
    """Bounded queue of raw frames → JPEG → ``ring``; ``on_buffered(t)`` after each frame lands."""

    def __init__(
        self,
        ring: FrameRing,
        quality: int,
        max_queued: int,
        wait_when_full: bool,
        on_buffered: Callable[[float], None],
    ) -> None:
        self.ring = ring
        self.quality = quality
        self.max_queued = max_queued
        self.wait_when_full = wait_when_full
        self.on_buffered = on_buffered
        self.stats = EncoderStats()
        self.last_buffered_t: float | None = None
        self._queue: deque[RawFrame] = deque()
        self._busy = False
        self._stopping = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="evidence-encoder", daemon=True)
        self._thread.start()

    def submit(self, frame: RawFrame) -> bool:
        """Queue a frame; False when it was dropped (full queue under the live policy, or stopped)."""
        with self._cond:
            if self.wait_when_full:
                self._cond.wait_for(lambda: len(self._queue) < self.max_queued or self._stopping)
            if self._stopping or len(self._queue) >= self.max_queued:
                self.stats.dropped += 1
                return False
            self._queue.append(frame)
            self._cond.notify_all()
            return True

    @property
    def thread_id(self) -> int | None:
        """The encoder thread's kernel id (its priority can be read in /proc)."""
        return self._thread.native_id

    def queued(self) -> int:
        with self._cond:
            return len(self._queue) + int(self._busy)

    def drain(self, timeout_s: float) -> bool:
        """Wait until every queued frame is in the ring; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout=timeout_s)

    def stop(self, timeout_s: float) -> None:
        self.drain(timeout_s)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout=max(0.1, timeout_s))

    def _run(self) -> None:
        lower_thread_priority(ENCODER_NICE)
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._stopping)
                if not self._queue:
                    return
                frame = self._queue.popleft()
                self._busy = True
                self._cond.notify_all()  # a waiting submitter may go on
            try:
                self._encode(frame)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _encode(self, frame: RawFrame) -> None:
        started = time.perf_counter()
        try:
            ok, buf = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        except (cv2.error, ValueError, TypeError, AttributeError) as exc:
            ok, buf, reason = False, None, str(exc)
        else:
            reason = "JPEG encoding failed"
        self.stats.encode_s += time.perf_counter() - started
        if not ok or buf is None:
            if self.stats.rejected == 0:  # once: a camera sending garbage would flood the log
                log.error("frame %d not buffered for evidence: %s", frame.frame_index, reason)
            self.stats.rejected += 1
            return
        self.ring.push(
            BufferedFrame(
                frame.frame_index, frame.t, frame.utc, buf.tobytes(), frame.boxes, frame.track_ids, frame.signals
            )
        )
        self.stats.encoded += 1
        self.last_buffered_t = frame.t
        try:
            self.on_buffered(frame.t)
        except Exception:  # a fault in hand-off must not kill the encoder: later frames still buffer
            log.exception("evidence hand-off after frame %d failed", frame.frame_index)
