"""What the decision core decides: crossings and violations. Pure data."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from edge.signal.types import SignalState

# Fixed namespace so the same site, crosswalk, track and entry instant always give the same id.
EVENT_NAMESPACE = uuid.UUID("6f1c2a52-8d7e-4c1b-9a3e-3f1d2c4b5a69")


class EventType(str, Enum):
    CROSSING = "crossing"
    VIOLATION = "violation"
    PRE_WARNING = "pre_warning"  # at the curb edge on DON'T WALK, warned before stepping off (edge/prewarn.py)


def event_id(site_id: str, camera_id: str, crosswalk_id: str, kind: EventType, entry_utc: float, track: int) -> str:
    """Stable id: the same inputs give the same id, so replays are comparable and the centre can dedupe."""
    key = f"{site_id}/{camera_id}/{crosswalk_id}/{kind.value}/{round(entry_utc * 1000)}/{track}"
    return str(uuid.uuid5(EVENT_NAMESPACE, key))


@dataclass(frozen=True)
class CrossingEvent:
    """A person who stepped into a crosswalk and walked in far enough to count as crossing.

    ``type`` is VIOLATION when they entered on DON'T WALK (past the grace period); a
    violation is always accompanied by its CROSSING event (same track, same entry).
    Times: ``*_t`` are pipeline seconds (media time in replay), ``*_utc`` epoch seconds.
    Boxes and points are source-image pixels.
    """

    event_id: str
    type: EventType
    site_id: str
    camera_id: str
    crosswalk_id: str
    signal_group: str
    track_id: int
    direction: str
    from_curb: str
    to_curb: str
    entry_frame: int
    entry_t: float
    entry_utc: float
    decided_frame: int
    decided_t: float
    decided_utc: float
    signal_state: SignalState
    signal_since_t: float | None
    since_dont_walk_s: float | None
    enforced: bool
    entry_observed: bool
    reason: str
    foot_point: tuple[float, float]
    box: tuple[float, float, float, float]
    score: float
    entry_box: tuple[float, float, float, float] = field(default=(0.0, 0.0, 0.0, 0.0))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with rounded numbers so output is byte-stable across runs."""
        out = asdict(self)
        out["type"] = self.type.value
        out["signal_state"] = self.signal_state.value
        for key in ("entry_t", "decided_t", "signal_since_t", "since_dont_walk_s"):
            if out[key] is not None:
                out[key] = round(out[key], 3)
        for key in ("entry_utc", "decided_utc"):
            out[key] = round(out[key], 3)
        out["foot_point"] = [round(v, 1) for v in self.foot_point]
        out["box"] = [round(v, 1) for v in self.box]
        out["entry_box"] = [round(v, 1) for v in self.entry_box]
        out["score"] = round(self.score, 3)
        return out
