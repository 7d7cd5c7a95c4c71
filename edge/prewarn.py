"""Pre-warnings: someone on a curb during DON'T WALK who is about to step off. Pure: no I/O, no clock.

Per crosswalk and tracked person, from the foot point's position along the crossing axis
(``CrosswalkGeometry.depth``, in fractions of the crosswalk's depth) over the last
``speed_window_s`` of frame time:

- **at the edge**: on a curb and within ``edge_distance`` of the crosswalk's edge, moving
  slower than ``still_speed`` (waiting toes-on-the-line, not walking past along the curb) for
  ``dwell_s``;
- **approaching**: on a curb, moving toward the edge at ``approach_speed`` or more, mostly
  toward it (``min_heading_cos``), and due to reach it within ``horizon_s``.

The heading is the angle between the person's motion and the edge's normal measured on the
ground, not in the picture: a four-cornered crosswalk's corners are mapped to a square (a
homography; across the crossing x, from curb A's edge to curb B's y) and the motion is taken
there. Seen from a low camera a crosswalk is foreshortened to a few pixels of depth, so in
pixels a walk up to the kerb at an angle looks like a walk along it. Other polygons fall back to
the picture's axis.

Either starts a prompt series: a ``pre_warning`` event now and every ``repeat_s`` while the
person stays at the edge or keeps approaching. The series stops when they step back beyond
``release_distance``, step in (the decision core takes over), or the signal leaves DON'T WALK.
One series per person per red phase; a new series at the same curb waits ``cooldown_s``.

``waiting`` counts the people standing on each curb during DON'T WALK (reported with the status).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from detection.types import Detections
from edge.config.actuators import PreWarnConfig
from edge.config.crosswalk import CrosswalkConfig
from edge.config.site import SiteConfig
from edge.events import CrossingEvent, EventType, event_id
from edge.signal.types import SignalReading, SignalState
from edge.zones import CrosswalkGeometry, Zone


@dataclass(frozen=True)
class _Motion:
    toward: float  # crosswalk depths per second toward the edge (negative: away)
    speed: float  # crosswalk depths per second, any direction
    heading: float  # cosine between the motion and the edge's normal, on the ground


def ground_frame(geo: CrosswalkGeometry) -> np.ndarray | None:
    """The homography taking picture pixels to the crosswalk's ground frame: its corners on curb A's
    edge to (0, 0) and (1, 0), on curb B's edge to (0, 1) and (1, 1). None unless the crosswalk has
    four corners, two at each edge, in a shape a homography can map."""
    corners = geo.crosswalk
    if len(corners) != 4:
        return None
    # The edges at the curbs: of the two pairs of opposite sides, the one whose sides lie nearest the
    # two curbs; walking round the polygon keeps the corners of both edges in the same order across.
    a_centre, b_centre = geo.curb_a.mean(axis=0), geo.curb_b.mean(axis=0)

    def gap(side: int, centre: np.ndarray) -> float:
        return float(np.hypot(*((corners[side] + corners[(side + 1) % 4]) / 2 - centre)))

    def cost(side: int) -> float:  # side at curb A, its opposite side at curb B
        return gap(side, a_centre) + gap((side + 2) % 4, b_centre)

    i = min(range(4), key=cost)
    a0, a1, b1, b0 = (corners[(i + k) % 4] for k in range(4))
    source = np.array([a0, a1, b0, b1])
    target = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    rows, values = [], []
    for (x, y), (u, v) in zip(source, target, strict=True):
        rows += [[x, y, 1, 0, 0, 0, -u * x, -u * y], [0, 0, 0, x, y, 1, -v * x, -v * y]]
        values += [u, v]
    try:
        h = np.linalg.solve(np.array(rows, float), np.array(values, float))
    except np.linalg.LinAlgError:
        return None  # three corners on a line: no ground frame, the picture's axis is used
    return np.append(h, 1.0).reshape(3, 3)


def _apply(homography: np.ndarray, points: np.ndarray) -> np.ndarray:
    mapped = np.hstack([points, np.ones((len(points), 1))]) @ homography.T
    return mapped[:, :2] / mapped[:, 2:3]


@dataclass
class _Series:
    phase: float | None  # ``since`` of the DON'T WALK reading it belongs to
    start_frame: int
    start_t: float
    start_utc: float
    last_prompt_t: float
    prompts: int = 1
    ended: bool = False


@dataclass
class _Approach:
    """One person's recent positions relative to one crosswalk."""

    samples: deque[tuple[float, float, float]] = field(default_factory=lambda: deque(maxlen=64))  # t, x, y (px)
    near_since: float | None = None  # frame time since when they have stood at the edge
    series: _Series | None = None
    last_seen_t: float = 0.0


