"""Frame time: a monotonic capture clock mapped to UTC, and whether the system clock is NTP-synced.

Frames are stamped with ``time.monotonic()`` (never jumps), so time differences inside the
pipeline stay right when NTP steps the wall clock. UTC for records is the monotonic time
plus an offset taken from the wall clock; the offset is re-taken only when the two have
drifted apart by more than ``max_drift_s`` (an NTP step), so UTC stamps stay monotonic
between steps and each step is logged.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from typing import Any

log = logging.getLogger(__name__)


class ClockMap:
    def __init__(self, max_drift_s: float = 0.5) -> None:
        self.max_drift_s = max_drift_s
        self.start_mono = time.monotonic()
        self._offset = time.time() - self.start_mono
        self.steps = 0

    def t(self, mono: float) -> float:
        """Pipeline time: seconds since the service started."""
        return mono - self.start_mono

    def utc(self, mono: float) -> float:
        return mono + self._offset

    def resync(self) -> float:
        """Re-take the offset if the wall clock was stepped; returns the drift found (seconds)."""
        drift = (time.time() - time.monotonic()) - self._offset
        if abs(drift) > self.max_drift_s:
            log.warning("clock: wall clock moved %.3f s against the monotonic clock; re-anchoring UTC", drift)
            self._offset += drift
            self.steps += 1
        return drift


@dataclass(frozen=True)
class ClockSync:
    synchronised: bool | None  # None: the system does not say
    offset_s: float | None
    source: str  # chronyc, timedatectl or unknown

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _run(args: list[str]) -> str | None:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=2, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def read_clock_sync() -> ClockSync:
    """Ask chrony for the offset, else timedatectl for the synced flag, else report unknown."""
    if shutil.which("chronyc"):
        out = _run(["chronyc", "-c", "tracking"])
        fields = out.split(",") if out else []
        if len(fields) >= 14:
            synced = fields[13].strip().lower() not in ("not synchronised", "unsynchronised")
            try:
                offset = float(fields[4])
            except ValueError:
                offset = None
            return ClockSync(synced, offset, "chronyc")
    if shutil.which("timedatectl"):
        out = _run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
        if out in ("yes", "no"):
            return ClockSync(out == "yes", None, "timedatectl")
    return ClockSync(None, None, "unknown")
