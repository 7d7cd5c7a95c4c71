"""Riders: which tracked people are riding a bicycle or motorcycle.

Detectors call a cyclist a ``person`` (and the bicycle a ``bicycle``), so without this a
cyclist passing through the crosswalk would be judged as a pedestrian. A person rides a
vehicle when they are over it — most of their box's width lies over the vehicle box and
their feet within its height — and stay at the same place along it while time passes: a
rider moves with the vehicle, while a bicycle passing someone who stands or walks slides
along them and lines up with them only for a moment. Someone pushing a bicycle lines up the
same way, but at walking pace: only a person over a vehicle who moves faster than anyone
walks (``RIDING_SPEED``) is riding, so people walking their bicycles across are pedestrians.
A cyclist rolling across at walking pace is judged as a pedestrian too, which is how they use
the crosswalk.

The evidence is time, with hysteresis: seconds over a vehicle add up and seconds without one
count down (within 0..``confirm_s``); a person becomes a rider when it reaches ``confirm_s``
and stops being one only when it is back at zero, so one missed vehicle box does not turn a
rider into a pedestrian. Counting seconds rather than frames keeps the meaning at any frame
rate and detection stride.

Pure and deterministic: boxes in, track ids out; no clock, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detection.types import Detections

FORGET_AFTER_S = 60.0  # a track id unseen this long is gone (far beyond any lost-track buffer)
# A rider sits at one place along their vehicle; someone the vehicle passes slides along it.
# Drift beyond this share of the vehicle's width since the run began is not riding. A bicycle
# (about 1.7 m) passing someone faster than walking pace (1.4 m/s) slides a quarter of its
# length along them in 0.3 s, the default confirm_s, so it never lines up long enough.
SEAT_DRIFT = 0.25
EPSILON_S = 1e-6  # frame times are floats: 3 x 0.1 s must reach 0.3 s


FEET_TOLERANCE = 0.25  # of the person's height: box jitter, and a foot on a raised pedal
# Speed in the person's own box heights per second, so it needs no camera calibration: a brisk
# walk (1.8 m/s for a 1.7 m person) is about 1.1; a bicycle at 9 km/h (2.5 m/s, slow cycling)
# about 1.5. Someone pushing a bicycle walks; someone riding one through the crossing does not.
RIDING_SPEED = 1.5
SPEED_SMOOTHING = 0.5  # weight of the newest frame in the running speed (box jitter)


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
    seconds: float = 0.0  # time over a vehicle, net of time without one, within 0..confirm_s
    riding: bool = False
    last_t: float = 0.0
    anchor: float | None = None  # where the person sat across the vehicle when this run began
    foot: tuple[float, float] | None = None  # foot point at the last detected frame
    speed: float = 0.0  # running speed, box heights per second
    paced: bool = False  # speed measured at least once (from the second detected frame on)


class RiderAssociator:
    """Tells, frame by frame, which tracked people ride one of the given vehicle boxes.

    Example:
        >>> riders = RiderAssociator(min_overlap=0.5, confirm_s=0.2)
        >>> def person(k): return Detections.from_lists([[100 + 15 * k, 0, 120 + 15 * k, 60]], [0.9], [0], [7])
        >>> def bike(k): return Detections.from_lists([[95 + 15 * k, 30, 125 + 15 * k, 62]], [0.6], [1])
        >>> [sorted(riders.update(person(k), bike(k), k / 10)) for k in range(4)]  # 2.5 heights/s
        [[], [], [7], [7]]
        >>> sorted(riders.update(person(4), Detections.empty(), 0.4))  # one missed bicycle box
        [7]
    """

    def __init__(self, min_overlap: float, confirm_s: float) -> None:
        if not 0 < min_overlap <= 1 or confirm_s <= 0:
            raise ValueError("min_overlap must be in (0, 1] and confirm_s above 0")
        self.min_overlap = min_overlap
        self.confirm_s = confirm_s
        self._evidence: dict[int, _Evidence] = {}
        self._t: float | None = None

    def update(self, tracks: Detections, vehicles: Detections, t: float) -> frozenset[int]:
        """Weigh one detected frame (taken at ``t`` seconds); return the ids of the tracks riding now."""
        if tracks.tracker_id is None:
            raise ValueError("RiderAssociator.update needs tracked people (tracker_id set)")
        step = 0.0 if self._t is None else min(max(t - self._t, 0.0), self.confirm_s)
        self._t = t
        seats = self._seats(tracks, vehicles)
        feet, heights = tracks.foot_points(), tracks.xyxy[:, 3] - tracks.xyxy[:, 1]
        for row, (track_id, seat) in enumerate(zip(tracks.tracker_id.tolist(), seats, strict=True)):
            evidence = self._evidence.setdefault(track_id, _Evidence())
            self._pace(evidence, (float(feet[row, 0]), float(feet[row, 1])), float(heights[row]), t)
            evidence.last_t = t
            self._weigh(evidence, seat if evidence.speed >= RIDING_SPEED else None, step)
        self._forget(t - FORGET_AFTER_S)
        return self.riding(tracks)

    @staticmethod
    def _pace(evidence: _Evidence, foot: tuple[float, float], height: float, t: float) -> None:
        """Update the person's running speed in box heights per second from their foot point."""
        dt = t - evidence.last_t
        if evidence.foot is not None and dt > 0:
            now = float(np.hypot(foot[0] - evidence.foot[0], foot[1] - evidence.foot[1])) / max(height, 1.0) / dt
            paced = evidence.paced
            evidence.speed = now if not paced else evidence.speed + SPEED_SMOOTHING * (now - evidence.speed)
            evidence.paced = True
        evidence.foot = foot

    def _weigh(self, evidence: _Evidence, seat: float | None, step: float) -> None:
        """Add ``step`` seconds for or against one person riding, given where they sit now."""
        if seat is None:
            evidence.anchor = None
        elif evidence.anchor is None:
            evidence.anchor = seat
        over = seat is not None and evidence.anchor is not None and abs(seat - evidence.anchor) <= SEAT_DRIFT
        if over:
            evidence.seconds = min(evidence.seconds + step, self.confirm_s)
        else:
            evidence.seconds = max(evidence.seconds - step, 0.0)
            if evidence.seconds <= EPSILON_S:
                evidence.anchor = seat  # nothing left of the last run: a new one may start from here
        if evidence.seconds >= self.confirm_s - EPSILON_S:
            evidence.riding = True
        elif evidence.seconds <= EPSILON_S:
            evidence.riding = False

    def _seats(self, tracks: Detections, vehicles: Detections) -> list[float | None]:
        """Where each person sits across the vehicle they are over (0 = its left edge, 1 = its right), or None."""
        if not len(vehicles):
            return [None] * len(tracks)
        share = coverage(tracks.xyxy, vehicles.xyxy)
        seats: list[float | None] = []
        for row, best in enumerate(share.argmax(axis=1).tolist()):
            if share[row, best] < self.min_overlap:
                seats.append(None)
                continue
            x1, _, x2, _ = vehicles.xyxy[best].tolist()
            centre = float(tracks.xyxy[row, 0] + tracks.xyxy[row, 2]) / 2.0
            seats.append((centre - x1) / max(x2 - x1, 1e-6))
        return seats

    def riding(self, tracks: Detections) -> frozenset[int]:
        """Ids of the given tracks that ride as far as known, without new evidence (a skipped frame)."""
        ids = [] if tracks.tracker_id is None else tracks.tracker_id.tolist()
        return frozenset(i for i in ids if i in self._evidence and self._evidence[i].riding)

    def _forget(self, before: float) -> None:
        for track_id in [i for i, e in self._evidence.items() if e.last_t < before]:
            del self._evidence[track_id]
