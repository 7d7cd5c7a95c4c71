"""Clock-sync status for the manifest, read from the kernel's NTP state (adjtimex) when available."""

from __future__ import annotations

import ctypes
import ctypes.util
from dataclasses import asdict, dataclass
from typing import Any

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


@dataclass(frozen=True)
class ClockStatus:
    synchronised: bool | None  # None: unknown on this platform
    offset_s: float | None  # kernel's current offset to the reference, when synchronised
    max_error_s: float | None
    source: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_clock_status() -> ClockStatus:
    """Ask the kernel (read-only adjtimex, modes=0) whether NTP has disciplined the clock."""
    libc_name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        tx = _Timex()
        state = libc.adjtimex(ctypes.byref(tx))
    except (OSError, AttributeError):
        return ClockStatus(None, None, None, "unavailable")
    if state < 0:
        return ClockStatus(None, None, None, "adjtimex failed")
    synced = state != TIME_ERROR and not (tx.status & STA_UNSYNC)
    scale = 1e-9 if tx.status & STA_NANO else 1e-6
    return ClockStatus(
        synchronised=synced,
        offset_s=round(tx.offset * scale, 6) if synced else None,
        max_error_s=round(tx.maxerror * 1e-6, 6),
        source="adjtimex",
    )
