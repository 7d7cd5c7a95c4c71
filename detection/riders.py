"""Riders: which tracked people are riding a bicycle or motorcycle.

Detectors call a cyclist a ``person`` (and the bicycle a ``bicycle``), so without this a
cyclist passing through the crosswalk would be judged as a pedestrian. A person rides a
vehicle when the vehicle box covers most of the lower half of their box — the legs are on
the vehicle — frame after frame while they move: a bicycle leaning on a post or a
cyclist passing by covers someone's legs for a moment, not for ``confirm_frames`` frames in
a row. The evidence is counted with hysteresis: it rises by one per frame with overlap and
falls by one per frame without (up to ``confirm_frames``), and a person becomes a rider when
it reaches the top and stops being one only when it is back at zero, so one missed vehicle
box does not turn a rider into a pedestrian.

Pure and deterministic: boxes in, track ids out; no clock, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detection.types import Detections

FORGET_AFTER_FRAMES = 300  # a track id unseen this long is gone (far beyond any lost-track buffer)


def lower_body(xyxy: np.ndarray) -> np.ndarray:
    """(n, 4) lower half of every person box: hips to feet, the part that sits on a vehicle."""
    lower = np.array(xyxy, np.float32, copy=True).reshape(-1, 4)
    lower[:, 1] = (lower[:, 1] + lower[:, 3]) / 2.0
    return lower


def coverage(people: np.ndarray, vehicles: np.ndarray) -> np.ndarray:
    """(n, m) fraction of each person's lower half that each vehicle box covers (0..1).

    Example:
        >>> coverage(np.array([[0, 0, 10, 20]]), np.array([[0, 10, 10, 20], [5, 15, 30, 40]])).round(2).tolist()
        [[1.0, 0.25]]
    """
    lower = lower_body(people)
    vehicles = np.asarray(vehicles, np.float32).reshape(-1, 4)
    width = np.minimum(lower[:, None, 2], vehicles[None, :, 2]) - np.maximum(lower[:, None, 0], vehicles[None, :, 0])
    height = np.minimum(lower[:, None, 3], vehicles[None, :, 3]) - np.maximum(lower[:, None, 1], vehicles[None, :, 1])
    inter = np.clip(width, 0, None) * np.clip(height, 0, None)
    area = (lower[:, 2] - lower[:, 0]) * (lower[:, 3] - lower[:, 1])
    return inter / np.maximum(area, 1e-6)[:, None]


@dataclass
class _Evidence:
    count: int = 0
    riding: bool = False
    last_frame: int = 0


class RiderAssociator:
    """Tells, frame by frame, which tracked people ride one of the given vehicle boxes.

    Example:
        >>> riders = RiderAssociator(min_overlap=0.5, confirm_frames=2)
        >>> person = Detections.from_lists([[100, 0, 120, 60]], [0.9], [0], [7])
        >>> bike = Detections.from_lists([[95, 30, 125, 62]], [0.6], [1])
        >>> [sorted(riders.update(person, bike)) for _ in range(2)]
        [[], [7]]
        >>> sorted(riders.update(person, Detections.empty()))  # one missed bicycle box
        [7]
    """

    def __init__(self, min_overlap: float, confirm_frames: int) -> None:
        if not 0 < min_overlap <= 1 or confirm_frames < 1:
            raise ValueError("min_overlap must be in (0, 1] and confirm_frames at least 1")
        self.min_overlap = min_overlap
        self.confirm_frames = confirm_frames
        self._evidence: dict[int, _Evidence] = {}
        self._frame = 0

    def update(self, tracks: Detections, vehicles: Detections) -> frozenset[int]:
        """Weigh one detected frame's overlaps; return the ids of the tracks riding now."""
        if tracks.tracker_id is None:
            raise ValueError("RiderAssociator.update needs tracked people (tracker_id set)")
        self._frame += 1
        overlapping = np.zeros(len(tracks), bool)
        if len(tracks) and len(vehicles):
            overlapping = coverage(tracks.xyxy, vehicles.xyxy).max(axis=1) >= self.min_overlap
        for track_id, overlaps in zip(tracks.tracker_id.tolist(), overlapping.tolist(), strict=True):
            evidence = self._evidence.setdefault(track_id, _Evidence())
            evidence.last_frame = self._frame
            evidence.count = min(evidence.count + 1, self.confirm_frames) if overlaps else max(evidence.count - 1, 0)
            if evidence.count == self.confirm_frames:
                evidence.riding = True
            elif evidence.count == 0:
                evidence.riding = False
        self._forget(self._frame - FORGET_AFTER_FRAMES)
        return self.riding(tracks)

    def riding(self, tracks: Detections) -> frozenset[int]:
        """Ids of the given tracks that ride as far as known, without new evidence (a skipped frame)."""
        ids = [] if tracks.tracker_id is None else tracks.tracker_id.tolist()
        return frozenset(i for i in ids if i in self._evidence and self._evidence[i].riding)

    def _forget(self, before: int) -> None:
        for track_id in [i for i, e in self._evidence.items() if e.last_frame < before]:
            del self._evidence[track_id]
