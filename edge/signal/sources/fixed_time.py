"""Fixed-time plan as a signal source: the embedded default for crossings without a controller feed."""

from __future__ import annotations

import numpy as np

from edge.config.signal import FixedTimeSourceConfig
from edge.signal.plan import FixedTimePlan
from edge.signal.source import FrameClock, SignalSource, SourceHealth, SourceStatus
from edge.signal.sources import register
from edge.signal.types import SignalChange, SignalState


@register("fixed_time")
class FixedTimeSource(SignalSource):
    """Works out the plan's changes between consecutive frames from the frame's UTC time."""

    def __init__(self, name: str, plan: FixedTimePlan) -> None:
        super().__init__(name)
        self.plan = plan
        self._last_utc: float | None = None

    @classmethod
    def from_config(cls, config: FixedTimeSourceConfig) -> FixedTimeSource:
        return cls(config.name, FixedTimePlan(config))

    def groups(self) -> list[str]:
        return list(self.plan.groups)

    def poll(self, clock: FrameClock, image: np.ndarray | None) -> list[SignalChange]:
        last, self._last_utc = self._last_utc, clock.utc
        if last is None or clock.utc < last:  # first frame, or the clock went back (a new replay)
            plan = self.plan.plan_name_at(clock.utc)
            return [
                SignalChange(clock.t, g, s, self.name, _why(plan, g, s))
                for g, s in self.plan.states_at(clock.utc).items()
            ]
        return [
            SignalChange(clock.to_t(c.utc), c.group, c.state, self.name, _why(c.plan, c.group, c.state))
            for c in self.plan.changes_between(last, clock.utc)
        ]

    def status(self) -> SourceStatus:
        detail = "" if self._last_utc is None else f"plan {self.plan.plan_name_at(self._last_utc)}"
        return SourceStatus(self.name, SourceHealth.OK, detail)


def _why(plan: str, group: str, state: SignalState) -> str:
    if state is SignalState.UNKNOWN:
        return f"plan {plan} does not time group {group}"
    return f"plan {plan}"
