"""Decision-to-driver latency: time from ``on_violation`` entry to the driver being handed the command."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LatencySummary:
    count: int
    p50_ms: float
    p95_ms: float
    max_ms: float

    def __str__(self) -> str:
        return f"n={self.count} p50={self.p50_ms:.3f} ms p95={self.p95_ms:.3f} ms max={self.max_ms:.3f} ms"


class LatencyLog:
    """Bounded per-device record of hand-over latencies (seconds), safe across worker threads."""

    def __init__(self, keep: int = 100_000) -> None:
        self._keep = keep
        self._samples: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def record(self, device: str, seconds: float) -> None:
        with self._lock:
            self._samples.setdefault(device, deque(maxlen=self._keep)).append(seconds)

    def samples(self, device: str | None = None) -> list[float]:
        with self._lock:
            if device is not None:
                return list(self._samples.get(device, ()))
            return [s for values in self._samples.values() for s in values]

    def summary(self, device: str | None = None) -> LatencySummary | None:
        values = self.samples(device)
        if not values:
            return None
        ms = np.asarray(values) * 1000.0
        return LatencySummary(len(ms), float(np.percentile(ms, 50)), float(np.percentile(ms, 95)), float(ms.max()))
