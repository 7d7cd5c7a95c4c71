"""The violation rules: tracked people + signal history → crossings and violations.

Pure and deterministic: no I/O, no threads, no clock. Time is the frame's ``t``.
A person riding a bicycle or motorcycle at any moment of their passage (the pipeline
passes the riders, detection/riders.py) is traffic: their passage is neither a crossing
nor a violation.

A track's zone in each crosswalk is debounced (``inertia`` frames). When it settles in
the crosswalk, the *entry* is the first frame of that run, from the curb the person's feet
were last seen on: the debounced zone lags behind them, and at night a track whose boxes are
cut from its first frame stands on the far curb by its box bottoms until its legs are found,
for a frame or two, on the near curb it steps in from. The entry becomes a
**crossing** once the person has walked ``min_penetration`` of the crosswalk's depth
from where they stepped in, and ``min_penetration_heights`` of their own box height: box
bottoms jitter by a few per cent of a person's height from frame to frame, which on a thin
crosswalk is more than a fraction of its depth. Only a foot point that is seen confirms it:

* a box much shorter (``feet_cut_ratio``) than the same person's boxes of the last second
  has its bottom cut off by something in front of the legs (a bag, a bicycle, another
  person): its bottom is not the feet, so it neither moves the person between zones nor
  confirms a crossing. A track found again after frames without it is measured anew, unless
  the frame is dark: the tracker matches by overlap and torso colour only and may have given
  the id to someone else, whose own full boxes would all look cut for a second against the
  first person's height (a smaller person stepping in behind a tall one was so taken in late
  and too deep to make a crossing). On a frame the low-light stage finds dark the height is
  kept: there the detector loses legs for seconds, and a shorter box found again is most often
  the same person's, cut by the dark;
* the first box of a track after frames without it (the tracker found the person again, or
  a new id took over a lost track) is the tracker's least sure match — another person's box,
  or one cut at the knee: it moves the person between zones but confirms nothing alone;
* a foot point already back on the curb the person came from (the debounced zone still
  says inside) is a step back, not a step in;
* a step back in from the curb a counted crossing has just reached is a walk back only once
  the person could have stopped and turned round (``turn_around_s`` after arriving): sooner,
  it confirms nothing yet. Feet that seem to cross back at once are the box's, not the
  person's: in a crowd the detector draws one box from the head of someone who has just
  crossed to the legs of someone passing in front of them.

The crossing is a **violation** when, at the entry instant,
the governing group showed DON'T WALK for at least ``grace_s`` (or CLEARANCE, where
the site says so). Under UNKNOWN nothing is enforced.

Every crossing is judged on its own: a person who crosses on DON'T WALK, walks back and
crosses again, or comes back later, commits two violations and is warned twice. Only what
is truly the same crossing by the same person is recorded once:

* an id switch: a new track that starts where a just-lost track ended, within
  ``id_switch_window_s`` and ``id_switch_radius``, continues that track's crosswalk state
  (its pending entry, its counted crossing), so the crossing is not counted again. It is that
  track found again, so on a dark frame it also keeps the person's measured height, as any
  track found again does (by day it is measured anew): in a crowd at night a far person's box,
  half the height of the near person lost there, would otherwise step in from the near
  person's curb;
* feet hidden mid-crossing: a step out sideways and back without reaching a curb continues
  the crossing already counted;
* hesitating at the curb edge: a re-entry from the same curb within ``repeat_window_s`` of
  the previous entry and within ``repeat_radius`` of its entry point is the same crossing.
  It is recorded again only if it is a violation and the entry it repeats was not, so a
  step back onto the curb never hides a violation. Only the tracker's own track hesitates: a
  new id taken for a lost track by place alone (the id switch above) may be someone else
  waiting where the first person stepped in, so their entry is a crossing of its own.

Nothing else belongs to the track: verdicts are never carried over, so another person who
receives a violator's id, or who is taken for a lost track's continuation, is judged on
their own crossings.

How far a person has walked in is the path from their entry point for entries from a curb
(people step in diagonally); for entries from the side, or first seen inside, only the
way across counts (along the curb A → B axis) and it must outweigh the way along the road,
so someone walking along the road through the crosswalk is no crossing, while a diagonal
step in from the side followed by walking across is.

A track whose zone settles in the crosswalk at once has no observed entry and is not
enforced, unless it was first seen on a curb or at its edge (``curb_edge_margin`` of the
depth), or inside within ``min_penetration`` of a curb on which a track was lost within
``id_switch_window_s``, and then walks away from that curb: the tracker lost the person
turning on the curb (or behind someone) and found them again a step in, so the entry is that
curb's, and they are as deep in as they are from its edge. Someone walking towards a curb is
finishing a crossing and never becomes an entry this way.
"""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Set
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from detection.types import Detections
from edge.config.crosswalk import ClearancePolicy, CrosswalkConfig, RuleConfig
from edge.config.site import SiteConfig
from edge.events import CrossingEvent, EventType, event_id
from edge.signal.types import SignalReading, SignalState
from edge.zones import CrosswalkGeometry, Zone, ZoneMembership, ZoneSwitch

