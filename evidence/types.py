"""Evidence records and enums shared by the recorder, the writer, the index and the review API."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

from edge.events import CrossingEvent
from edge.signal.types import SignalChange, SignalReading


class ReviewState(str, Enum):
    NEW = "new"  # not yet reviewed: never deleted
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class FileKind(str, Enum):
    ORIGINAL = "original"  # clean frame as captured
    CLOSEUP = "closeup"
    SHEET = "sheet"  # composite evidence sheet
    CLIP = "clip"
    MANIFEST = "manifest"
    SIGNATURE = "signature"


# Kinds retention may delete; the manifest and its signature stay so the chain keeps verifying.
PURGEABLE_KINDS = (FileKind.ORIGINAL, FileKind.CLOSEUP, FileKind.SHEET, FileKind.CLIP)


@dataclass(frozen=True)
class BufferedFrame:
    """One frame in the ring buffer: JPEG bytes plus what the tracker saw on it."""

    frame_index: int
    t: float
    utc: float
    jpeg: bytes
    boxes: np.ndarray  # (n, 4) float32 xyxy
    track_ids: np.ndarray  # (n,) int64; -1 for untracked boxes
    signals: dict[str, SignalReading]

    def box_of(self, track_id: int) -> tuple[float, float, float, float] | None:
        hits = np.flatnonzero(self.track_ids == track_id)
        if not len(hits):
            return None
        x1, y1, x2, y2 = (float(v) for v in self.boxes[hits[0]])
        return (x1, y1, x2, y2)

    def other_boxes(self, track_id: int) -> np.ndarray:
        return self.boxes[self.track_ids != track_id]


@dataclass
class EvidenceJob:
    """A violation waiting for its post-roll, then for the writer."""

    event: CrossingEvent
    signal_changes: list[SignalChange]
    ready_t: float  # frame time after which every needed frame is buffered
    frames: list[BufferedFrame] = field(default_factory=list)
    partial_reason: str = ""  # set when written before the post-roll was complete (shutdown)


@dataclass(frozen=True)
class EvidenceFile:
    relpath: str  # relative to the event folder
    kind: FileKind
    size: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.relpath, "kind": self.kind.value, "size": self.size, "sha256": self.sha256}


@dataclass(frozen=True)
class EvidenceRecord:
    """Committed evidence of one event, as published to the traffic centre."""

    event_id: str
    folder: str  # relative to the evidence root
    sequence: int
    manifest_sha256: str
    files: tuple[EvidenceFile, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "folder": self.folder,
            "sequence": self.sequence,
            "manifest_sha256": self.manifest_sha256,
            "files": [f.to_dict() for f in self.files],
        }


@dataclass(frozen=True)
class UnwrittenEvidence:
    """Evidence that could not be stored, reported with the storage alarm."""

    event_id: str
    utc: float
    reason: str


@dataclass(frozen=True)
class StorageStatus:
    alarm: bool
    reason: str
    free_bytes: int
    stored_bytes: int
    unwritten: tuple[UnwrittenEvidence, ...] = ()
