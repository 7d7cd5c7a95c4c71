"""The capture thread: reads a source as fast as it delivers, keeps only the newest frame.

When the pipeline is slower than the camera, the frame waiting in the slot is replaced
and counted as dropped, so the service always works on the present instead of building
up lag. A lost source is closed and rebuilt with exponential back-off (capped, so a
returning camera is picked up within ``reconnect_max_s`` plus its connect time).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum

import numpy as np

from edge.capture.base import CaptureError, FrameSource
from edge.config.service import CaptureConfig

log = logging.getLogger(__name__)


class CaptureState(str, Enum):
    CONNECTING = "connecting"
    LIVE = "live"
    LOST = "lost"  # waiting to reconnect
    ENDED = "ended"  # a file that is not looped reached its end
    STOPPED = "stopped"


@dataclass(frozen=True)
class Grabbed:
    """A picture as it left the source.

    ``seq`` counts every frame read since start (dropped ones too), so it is a stable frame
    index; ``mono`` is ``time.monotonic()`` on arrival; ``media_t`` is set for file sources.
    """

    seq: int
    image: np.ndarray
    mono: float
    media_t: float | None = None


@dataclass(frozen=True)
class CaptureStats:
    state: CaptureState = CaptureState.CONNECTING
    frames_read: int = 0
    frames_dropped: int = 0
    reconnects: int = 0
    last_error: str = ""
    live_since: float | None = None  # monotonic time of the current connection's first frame
    lost_since: float | None = None  # monotonic time the source was lost (None while live)


class Capture:
    def __init__(
        self,
        make_source: Callable[[], FrameSource],
        config: CaptureConfig,
        drop_stale: bool = True,
        depth: int = 1,
    ) -> None:
        """``depth``: frames kept for the consumer, oldest taken first; a newer frame arriving when
        they are all waiting drops the oldest (a stale frame) unless ``drop_stale`` is off."""
        self._make_source = make_source
        self.config = config
        self.drop_stale = drop_stale
        self.depth = depth
        self._cond = threading.Condition()
        self._waiting: deque[Grabbed] = deque()
        self._stats = CaptureStats()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="capture", daemon=True)
        self._last_media_t: float | None = None  # keeps media time increasing if a file is reopened
        self.label = ""
        self._source: FrameSource | None = None

    # -- consumer side ---------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def get(self, timeout: float) -> Grabbed | None:
        """The oldest frame kept and not yet taken; None if none arrives within ``timeout``."""
        with self._cond:
            if not self._waiting:
                self._cond.wait_for(lambda: bool(self._waiting) or self._done(), timeout)
            grabbed = self._waiting.popleft() if self._waiting else None
            self._cond.notify_all()
            return grabbed

    def _done(self) -> bool:
        return self._stop.is_set() or self._stats.state in (CaptureState.ENDED, CaptureState.STOPPED)

    @property
    def stats(self) -> CaptureStats:
        with self._cond:
            return self._stats

    @property
    def waiting(self) -> int:
        """Frames kept and not taken yet: more than none after a take means the consumer is behind."""
        with self._cond:
            return len(self._waiting)

    @property
    def finished(self) -> bool:
        """A file reached its end (or capture was stopped) and every frame has been taken."""
        with self._cond:
            return self._stats.state in (CaptureState.ENDED, CaptureState.STOPPED) and not self._waiting

    def request_stop(self) -> None:
        """Take no more frames, without waiting for the capture thread (see ``stop``)."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()

    def stop(self, timeout: float = 10.0) -> None:
        self.request_stop()
        source = self._source
        if source is not None and source.close_interrupts_read:
            source.close()  # unblocks a read waiting on a silent camera
        # Other sources return from a read on their own (a file at once, V4L2 at its read timeout),
        # and the capture thread, seeing the stop, closes them itself.
        if self._thread.is_alive():
            self._thread.join(timeout)

    # -- capture thread --------------------------------------------------------------------------

    def _update(self, **changes: object) -> None:
        with self._cond:
            self._stats = replace(self._stats, **changes)  # type: ignore[arg-type]
            self._cond.notify_all()

    def _run(self) -> None:
        delay = self.config.reconnect_min_s
        while not self._stop.is_set():
            source = self._source = self._make_source()
            self.label = source.label
            got_frames = False
            try:
                self._update(state=CaptureState.CONNECTING)
                source.open()
                got_frames = self._read_all(source)
                if not self._stop.is_set():
                    self._update(state=CaptureState.ENDED)
                    log.info("capture: %s ended", source.label)
                    return
            except CaptureError as exc:
                if self._stop.is_set():
                    break
                self._lost(str(exc))
            except Exception as exc:  # a decoder bug must not end capture for good
                if self._stop.is_set():
                    break  # the source was closed under the read by stop()
                log.exception("capture: unexpected failure reading %s", source.label)
                self._lost(f"{source.label}: {type(exc).__name__}: {exc}")
            finally:
                source.close()
                self._source = None
            if got_frames:
                delay = self.config.reconnect_min_s
            self._stop.wait(delay)
            delay = min(delay * 2, self.config.reconnect_max_s)
        self._update(state=CaptureState.STOPPED)

    def _lost(self, error: str) -> None:
        stats = self.stats
        if stats.state is not CaptureState.LOST:
            log.warning("capture: source lost: %s", error)
        lost_since = stats.lost_since if stats.lost_since is not None else time.monotonic()
        self._update(
            state=CaptureState.LOST,
            last_error=error,
            reconnects=stats.reconnects + 1,
            live_since=None,
            lost_since=lost_since,
        )

    def _read_all(self, source: FrameSource) -> bool:
        """Read until the source ends (return) or fails (CaptureError); True once a frame arrived."""
        first = True
        offset = 0.0 if self._last_media_t is None else self._last_media_t + 1.0 / source.fps
        while not self._stop.is_set():
            image = source.read()
            if image is None:
                return not first
            now = time.monotonic()
            media_t = None
            if source.media_time:
                media_t = self._last_media_t = offset + source.media_t  # type: ignore[attr-defined]
            if first:
                self._connected(source, now)
                first = False
            self._publish(image, now, media_t)
        return not first

    def _connected(self, source: FrameSource, now: float) -> None:
        stats = self.stats
        if stats.lost_since is not None:
            log.info("capture: %s back after %.1f s", source.label, now - stats.lost_since)
        else:
            log.info("capture: %s live", source.label)
        self._update(state=CaptureState.LIVE, live_since=now, lost_since=None)

    def _publish(self, image: np.ndarray, now: float, media_t: float | None) -> None:
        with self._cond:
            if not self.drop_stale:
                self._cond.wait_for(lambda: len(self._waiting) < self.depth or self._stop.is_set())
            if self._stop.is_set():
                return  # stopping: the frame is not wanted, and it is no stale frame either
            full = len(self._waiting) >= self.depth
            dropped = self._stats.frames_dropped + (1 if full else 0)
            if full:
                self._waiting.popleft()
            seq = self._stats.frames_read
            self._waiting.append(Grabbed(seq, image, now, media_t))
            self._stats = replace(self._stats, frames_read=seq + 1, frames_dropped=dropped)
            self._cond.notify_all()