class PreWarner:
    """Feeds each frame's tracks; returns the ``pre_warning`` events of this frame."""

    def __init__(self, site: SiteConfig, config: PreWarnConfig, width: int, height: int) -> None:
        self.site = site
        self.config = config
        self.crosswalks: list[tuple[CrosswalkConfig, CrosswalkGeometry]] = [
            (c, CrosswalkGeometry.from_config(c, width, height)) for c in site.crosswalks
        ]
        self._ground = {c.id: ground_frame(geo) for c, geo in self.crosswalks}
        self._people: dict[tuple[str, int], _Approach] = {}
        self._curb_last: dict[tuple[str, str], float] = {}  # (crosswalk, curb) → t of the last series start
        # People standing (slower than ``still_speed``) on each curb during DON'T WALK, at the latest frame,
        # keyed "<crosswalk>/<curb>"; counted whether or not pre-warnings are enabled (published with the status).
        self.waiting: dict[str, int] = {f"{c.id}/{curb.name}": 0 for c in site.crosswalks for curb in c.curbs}

    def update(
        self, frame: int, t: float, utc: float, tracks: Detections, readings: dict[str, SignalReading]
    ) -> list[CrossingEvent]:
        self.waiting = dict.fromkeys(self.waiting, 0)
        if tracks.tracker_id is None or len(tracks) == 0:
            self._forget(t)
            return []
        points = tracks.foot_points()
        events: list[CrossingEvent] = []
        for cw, geo in self.crosswalks:
            reading = readings.get(cw.signal_group)
            red = reading is not None and reading.state is SignalState.DONT_WALK
            zones = geo.classify(points)
            depths = geo.depth(points)
            for row, track_id in enumerate(tracks.tracker_id.tolist()):
                person = self._people.setdefault((cw.id, track_id), _Approach())
                person.last_seen_t = t
                x, y = float(points[row, 0]), float(points[row, 1])
                person.samples.append((t, x, y))
                zone = Zone(int(zones[row]))
                if not red or zone not in (Zone.CURB_A, Zone.CURB_B):
                    self._end(person)
                    person.near_since = None
                    continue
                if self._motion(geo, person, zone).speed < self.config.still_speed:
                    self.waiting[f"{cw.id}/{cw.curbs[0 if zone is Zone.CURB_A else 1].name}"] += 1
                if not self.config.enabled:
                    continue
                event = self._judge(cw, geo, person, zone, float(depths[row]), reading, frame, t, utc, tracks, row)
                if event is not None:
                    events.append(event)
        self._forget(t)
        return events

    def _judge(
        self,
        cw: CrosswalkConfig,
        geo: CrosswalkGeometry,
        person: _Approach,
        zone: Zone,
        depth: float,
        reading: SignalReading | None,
        frame: int,
        t: float,
        utc: float,
        tracks: Detections,
        row: int,
    ) -> CrossingEvent | None:
        cfg = self.config
        distance = -depth if zone is Zone.CURB_A else depth - 1.0  # to the crosswalk edge, in depths
        motion = self._motion(geo, person, zone)
        toward, speed, heading = motion.toward, motion.speed, motion.heading
        near = distance <= cfg.edge_distance
        person.near_since = (person.near_since if person.near_since is not None else t) if near else None
        dwelt = person.near_since is not None and t - person.near_since >= cfg.dwell_s
        waiting = near and speed < cfg.still_speed and dwelt
        approaching = (
            toward >= cfg.approach_speed
            and heading >= cfg.min_heading_cos
            and max(distance, 0.0) / toward <= cfg.horizon_s
        )
        phase = reading.since if reading is not None else None
        series = person.series
        if series is not None and series.phase != phase:
            series = person.series = None  # a new red phase: a new series may start
        curb = cw.curbs[0].name if zone is Zone.CURB_A else cw.curbs[1].name
        if series is not None and not series.ended:
            if distance > cfg.release_distance:
                series.ended = True  # stepped back: this person's series for this phase is over
                return None
            if (near or approaching) and t - series.last_prompt_t >= cfg.repeat_s:
                series.last_prompt_t = t
                series.prompts += 1
                return self._event(cw, curb, series, frame, t, utc, tracks, row, reading, why="still at the edge")
            return None
        if series is not None or not (waiting or approaching):
            return None
        last = self._curb_last.get((cw.id, curb))
        if last is not None and 0.0 <= t - last < cfg.cooldown_s:
            return None
        self._curb_last[(cw.id, curb)] = t
        person.series = _Series(phase, frame, t, utc, t)
        why = "moving toward the edge" if approaching else "waiting at the edge"
        return self._event(cw, curb, person.series, frame, t, utc, tracks, row, reading, why=why)

    def _motion(self, geo: CrosswalkGeometry, person: _Approach, zone: Zone) -> _Motion:
        """Speed toward the crosswalk edge and total speed (crosswalk depths per second) over the window,
        and the cosine between the motion and the edge's normal on the ground."""
        t_now, x_now, y_now = person.samples[-1]
        old = [s for s in person.samples if t_now - s[0] <= self.config.speed_window_s]
        t0, x0, y0 = old[0]
        if t_now - t0 < self.config.speed_window_s / 2:
            return _Motion(0.0, 0.0, 0.0)
        moved = np.array([x_now - x0, y_now - y0]) / (t_now - t0) / geo.depth_px
        along = float(moved @ geo.axis)  # + toward curb B
        sign = 1.0 if zone is Zone.CURB_A else -1.0
        speed = float(np.hypot(*moved))
        ground = self._ground[geo.crosswalk_id]
        if ground is not None:
            (u0, v0), (u1, v1) = _apply(ground, np.array([[x0, y0], [x_now, y_now]], float))
            du, dv = u1 - u0, v1 - v0
            length = float(np.hypot(du, dv))
            heading = sign * dv / length if length > 1e-9 else 0.0
        else:
            heading = sign * along / speed if speed > 1e-9 else 0.0
        return _Motion(sign * along, speed, heading)

    @staticmethod
    def _end(person: _Approach) -> None:
        """Off the curb (stepped in or walked away) or the signal changed: the series is over."""
        if person.series is not None:
            person.series.ended = True

    def _event(
        self,
        cw: CrosswalkConfig,
        curb: str,
        series: _Series,
        frame: int,
        t: float,
        utc: float,
        tracks: Detections,
        row: int,
        reading: SignalReading | None,
        why: str,
    ) -> CrossingEvent:
        track_id = int(tracks.tracker_id[row])  # type: ignore[index]
        points = tracks.foot_points()
        box = tuple(float(v) for v in tracks.xyxy[row])
        since = reading.seconds_in_state(t) if reading is not None else None
        other = cw.curbs[1].name if curb == cw.curbs[0].name else cw.curbs[0].name
        return CrossingEvent(
            event_id=event_id(self.site.site.id, self.site.camera.id, cw.id, EventType.PRE_WARNING, utc, track_id),
            type=EventType.PRE_WARNING,
            site_id=self.site.site.id,
            camera_id=self.site.camera.id,
            crosswalk_id=cw.id,
            signal_group=cw.signal_group,
            track_id=track_id,
            direction=f"{curb}->{other}",
            from_curb=curb,
            to_curb=other,
            entry_frame=series.start_frame,
            entry_t=series.start_t,
            entry_utc=series.start_utc,
            decided_frame=frame,
            decided_t=t,
            decided_utc=utc,
            signal_state=SignalState.DONT_WALK,
            signal_since_t=reading.since if reading is not None else None,
            since_dont_walk_s=since,
            enforced=False,
            entry_observed=True,
            reason=f"pre-warning {series.prompts} at the {curb} curb: {why}",
            foot_point=(float(points[row, 0]), float(points[row, 1])),
            box=box,  # type: ignore[arg-type]
            score=float(tracks.confidence[row]),
        )

    def _forget(self, t: float) -> None:
        horizon = self.config.forget_s
        gone = [key for key, p in self._people.items() if t - p.last_seen_t > horizon]
        for key in gone:
            del self._people[key]