STATURE_WINDOW_S = 1.0  # how far back a person's box heights tell their height now (perspective changes it slowly)


class SignalLookup(Protocol):
    def state_at(self, group: str, t: float) -> SignalReading: ...


@dataclass(frozen=True)
class Judgement:
    """The rule's verdict on one entry."""

    violation: bool
    enforced: bool
    reason: str
    since_dont_walk_s: float | None


def judge_entry(rules: RuleConfig, reading: SignalReading, entry_t: float, entry_observed: bool) -> Judgement:
    """Decide one entry from the signal reading at its own instant.

    Example:
        >>> r = RuleConfig(grace_s=1.0)
        >>> judge_entry(r, SignalReading(SignalState.DONT_WALK, 10.0), 12.0, True).violation
        True
        >>> judge_entry(r, SignalReading(SignalState.DONT_WALK, 10.0), 10.5, True).reason
        'entered 0.50 s after DONT_WALK began, within the 1.00 s grace'
    """
    since = reading.seconds_in_state(entry_t)
    dont_walk_for = since if reading.state is SignalState.DONT_WALK else None
    if reading.state is SignalState.UNKNOWN:
        return Judgement(False, False, f"not enforced: signal UNKNOWN ({reading.reason or 'no reason given'})", None)
    if not entry_observed:
        return Judgement(False, False, "not enforced: entry into the crosswalk was not observed", dont_walk_for)
    if reading.state is SignalState.WALK:
        return Judgement(False, True, "entered on WALK", None)
    if reading.state is SignalState.CLEARANCE:
        if rules.clearance is ClearancePolicy.VIOLATION:
            return Judgement(True, True, "entered during CLEARANCE", None)
        return Judgement(False, True, "entered during CLEARANCE (allowed at this site)", None)
    assert dont_walk_for is not None
    if dont_walk_for < rules.grace_s:
        return Judgement(
            False,
            True,
            f"entered {dont_walk_for:.2f} s after DONT_WALK began, within the {rules.grace_s:.2f} s grace",
            dont_walk_for,
        )
    return Judgement(True, True, f"entered {dont_walk_for:.2f} s into DONT_WALK", dont_walk_for)


@dataclass
class _CrosswalkTrack:
    """One track's state in one crosswalk."""

    membership: ZoneMembership
    last_curb: Zone | None = None
    riding: bool = False  # seen riding a vehicle since the current entry
    entry: ZoneSwitch | None = None
    entry_depth: float = 0.0
    entry_observed: bool = True
    edge_curb: Zone | None = None  # the curb the track was first seen on or at, before its zone settled
    counted: bool = False  # the current entry already produced its crossing
    crossed: bool = False  # a crossing was counted since the track last stood on a curb
    arrival: ZoneSwitch | None = None  # reaching the curb a counted crossing walked to (see turn_around_s)
    last_crossing: _CountedCrossing | None = None
    seen_curb: Zone | None = None  # the curb the person's feet were last seen on (not debounced)


@dataclass
class _CountedCrossing:
    """A counted crossing of a track lineage, kept to tell hesitation at the curb from a new crossing."""

    origin: Zone
    entry_t: float
    entry_point: tuple[float, float]
    violation: bool = False  # set once judged


@dataclass
class _Track:
    track_id: int
    last_t: float
    last_point: np.ndarray
    crosswalks: dict[str, _CrosswalkTrack] = field(default_factory=dict)
    heights: deque[tuple[float, float]] = field(default_factory=deque)  # (t, box height) of boxes with feet seen
    last_frame: int = -1


