"""Fixed-time signal plans: which state each group shows at a UTC instant, and when it changes.

Controllers time their cycles from local midnight on the wall clock, so the cycle position is
``(local seconds since midnight - offset) mod cycle``. The wall clock jumps at midnight (when the
cycle does not divide a day), at daylight-saving changes and at plan switches; at each jump the
states are worked out afresh, so the changes reported are exactly the ones a controller running
the plan would show. No clock reads: every time is an argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from edge.config.signal import DAYS, FixedTimeSourceConfig, GroupSplit, TimingPlan
from edge.signal.types import SignalState

_EPS = 1e-6  # seconds; absorbs float error at phase boundaries
_MAX_STEP_S = 3600.0  # look for wall-clock jumps at least this often


@dataclass(frozen=True)
class PlanChange:
    utc: float
    group: str
    state: SignalState
    plan: str


def split_state(split: GroupSplit, cycle_s: float, position: float) -> SignalState:
    """State of one group ``position`` seconds into the cycle (WALK may run across the cycle's end)."""
    into_walk = (position - split.walk_start_s) % cycle_s
    if into_walk < split.walk_s:
        return SignalState.WALK
    if into_walk < split.walk_s + split.clearance_s:
        return SignalState.CLEARANCE
    return SignalState.DONT_WALK


class FixedTimePlan:
    """A schedule of timing plans in one time zone."""

    def __init__(self, config: FixedTimeSourceConfig) -> None:
        self.config = config
        self.zone = ZoneInfo(config.timezone or "UTC")
        self.groups = sorted({g for plan in config.plans.values() for g in plan.groups})

    # --- wall clock ---------------------------------------------------------------------------

    def _local(self, utc: float) -> datetime:
        return datetime.fromtimestamp(utc, tz=timezone.utc).astimezone(self.zone)

    @staticmethod
    def _wall_seconds(local: datetime) -> float:
        return local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6

    def plan_name_at(self, utc: float) -> str:
        """The schedule entry that started most recently on the wall clock (looking back a week)."""
        if not self.config.schedule:
            return next(iter(self.config.plans))
        local = self._local(utc)
        wall = self._wall_seconds(local)
        for days_back in range(8):
            day = DAYS[(local.weekday() - days_back) % 7]
            starts = [
                (e.start.hour * 3600 + e.start.minute * 60 + e.start.second, i, e.plan)
                for i, e in enumerate(self.config.schedule)
                if day in e.days
            ]
            if days_back == 0:
                starts = [s for s in starts if s[0] <= wall + _EPS]
            if starts:
                return max(starts)[2]
        raise AssertionError("a non-empty schedule always has an entry within a week")

    def _position(self, plan: TimingPlan, utc: float) -> float:
        wall = self._wall_seconds(self._local(utc))
        return round((wall - plan.offset_s) % plan.cycle_s, 6) % plan.cycle_s

    # --- states and changes ------------------------------------------------------------------

    def states_at(self, utc: float) -> dict[str, SignalState]:
        """Every group's state at ``utc``; groups the running plan does not time are UNKNOWN."""
        plan = self.config.plans[self.plan_name_at(utc)]
        position = self._position(plan, utc)
        return {
            g: split_state(plan.groups[g], plan.cycle_s, position) if g in plan.groups else SignalState.UNKNOWN
            for g in self.groups
        }

    def _next_boundary(self, utc: float) -> float:
        """Next phase boundary or schedule start, assuming the wall clock runs on without a jump."""
        plan = self.config.plans[self.plan_name_at(utc)]
        position = self._position(plan, utc)
        edges = []
        for split in plan.groups.values():
            for edge in (
                split.walk_start_s,
                split.walk_start_s + split.walk_s,
                split.walk_start_s + split.walk_s + split.clearance_s,
            ):
                ahead = (edge - position) % plan.cycle_s
                edges.append(ahead if ahead > _EPS else ahead + plan.cycle_s)
        wall = self._wall_seconds(self._local(utc))
        for entry in self.config.schedule:
            ahead = (entry.start.hour * 3600 + entry.start.minute * 60 + entry.start.second - wall) % 86400
            if ahead > _EPS:
                edges.append(ahead)
        return utc + min(min(edges), _MAX_STEP_S)

    def _wall_runs_on(self, utc0: float, utc1: float) -> bool:
        a, b = self._local(utc0), self._local(utc1)
        return a.date() == b.date() and a.utcoffset() == b.utcoffset()

    def _first_jump(self, utc0: float, utc1: float) -> float:
        """First whole UTC second in (utc0, utc1] where the wall clock jumps (midnight, DST)."""
        lo, hi = int(utc0), int(utc1) + 1
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self._wall_runs_on(utc0, mid):
                lo = mid
            else:
                hi = mid
        return float(hi)

    def changes_between(self, utc0: float, utc1: float) -> list[PlanChange]:
        """Every state change in (utc0, utc1], in time order."""
        changes: list[PlanChange] = []
        states, now = self.states_at(utc0), utc0
        while True:
            nxt = self._next_boundary(now)
            if not self._wall_runs_on(now, nxt):
                nxt = self._first_jump(now, nxt)
            if nxt > utc1:
                return changes
            new = self.states_at(nxt)
            plan = self.plan_name_at(nxt)
            changes += [PlanChange(nxt, g, s, plan) for g, s in new.items() if states[g] != s]
            states, now = new, nxt


def local_time(zone: str, text: str) -> float:
    """UTC seconds of a local ISO time in ``zone`` (helper for tests and the CLI)."""
    naive = datetime.fromisoformat(text)
    return naive.replace(tzinfo=ZoneInfo(zone)).timestamp()
