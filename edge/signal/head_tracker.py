"""From per-frame looks of one head to its signal state: smoothing and flashing. Pure (time is passed in).

Frames are merged into *runs* of the same look. Then, at each frame:

* **flashing** — the latest runs alternate lit/dark in one colour, each completed run lasting a
  half-period of a ``flash_min_hz``..``flash_max_hz`` flash, for ``flash_cycles`` cycles → CLEARANCE
  (flashing hand or flashing green man), dated from the first run of the flash;
* **steady** — a lit run of ``smoothing_frames`` frames → DON'T WALK (red), WALK (green/white),
  CLEARANCE (red with countdown digits), dated from the run's first frame; a hand that would change
  the state (and a walking figure during CLEARANCE) must also outlast a flash half-period, because a
  flashing hand after WALK begins with a lit phase that looks just like a steady hand (reporting
  DON'T WALK there would be wrong);
* **dark** longer than a flash's off half-period → UNKNOWN (a dark head is not enforced);
* **uncertain** for longer than ``max_unknown_s`` → UNKNOWN with the classifier's reason.

Shorter dark or uncertain spells keep the previous state, which is what absorbs a flash's off
phases and a passing occlusion.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from edge.signal.head_classifier import HeadLook
from edge.signal.types import SignalState

STEADY_STATE = {
    HeadLook.RED: SignalState.DONT_WALK,
    HeadLook.RED_COUNTDOWN: SignalState.CLEARANCE,
    HeadLook.GREEN: SignalState.WALK,
    HeadLook.WHITE: SignalState.WALK,
}


@dataclass
class _Run:
    look: HeadLook
    start: float
    last: float  # time of its latest frame
    frames: int = 1
    reason: str = ""


@dataclass(frozen=True)
class StateUpdate:
    t: float
    state: SignalState
    reason: str


class HeadStateTracker:
    def __init__(
        self,
        smoothing_frames: int = 3,
        flash_min_hz: float = 0.5,
        flash_max_hz: float = 2.5,
        flash_cycles: float = 1.5,
        max_unknown_s: float = 1.0,
        countdown_clearance: bool = True,
    ) -> None:
        self.smoothing_frames = smoothing_frames
        self.half_min = 0.5 / flash_max_hz
        self.half_max = 0.5 / flash_min_hz
        self.flash_runs = math.ceil(2 * flash_cycles)  # lit/dark runs that make the flash
        self.max_unknown_s = max_unknown_s
        self.countdown_clearance = countdown_clearance
        self.runs: list[_Run] = []
        self.state: SignalState | None = None

    @property
    def max_delay_s(self) -> float:
        """Longest a state can be known after it began: a whole flash at the slowest rate."""
        return (self.flash_runs + 1) * self.half_max * 1.25

    def update(self, t: float, look: HeadLook, reason: str = "") -> StateUpdate | None:
        """Feed one frame; returns the new state (dated when it really began) when it changes."""
        if look is HeadLook.RED_COUNTDOWN and not self.countdown_clearance:
            look = HeadLook.RED
        self._add(t, look, reason)
        found = self._judge(t)
        if found is None or found.state is self.state:
            return None
        self.state = found.state
        return found

    def _add(self, t: float, look: HeadLook, reason: str) -> None:
        if self.runs and self.runs[-1].look is look:
            run = self.runs[-1]
            run.last, run.frames = t, run.frames + 1
        else:
            self.runs.append(_Run(look, t, t, reason=reason))
        horizon = t - 4 * self.half_max * (self.flash_runs + 2)  # enough runs to see a whole flash
        while len(self.runs) > self.flash_runs + 2 and self.runs[1].start < horizon:
            self.runs.pop(0)

    def _judge(self, t: float) -> StateUpdate | None:
        flash_start = self._flash_start()
        if flash_start is not None:
            return StateUpdate(flash_start, SignalState.CLEARANCE, f"flashing {self.runs[-1].look.colour}")
        run = self.runs[-1]
        age = t - run.start
        if run.look is HeadLook.UNCERTAIN:
            if age > self.max_unknown_s:
                return StateUpdate(run.start, SignalState.UNKNOWN, f"low confidence: {run.reason}")
            return None
        if run.look is HeadLook.DARK:
            if age > self.half_max:
                return StateUpdate(run.start, SignalState.UNKNOWN, "head dark")
            return None
        if run.frames < self.smoothing_frames:
            return None
        state = STEADY_STATE[run.look]
        if state is not self.state and age <= self.half_max and self._may_be_flashing(state):
            return None  # may be the first lit phase of a flash: wait one flash half-period
        return StateUpdate(run.start, state, run.look.value)

    def _may_be_flashing(self, state: SignalState) -> bool:
        """A hand (after WALK, or mid-flash) and a walking figure during a flash may be flash phases.

        A walking figure otherwise is reported at once: if it were the start of a flashing-green
        clearance, reading WALK for a moment never creates a violation."""
        return state is not SignalState.WALK or self.state is SignalState.CLEARANCE

    def _alternating(self) -> list[_Run]:
        """The latest runs that alternate lit/dark in one colour (newest last)."""
        chain = [self.runs[-1]]
        for run in reversed(self.runs[:-1]):
            prev = chain[0]
            if run.look is HeadLook.UNCERTAIN or run.look.lit == prev.look.lit:
                break
            lit = [r for r in (run, *chain) if r.look.lit]
            if len({r.look.colour for r in lit}) > 1:
                break
            chain.insert(0, run)
        return chain

    def _flash_start(self) -> float | None:
        chain = self._alternating()
        if self.runs[-1].look is HeadLook.UNCERTAIN:
            return None
        # completed runs must each last a flash half-period; the current one must not be too long yet
        timed = [nxt.start - run.start for run, nxt in itertools.pairwise(chain)]
        in_band = [self.half_min * 0.75 <= d <= self.half_max * 1.25 for d in timed]
        ongoing = self.runs[-1].last - self.runs[-1].start <= self.half_max
        count = 0
        for ok in reversed(in_band):
            if not ok:
                break
            count += 1
        if count + 1 < self.flash_runs or not ongoing:
            return None
        return chain[len(chain) - 1 - count].start
