"""Frame time: a monotonic capture clock mapped to UTC, and whether the system clock is NTP-synced.

One reading of the sync state serves status, metrics and evidence manifests alike.

Frames are stamped with ``time.monotonic()`` (never jumps), so time differences inside the
pipeline stay right when NTP steps the wall clock. UTC for records is the monotonic time
plus an offset taken from the wall clock; the offset is re-taken only when the two have
drifted apart by more than ``max_drift_s`` (an NTP step), so UTC stamps stay monotonic
between steps and each step is logged.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
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
    offset_s: float | None  # offset from the NTP reference, where the system says
    max_error_s: float | None  # the bound on that offset, where the system says
    source: str  # chronyc, adjtimex or unknown

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


UNKNOWN = ClockSync(None, None, None, "unknown")


def _run(args: list[str]) -> str | None:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=2, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def read_clock_sync() -> ClockSync:
    """chrony's own account when it runs (it knows the offset), else the kernel's NTP state.

    Every NTP daemon (chrony, ntpd, systemd-timesyncd) reports to the kernel whether it has
    synchronised the clock, so ``adjtimex`` answers whichever one the box runs; it is also what
    ``timedatectl`` shows as ``NTPSynchronized``. chrony does not steer the kernel's offset, so
    its own figure is taken first.
    """
    return _from_chrony() or _from_kernel() or UNKNOWN


def _from_chrony() -> ClockSync | None:
    if not shutil.which("chronyc"):
        return None
    out = _run(["chronyc", "-c", "tracking"])
    return parse_chrony_tracking(out) if out else None


def parse_chrony_tracking(line: str) -> ClockSync | None:
    """One ``chronyc -c tracking`` line (comma-separated; the offset is field 4, root delay and
    dispersion fields 10 and 11, leap status field 13); None for anything else."""
    fields = [f.strip() for f in line.split(",")]
    if len(fields) < 14:
        return None
    synced = fields[13].lower() not in ("not synchronised", "unsynchronised")
    try:
        offset: float | None = float(fields[4])
        max_error: float | None = float(fields[10]) / 2 + float(fields[11])  # root delay / 2 + dispersion
    except ValueError:
        offset = max_error = None
    return ClockSync(synced, offset, max_error, "chronyc")


TIME_ERROR = 5  # adjtimex return value: clock not synchronised
STA_UNSYNC = 0x0040
STA_NANO = 0x2000


class _Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class _Timex(ctypes.Structure):
    # struct timex from <sys/timex.h>; the trailing padding fields are covered by _reserved.
    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("time", _Timeval),
        ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long),
        ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long),
        ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long),
        ("tai", ctypes.c_int),
        ("_reserved", ctypes.c_int * 11),
    ]


@functools.cache
def _libc() -> ctypes.CDLL:
    """The C library, found once: ``find_library`` runs ``ldconfig`` in a child process each time,
    and every evidence record asks for the clock's state."""
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def _from_kernel() -> ClockSync | None:
    """Ask the kernel (read-only ``adjtimex``, modes=0) whether NTP has disciplined the clock."""
    try:
        libc = _libc()
        tx = _Timex()
        state = libc.adjtimex(ctypes.byref(tx))
    except (OSError, AttributeError):  # not Linux
        return None
    if state < 0:
        return None
    synced = state != TIME_ERROR and not (tx.status & STA_UNSYNC)
    scale = 1e-9 if tx.status & STA_NANO else 1e-6
    return ClockSync(
        synchronised=synced,
        offset_s=round(tx.offset * scale, 6) if synced else None,
        max_error_s=round(tx.maxerror * 1e-6, 6),
        source="adjtimex",
    )
