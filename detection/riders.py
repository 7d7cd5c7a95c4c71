"""Riders: which tracked people are riding a bicycle or motorcycle.

Detectors call a cyclist a ``person`` (and the bicycle a ``bicycle``), so without this a
cyclist passing through the crosswalk would be judged as a pedestrian. A person rides a
vehicle when they are over it — most of their box's width lies over the vehicle box and
their feet within its height — frame after frame while they move: a parked bicycle or a
cyclist passing by lines up with a walker for a moment, not for ``confirm_frames`` frames in
a row. Someone pushing a bicycle can line up the same way and is then treated as a rider.
The evidence is counted with hysteresis: it rises by one per frame over a vehicle and falls
by one per frame without (up to ``confirm_frames``); a person becomes a rider when it
reaches the top and stops being one only when it is back at zero, so one missed vehicle
box does not turn a rider into a pedestrian.

Pure and deterministic: boxes in, track ids out; no clock, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detection.types import Detections

FORGET_AFTER_FRAMES = 300  # a track id unseen this long is gone (far beyond any lost-track buffer)


FEET_TOLERANCE = 0.25  # of the person's height: box jitter, and a foot on a raised pedal


def coverage(people: np.ndarray, vehicles: np.ndarray) -> np.ndarray:
    """(n, m) how much each person rides each vehicle box: the fraction of the person's width over it.

    A rider's box ends at their feet on the pedals or footrests, or at the saddle when the
    detector stops at the waist; either lies within the vehicle's height. A vehicle that does
    not reach the bottom of the person's box (give or take ``FEET_TOLERANCE`` of their height:
    one farther away, higher in the picture, or one passing in front, lower) carries nobody.

    Example:
        >>> person = np.array([[0, 0, 10, 40]])
        >>> coverage(person, np.array([[0, 30, 10, 50], [5, 30, 30, 50], [0, 60, 10, 80]])).tolist()
        [[1.0, 0.5, 0.0]]
    """
    people = np.asarray(people, np.float32).reshape(-1, 4)
    vehicles = np.asarray(vehicles, np.float32).reshape(-1, 4)
    width = np.minimum(people[:, None, 2], vehicles[None, :, 2]) - np.maximum(people[:, None, 0], vehicles[None, :, 0])
    share = np.clip(width, 0, None) / np.maximum(people[:, 2] - people[:, 0], 1e-6)[:, None]
    feet = people[:, None, 3]
    slack = FEET_TOLERANCE * (people[:, None, 3] - people[:, None, 1])
    touches = (vehicles[None, :, 1] - slack <= feet) & (feet <= vehicles[None, :, 3] + slack)
    return np.where(touches, share, 0.0)


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
