"""Memory-bounded buffer of recent frames, JPEG-compressed, so evidence can reach back before a decision."""

from __future__ import annotations

import threading
from collections import deque

from evidence.types import BufferedFrame


class FrameRing:
    """Keeps the newest frames covering ``seconds`` of frame time and at most ``max_bytes`` of JPEG data.

    The byte cap wins over the time span: under it the oldest frames go first, so a burst of
    large frames shortens the history instead of growing memory.
    """

    def __init__(self, seconds: float, max_bytes: int) -> None:
        self.seconds = seconds
        self.max_bytes = max_bytes
        self._frames: deque[BufferedFrame] = deque()
        self._bytes = 0
        self._lock = threading.Lock()  # the writer thread never touches it, but tools and tests may read

    def __len__(self) -> int:
        return len(self._frames)

    @property
    def bytes_used(self) -> int:
        return self._bytes

    @property
    def span_s(self) -> float:
        with self._lock:
            return self._frames[-1].t - self._frames[0].t if self._frames else 0.0

    def push(self, frame: BufferedFrame) -> None:
        with self._lock:
            self._frames.append(frame)
            self._bytes += len(frame.jpeg)
            oldest_kept = frame.t - self.seconds
            while self._frames and (self._frames[0].t < oldest_kept or self._bytes > self.max_bytes):
                self._bytes -= len(self._frames.popleft().jpeg)

    def window(self, t0: float, t1: float) -> list[BufferedFrame]:
        """Frames with t0 <= t <= t1, oldest first (references: buffered frames are immutable)."""
        with self._lock:
            return [f for f in self._frames if t0 <= f.t <= t1]
