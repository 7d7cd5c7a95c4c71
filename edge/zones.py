"""Crosswalk geometry and debounced zone membership. Pure: NumPy only, no I/O, no clock.

A person's position is their foot point (bottom-centre of the box). Each crosswalk has
three zones: the crosswalk itself and one curb (waiting area) at each end. Membership
switches only after ``inertia`` consecutive frames in the new zone, so box jitter at a
polygon edge does not create entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from edge.config.crosswalk import CrosswalkConfig


class Zone(IntEnum):
    OUTSIDE = 0
    CURB_A = 1
    CURB_B = 2
    CROSSWALK = 3


def points_in_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Even-odd rule, vectorised over points: (n, 2) points, (m, 2) polygon → (n,) bool.

    Example:
        >>> square = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], float)
        >>> points_in_polygon(np.array([[5, 5], [15, 5]], float), square).tolist()
        [True, False]
    """
    x, y = points[:, 0:1], points[:, 1:2]
    x1, y1 = polygon[:, 0], polygon[:, 1]
    x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
    straddles = (y1 > y) != (y2 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
    return np.count_nonzero(straddles & (x < x_cross), axis=1) % 2 == 1


def _centroid(polygon: np.ndarray) -> np.ndarray:
    return polygon.mean(axis=0)


@dataclass(frozen=True)
class CrosswalkGeometry:
    """One crosswalk's zones in pixels, and its axis from curb A to curb B.

    ``depth(points)`` gives each point's position along the axis as a fraction of the
    crosswalk's depth: 0 at the edge nearest curb A, 1 at the edge nearest curb B.
    """

    crosswalk_id: str
    crosswalk: np.ndarray
    curb_a: np.ndarray
    curb_b: np.ndarray
    axis_origin: np.ndarray
    axis: np.ndarray
    depth_px: float

    @classmethod
    def from_config(cls, config: CrosswalkConfig, width: int, height: int) -> CrosswalkGeometry:
        scale = np.array([width, height], float)
        crosswalk = np.asarray(config.polygon, float) * scale
        curb_a = np.asarray(config.curbs[0].polygon, float) * scale
        curb_b = np.asarray(config.curbs[1].polygon, float) * scale
        direction = _centroid(curb_b) - _centroid(curb_a)
        norm = float(np.hypot(*direction))
        if norm < 1e-6:
            raise ValueError(f"crosswalk '{config.id}': the two curbs have the same centre; cannot tell direction")
        axis = direction / norm
        projections = (crosswalk - _centroid(curb_a)) @ axis
        lo, hi = float(projections.min()), float(projections.max())
        return cls(
            crosswalk_id=config.id,
            crosswalk=crosswalk,
            curb_a=curb_a,
            curb_b=curb_b,
            axis_origin=_centroid(curb_a) + lo * axis,
            axis=axis,
            depth_px=max(hi - lo, 1e-6),
        )

    def classify(self, points: np.ndarray) -> np.ndarray:
        """(n, 2) foot points → (n,) Zone values; the crosswalk wins where zones overlap."""
        zones = np.full(len(points), Zone.OUTSIDE, np.int8)
        if len(points) == 0:
            return zones
        zones[points_in_polygon(points, self.curb_b)] = Zone.CURB_B
        zones[points_in_polygon(points, self.curb_a)] = Zone.CURB_A
        zones[points_in_polygon(points, self.crosswalk)] = Zone.CROSSWALK
        return zones

    def depth(self, points: np.ndarray) -> np.ndarray:
        """(n, 2) points → (n,) position along the crossing axis, as a fraction of its depth."""
        return ((points - self.axis_origin) @ self.axis) / self.depth_px


@dataclass
class ZoneMembership:
    """Debounced zone of one track in one crosswalk.

    ``zone`` is None until the track has spent ``inertia`` frames in one zone. A switch
    reports the frame where the new run *began*, which is the instant the person actually
    stepped in, not the instant the debounce was satisfied.
    """

    inertia: int
    zone: Zone | None = None
    candidate: Zone | None = None
    run_length: int = 0
    run_start_frame: int = 0
    run_start_t: float = 0.0
    run_start_point: tuple[float, float] = (0.0, 0.0)
    run_start_box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)

    def observe(
        self, raw: Zone, frame: int, t: float, point: tuple[float, float], box: tuple[float, float, float, float]
    ) -> ZoneSwitch | None:
        """Feed one observation; return the switch when the debounced zone changes."""
        if raw != self.candidate:
            self.candidate, self.run_length = raw, 0
            self.run_start_frame, self.run_start_t = frame, t
            self.run_start_point, self.run_start_box = point, box
        self.run_length += 1
        if raw == self.zone or self.run_length < self.inertia:
            return None
        previous, self.zone = self.zone, raw
        start = (self.run_start_frame, self.run_start_t, self.run_start_point, self.run_start_box)
        return ZoneSwitch(previous, raw, *start)


@dataclass(frozen=True)
class ZoneSwitch:
    """A debounced change of zone; ``previous`` is None for a track's first settled zone."""

    previous: Zone | None
    current: Zone
    frame: int
    t: float
    point: tuple[float, float]
    box: tuple[float, float, float, float]