@dataclass(frozen=True)
class _Observation:
    frame: int
    t: float
    utc: float
    track_id: int
    point: tuple[float, float]
    box: tuple[float, float, float, float]
    score: float
    riding: bool = False
    feet_seen: bool = True  # the box's bottom is where the feet are
    resumed: bool = False  # the track's first box after frames without it: the tracker found the person again

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


@dataclass(frozen=True)
class _PendingCrossing:
    """A confirmed crossing waiting until the signal state at its entry can no longer change."""

    crosswalk: CrosswalkConfig
    entry: ZoneSwitch
    entry_observed: bool
    origin: Zone
    confirmed: _Observation
    record: _CountedCrossing
    repeats: _CountedCrossing | None  # the entry this one repeats when hesitating at the curb edge


class DecisionCore:
    """Feeds tracked people through every crosswalk's zones and rules, frame by frame.

    ``settle_s`` is how long after an instant the signal state at that instant may still be
    revised by a late report (the signal hub's ``revision_window_s``). A confirmed crossing
    is judged only once its entry is that old, so a late change is always taken into account;
    with exact sources (a timeline, a fixed-time plan) it is 0 and crossings are judged on the
    frame that confirms them; a controller feed's is its ``min_phase_s`` (a forged blip is revised).
    """

    def __init__(self, site: SiteConfig, width: int, height: int, settle_s: float = 0.0) -> None:
        self.site = site
        self.settle_s = settle_s
        self._pending: list[_PendingCrossing] = []
        self.crosswalks: list[tuple[CrosswalkConfig, CrosswalkGeometry]] = [
            (c, CrosswalkGeometry.from_config(c, width, height)) for c in site.crosswalks
        ]
        self._diagonal = float(np.hypot(width, height))
        self._tracks: dict[int, _Track] = {}
        self._previous_frame = -1
        rules = [c.rules for c in site.crosswalks]
        self._switch_window = max(r.id_switch_window_s for r in rules)
        self._switch_radius = max(r.id_switch_radius for r in rules) * self._diagonal
        self._timeout = max(r.track_timeout_s for r in rules)
        self._feet_cut_ratio = max(r.feet_cut_ratio for r in rules)

    @property
    def active_track_ids(self) -> list[int]:
        return sorted(self._tracks)

    def update(
        self,
        frame: int,
        t: float,
        utc: float,
        tracks: Detections,
        signals: SignalLookup,
        riders: Set[int] = frozenset(),
        dark: bool = False,
    ) -> list[CrossingEvent]:
        """Process one frame's tracks (``riders``: ids riding a vehicle; ``dark``: the low-light
        stage finds the frame dark); return the events decided now."""
        if tracks.tracker_id is None:
            raise ValueError("DecisionCore.update needs tracked detections (tracker_id set)")
        points = tracks.foot_points()
        zones = {cw.id: geo.classify(points) for cw, geo in self.crosswalks}
        depths = {cw.id: geo.depth(points) for cw, geo in self.crosswalks}
        seen_now = set(tracks.tracker_id.tolist())
        lost_on_curbs: dict[str, set[Zone]] | None = None
        for row, track_id in enumerate(tracks.tracker_id.tolist()):
            obs = _Observation(
                frame,
                t,
                utc,
                track_id,
                (float(points[row, 0]), float(points[row, 1])),
                tuple(float(v) for v in tracks.xyxy[row]),  # type: ignore[arg-type]
                float(tracks.confidence[row]),
                track_id in riders,
            )
            track, born = self._track_for(obs, points[row], seen_now, dark)
            # Against the previous frame processed, not frame - 1: a live camera's numbers skip stale frames.
            resumed = 0 <= track.last_frame < self._previous_frame
            track.last_frame = frame
            if resumed and not dark:
                track.heights.clear()  # perhaps someone else's box now: measured anew (see above)
            obs = replace(obs, feet_seen=self._feet_seen(track, obs), resumed=resumed)
            if born and lost_on_curbs is None:
                lost_on_curbs = self._lost_on_curbs(t, seen_now)
            for cw, geo in self.crosswalks:
                state = track.crosswalks.setdefault(cw.id, _CrosswalkTrack(ZoneMembership(cw.rules.inertia_frames)))
                raw = Zone(int(zones[cw.id][row]))
                depth = float(depths[cw.id][row])
                if obs.feet_seen and state.membership.zone is None and state.edge_curb is None:
                    lost = (lost_on_curbs or {}).get(cw.id, set()) if born else set()
                    state.edge_curb = self._edge_curb(cw.rules, raw, depth, lost)
                self._step(cw, geo, state, raw, depth, obs)
        self._previous_frame = frame
        self._forget_old_tracks(t)
        return self._decide_settled(frame, t, utc, signals)

    def _track_for(self, obs: _Observation, point: np.ndarray, seen_now: set[int], dark: bool) -> tuple[_Track, bool]:
        """The track of this observation, and whether it was born on this frame with no history."""
        track = self._tracks.get(obs.track_id)
        born = False
        if track is None:
            track = _Track(obs.track_id, obs.t, point)
            donor = self._lost_track_near(point, obs.t, seen_now)
            if donor is not None:
                # Same person under a new id: carry over zones, pending entry and counted crossings,
                # and on a dark frame their height (by day it is measured anew, see above).
                track.crosswalks, track.last_frame = donor.crosswalks, donor.last_frame
                if dark:
                    track.heights = donor.heights
                for state in track.crosswalks.values():
                    state.last_crossing = None  # taken for them by place alone: no hesitation (see above)
                del self._tracks[donor.track_id]
            born = donor is None
            self._tracks[obs.track_id] = track
        track.last_t, track.last_point = obs.t, point
        return track, born

    def _feet_seen(self, track: _Track, obs: _Observation) -> bool:
        """Whether this box's bottom is where the person's feet are.

        Not when the box is much shorter than the person's boxes of the last ``STATURE_WINDOW_S``
        whose feet were seen: something in front (a bag, a bicycle, another person) hides the legs
        and the box ends above the feet. A person's own box changes height by a few per cent in
        that time (stride, perspective), a cut box by a leg's length at once.
        """
        while track.heights and obs.t - track.heights[0][0] > STATURE_WINDOW_S:
            track.heights.popleft()
        if track.heights and obs.height < self._feet_cut_ratio * statistics.median(h for _, h in track.heights):
            return False
        track.heights.append((obs.t, obs.height))
        return True

    def _lost_on_curbs(self, t: float, seen_now: set[int]) -> dict[str, set[Zone]]:
        """Per crosswalk, the curbs on which a track was lost within the id-switch window."""
        lost: dict[str, set[Zone]] = {}
        for other in self._tracks.values():
            if other.track_id in seen_now or other.last_t >= t or t - other.last_t > self._switch_window:
                continue
            for cw_id, state in other.crosswalks.items():
                if state.membership.zone in (Zone.CURB_A, Zone.CURB_B):
                    lost.setdefault(cw_id, set()).add(state.membership.zone)
        return lost

    @staticmethod
    def _edge_curb(rules: RuleConfig, raw: Zone, depth: float, lost_on: set[Zone]) -> Zone | None:
        """The curb a not yet settled track stands on or at the edge of, if any.

        ``depth`` runs 0 → 1 from curb A's end to curb B's. Within ``curb_edge_margin`` is the
        edge; within ``min_penetration`` (less than a crossing's worth in) is near enough when a
        track was just lost on that curb: the person turned there and was found again inside.
        """
        for curb, from_curb in ((Zone.CURB_A, depth), (Zone.CURB_B, 1.0 - depth)):
            if raw is curb:
                return curb
            near = rules.min_penetration if curb in lost_on else rules.curb_edge_margin
            if raw is Zone.CROSSWALK and from_curb <= near:
                return curb
        return None

    def _lost_track_near(self, point: np.ndarray, t: float, seen_now: set[int]) -> _Track | None:
        best, best_distance = None, self._switch_radius
        for other in self._tracks.values():
            if other.track_id in seen_now or other.last_t >= t or t - other.last_t > self._switch_window:
                continue
            distance = float(np.hypot(*(other.last_point - point)))
            if distance <= best_distance:
                best, best_distance = other, distance
        return best

    def _forget_old_tracks(self, t: float) -> None:
        for track_id in [i for i, tr in self._tracks.items() if t - tr.last_t > self._timeout]:
            del self._tracks[track_id]

    def _step(
        self,
        cw: CrosswalkConfig,
        geo: CrosswalkGeometry,
        state: _CrosswalkTrack,
        raw: Zone,
        depth: float,
        obs: _Observation,
    ) -> None:
        if obs.feet_seen:  # a cut box's bottom says nothing about where the person stands
            if raw in (Zone.CURB_A, Zone.CURB_B):
                state.seen_curb = raw
            switch = state.membership.observe(raw, obs.frame, obs.t, obs.point, obs.box)
            if switch is not None:
                self._on_switch(state, switch, float(geo.depth(np.array([switch.point]))[0]))
        state.riding = state.entry is not None and (state.riding or obs.riding)
        if state.entry is None or state.counted or state.membership.zone is not Zone.CROSSWALK:
            return
        # Only feet seen confirm a crossing (not a cut box), and never feet already back on the
        # curb they came from while the debounced zone still says inside: that is a step back.
        if not obs.feet_seen or obs.resumed or raw is self._origin(state, depth):
            return
        if not self._walked_in(cw.rules, geo, state, obs.point, depth, obs.height):
            return
        if self._turning_round(cw.rules, state, depth, obs.t):
            return
        state.counted = state.crossed = True
        if state.riding:
            return  # a rider passing through is traffic, not a pedestrian crossing
        origin = self._origin(state, depth)
        observed = state.entry_observed
        if state.entry.previous is None and state.edge_curb is not None and origin is state.edge_curb:
            observed = True  # first seen at that curb's edge and walking away from it: stepped in from it
        record = _CountedCrossing(origin, state.entry.t, state.entry.point)
        repeats = state.last_crossing if self._same_crossing(cw.rules, geo, state.last_crossing, record) else None
        state.last_crossing = record
        self._pending.append(_PendingCrossing(cw, state.entry, observed, origin, obs, record, repeats))

    @staticmethod
    def _walked_in(
        rules: RuleConfig,
        geo: CrosswalkGeometry,
        state: _CrosswalkTrack,
        point: tuple[float, float],
        depth: float,
        height: float,
    ) -> bool:
        """Whether the person has walked in since the entry: ``min_penetration`` of the depth, and
        ``min_penetration_heights`` of their own box height (more than box bottoms jitter)."""
        assert state.entry is not None
        needed = max(rules.min_penetration, rules.min_penetration_heights * height / geo.depth_px)
        dx, dy = point[0] - state.entry.point[0], point[1] - state.entry.point[1]
        if state.entry.previous in (Zone.CURB_A, Zone.CURB_B):
            # From a curb people often step in diagonally: the whole path walked counts.
            return float(np.hypot(dx, dy)) / geo.depth_px >= needed
        curb = state.edge_curb if state.entry.previous is None else None
        if curb is not None and DecisionCore._origin(state, depth) is curb:
            # Found again at a curb's edge and walking away from it: as deep in as from that edge.
            from_edge = depth if curb is Zone.CURB_A else 1.0 - depth
            return from_edge >= needed
        # From the side (or first seen inside) only the way across counts, and it must outweigh
        # the way along the road: walking along the road through the crosswalk is no crossing.
        across = abs(depth - state.entry_depth)
        along = abs(dx * geo.axis[1] - dy * geo.axis[0]) / geo.depth_px
        return across >= needed and across >= along

    @staticmethod
    def _turning_round(rules: RuleConfig, state: _CrosswalkTrack, depth: float, t: float) -> bool:
        """Whether a step back in from the curb a crossing just reached comes sooner than the person
        could have stopped and turned round: not yet a walk back (see ``turn_around_s``)."""
        arrival = state.arrival
        if arrival is None or arrival.current is not DecisionCore._origin(state, depth):
            return False
        return t - arrival.t < rules.turn_around_s

    @staticmethod
    def _same_crossing(
        rules: RuleConfig, geo: CrosswalkGeometry, earlier: _CountedCrossing | None, now: _CountedCrossing
    ) -> bool:
        """Whether ``now`` re-enters from the same curb edge as ``earlier``, soon and near: one hesitation."""
        if earlier is None or earlier.origin is not now.origin:
            return False
        if now.entry_t - earlier.entry_t > rules.repeat_window_s:
            return False
        gap = np.hypot(now.entry_point[0] - earlier.entry_point[0], now.entry_point[1] - earlier.entry_point[1])
        return float(gap) / geo.depth_px <= rules.repeat_radius

    @staticmethod
    def _on_switch(state: _CrosswalkTrack, switch: ZoneSwitch, entry_depth: float) -> None:
        if switch.current in (Zone.CURB_A, Zone.CURB_B):
            state.arrival = switch if state.crossed and state.last_curb is not switch.current else None
            state.last_curb = switch.current
            state.crossed = False
        if switch.current is Zone.CROSSWALK:
            if switch.previous in (Zone.CURB_A, Zone.CURB_B) and state.seen_curb not in (None, switch.previous):
                # Feet seen on the other curb since the zone last settled: they step in from there.
                switch = replace(switch, previous=state.seen_curb)
                state.last_curb = state.seen_curb
            state.entry = switch
            state.entry_observed = switch.previous is not None
            state.entry_depth = entry_depth
            # Feet hidden for a moment (someone walks in front) look like a step out sideways;
            # coming back without having reached a curb continues the crossing already counted.
            state.counted = state.crossed
        else:
            state.entry = None

    def flush(self, frame: int, t: float, utc: float, signals: SignalLookup) -> list[CrossingEvent]:
        """At the end of a stream: judge every crossing still waiting for its signal state to settle."""
        pending, self._pending = self._pending, []
        return [e for p in pending for e in self._decide(p, frame, t, utc, signals)]

    def _decide_settled(self, frame: int, t: float, utc: float, signals: SignalLookup) -> list[CrossingEvent]:
        ready = [p for p in self._pending if t - p.entry.t >= self.settle_s]
        if not ready:
            return []
        self._pending = [p for p in self._pending if t - p.entry.t < self.settle_s]
        return [e for pending in ready for e in self._decide(pending, frame, t, utc, signals)]

    def _decide(
        self, pending: _PendingCrossing, frame: int, t: float, utc: float, signals: SignalLookup
    ) -> list[CrossingEvent]:
        cw, entry, obs = pending.crosswalk, pending.entry, pending.confirmed
        names = {Zone.CURB_A: cw.curbs[0].name, Zone.CURB_B: cw.curbs[1].name}
        from_curb = names[pending.origin]
        to_curb = names[Zone.CURB_B if pending.origin is Zone.CURB_A else Zone.CURB_A]
        reading = signals.state_at(cw.signal_group, entry.t)
        verdict = judge_entry(cw.rules, reading, entry.t, pending.entry_observed)
        entry_utc = utc - (t - entry.t)
        pending.record.violation = verdict.violation
        if pending.repeats is not None:
            # Hesitation at the curb edge: one crossing, unless this entry is a violation the
            # entry it repeats was not (a step back onto the curb must not hide a violation).
            pending.record.violation = verdict.violation or pending.repeats.violation
            if not verdict.violation or pending.repeats.violation:
                return []
        kinds = [EventType.CROSSING]
        if verdict.violation:
            kinds.append(EventType.VIOLATION)
        return [
            CrossingEvent(
                event_id=event_id(self.site.site.id, self.site.camera.id, cw.id, kind, entry_utc, obs.track_id),
                type=kind,
                site_id=self.site.site.id,
                camera_id=self.site.camera.id,
                crosswalk_id=cw.id,
                signal_group=cw.signal_group,
                track_id=obs.track_id,
                direction=f"{from_curb}->{to_curb}",
                from_curb=from_curb,
                to_curb=to_curb,
                entry_frame=entry.frame,
                entry_t=entry.t,
                entry_utc=entry_utc,
                decided_frame=frame,
                decided_t=t,
                decided_utc=utc,
                signal_state=reading.state,
                signal_since_t=reading.since,
                since_dont_walk_s=verdict.since_dont_walk_s,
                enforced=verdict.enforced,
                entry_observed=pending.entry_observed,
                reason=verdict.reason,
                foot_point=entry.point,
                box=obs.box,
                score=obs.score,
                entry_box=entry.box,
            )
            for kind in kinds
        ]

    @staticmethod
    def _origin(state: _CrosswalkTrack, depth_now: float) -> Zone:
        """Which end the person came from: their last curb, else the way they are walking.

        Someone stepping in from the side is judged by motion, not by which end is nearer:
        a person entering near the far end may well be walking away from it.
        """
        if state.last_curb is not None:
            return state.last_curb
        return Zone.CURB_A if depth_now >= state.entry_depth else Zone.CURB_B
