"""Combines the configured signal sources into the one history the decision core reads.

Per group, at every instant:

* the first source in priority order with a known state (not UNKNOWN) gives the state;
* when two sources with known states disagree for longer than ``conflict_tolerance_s``, the group
  is UNKNOWN ("sources disagree") and an alarm is active until they agree again;
* with no source knowing the state, the group is UNKNOWN and the reason names each source's;
* a source that reports DOWN, or whose poll raises, is UNKNOWN for all its groups from then on.

Each source's changes are kept in their own history; the combined history is worked out from
them again whenever a change arrives, from that change's time on, so a change arriving up to
``late_window_s`` late lands at its own instant. Every UNKNOWN period is an enforcement gap,
kept with its reason (``enforcement_gaps()``), because the centre and the police must be able to
see when the box could not enforce.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge.signal.source import FrameClock, SignalAlarm, SignalSource, SourceHealth, SourceStatus
from edge.signal.timeline import SignalHistory
from edge.signal.types import SignalChange, SignalReading, SignalState

log = logging.getLogger(__name__)

HUB_SOURCE = "hub"
CONFLICT = "sources disagree"
_MAX_SETTLED_GAPS = 10_000
_LOG_LATE_FIRST, _LOG_LATE_EVERY = 10, 1000


@dataclass(frozen=True)
class EnforcementGap:
    """Group ``group`` was UNKNOWN from ``start`` to ``end`` (None: still is), so nothing was enforced."""

    group: str
    start: float
    end: float | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"group": self.group, "start": self.start, "end": self.end, "reason": self.reason}


@dataclass(frozen=True)
class _Segment:
    t: float
    state: SignalState
    reason: str


class SignalHub:
    """Polls every source once per frame and keeps the combined per-group ``history``."""

    def __init__(
        self,
        sources: list[SignalSource],
        horizon_s: float = 600.0,
        conflict_tolerance_s: float = 1.5,
        late_window_s: float = 5.0,
    ) -> None:
        self.sources = sources
        self.history = SignalHistory(horizon_s=horizon_s)
        self.conflict_tolerance_s = conflict_tolerance_s
        self.late_window_s = late_window_s
        self._inputs = [SignalHistory(horizon_s=horizon_s) for _ in sources]
        self._failed = [False] * len(sources)
        self._groups: set[str] = set()
        self._pending_conflicts: dict[str, float] = {}  # group → when the disagreement turns into UNKNOWN
        self._settled: dict[tuple[str, float], EnforcementGap] = {}
        self._now: float | None = None
        self._settled_at = float("-inf")
        self.late_changes = 0

    @classmethod
    def from_config(cls, config: Any, sources: list[SignalSource] | None = None) -> SignalHub:
        """Build the hub from a ``SignalConfig``; ``sources`` replaces the configured ones (replay)."""
        from edge.signal.sources import build_source

        return cls(
            sources if sources is not None else [build_source(c) for c in config.sources],
            horizon_s=config.history_s,
            conflict_tolerance_s=config.conflict_tolerance_s,
            late_window_s=config.late_window_s,
        )

    # --- the frame path -----------------------------------------------------------------------

    def update(self, clock: FrameClock, image: np.ndarray | None = None) -> list[SignalChange]:
        """Poll all sources; returns the combined history's changes this update wrote or rewrote."""
        first = self._now is None
        self._now = now = clock.t
        dirty: dict[str, float] = {}
        for i, source in enumerate(self.sources):
            changes = self._poll(i, source, clock, image, first)
            for change in changes:
                change = change if source.prerecorded else self._place(change, now)
                self._inputs[i].add(change)
                self._groups.add(change.group)
                dirty[change.group] = min(dirty.get(change.group, now), change.t)
        for group, due in list(self._pending_conflicts.items()):
            if due <= now:
                dirty[group] = min(dirty.get(group, now), due)
        written = [c for group, t_from in dirty.items() for c in self._resolve(group, t_from, now)]
        self._settle_gaps(now)
        return sorted(written, key=lambda c: c.t)

    def _poll(
        self, i: int, source: SignalSource, clock: FrameClock, image: np.ndarray | None, first: bool
    ) -> list[SignalChange]:
        changes: list[SignalChange] = []
        if first:  # declared groups are UNKNOWN until the source says otherwise
            changes += [
                SignalChange(clock.t, g, SignalState.UNKNOWN, source.name, "no information yet")
                for g in source.groups()
            ]
        try:
            changes += source.poll(clock, image)
            status = source.status()
            failure = status.detail or "down" if status.health is SourceHealth.DOWN else None
        except Exception as exc:  # a broken source must never stop the frame path
            log.exception("signal source %s failed", source.name)
            failure = f"error: {exc}"
        if failure is not None and not self._failed[i]:
            changes += [
                SignalChange(clock.t, g, SignalState.UNKNOWN, source.name, f"source down: {failure}")
                for g in self._input_groups(i, source)
            ]
        self._failed[i] = failure is not None
        return changes

    def _input_groups(self, i: int, source: SignalSource) -> list[str]:
        return sorted(set(self._inputs[i].groups) | set(source.groups()))

    def _place(self, change: SignalChange, now: float) -> SignalChange:
        """Late changes within the window keep their time; older ones are placed at arrival."""
        if change.t >= now - self.late_window_s:
            return change
        self.late_changes += 1
        late = now - change.t
        if self.late_changes <= _LOG_LATE_FIRST or self.late_changes % _LOG_LATE_EVERY == 0:  # a flood stays short
            log.warning(
                "%s: change of %s to %s arrived %.1f s late; placed at arrival (%d late so far)",
                change.source,
                change.group,
                change.state.value,
                late,
                self.late_changes,
            )
        reason = f"{change.reason} (arrived {late:.1f} s late)".strip()
        return SignalChange(now, change.group, change.state, change.source, reason)

    # --- combining sources --------------------------------------------------------------------

    def _resolve(self, group: str, t_from: float, now: float) -> list[SignalChange]:
        segments = self._combined(group, now)
        self.history.discard_from(group, t_from)
        before = self.history.changes(group)
        last = (before[-1].state, before[-1].reason) if before else None
        written = []
        for seg in segments:
            if seg.t < t_from or (seg.state, seg.reason) == last:
                continue  # before t_from the history already holds these; repeats add nothing
            change = SignalChange(seg.t, group, seg.state, HUB_SOURCE, seg.reason)
            self.history.add(change)
            written.append(change)
            last = (seg.state, seg.reason)
        return written

    def _combined(self, group: str, now: float) -> list[_Segment]:
        """The combined state of ``group`` over the whole input history, as change points."""
        times = sorted({c.t for h in self._inputs for c in h.changes(group)})
        segments: list[_Segment] = []
        disagree_since: float | None = None
        self._pending_conflicts.pop(group, None)
        for k, t in enumerate(times):
            readings = [h.state_at(group, t) for h in self._inputs]
            known = {i: r.state for i, r in enumerate(readings) if r.state is not SignalState.UNKNOWN}
            disagreeing = len(set(known.values())) > 1
            if not disagreeing or disagree_since is None:
                disagree_since = t if disagreeing else None
            if disagree_since is None:
                segments.append(self._segment_at(t, readings, known))
                continue
            due = disagree_since + self.conflict_tolerance_s
            if t >= due:  # the disagreement has already outlasted the tolerance
                segments.append(_Segment(t, SignalState.UNKNOWN, self._conflict_text(known)))
                continue
            segments.append(self._segment_at(t, readings, known))
            next_t = times[k + 1] if k + 1 < len(times) else float("inf")
            if due < next_t and due <= now:
                segments.append(_Segment(due, SignalState.UNKNOWN, self._conflict_text(known)))
            elif due < next_t:
                self._pending_conflicts[group] = due
        return segments

    def _segment_at(self, t: float, readings: list[SignalReading], known: dict[int, SignalState]) -> _Segment:
        if known:
            first = min(known)
            why = readings[first].reason
            return _Segment(t, known[first], f"from {self.sources[first].name}" + (f": {why}" if why else ""))
        parts = [f"{s.name}: {r.reason or 'unknown'}" for s, r in zip(self.sources, readings, strict=True)]
        return _Segment(t, SignalState.UNKNOWN, "; ".join(parts))

    def _conflict_text(self, known: dict[int, SignalState]) -> str:
        views = ", ".join(f"{self.sources[i].name}={s.value}" for i, s in sorted(known.items()))
        return f"{CONFLICT}: {views}"

    # --- reading ------------------------------------------------------------------------------

    @property
    def revision_window_s(self) -> float:
        """How long after an instant its combined state may still be revised by a late change.

        A decision core that warns at once should re-judge entries younger than this when
        ``update`` returns changes dated before them (the vision source dates a flash from its
        first lit phase, seconds after it began)."""
        delays = [s.max_delay_s() for s in self.sources]
        return min(self.late_window_s, max(delays, default=0.0))

    def state_at(self, group: str, t: float) -> SignalReading:
        return self.history.state_at(group, t)

    def alarms(self) -> list[SignalAlarm]:
        """Alarms active at the latest update: groups whose sources disagree beyond the tolerance,
        and what the sources raise themselves (a feed contradicting itself, a feed clock ahead)."""
        if self._now is None:
            return []
        alarms = []
        for group in sorted(self._groups):
            reading = self.history.state_at(group, self._now)
            if reading.state is SignalState.UNKNOWN and reading.reason.startswith(CONFLICT):
                alarms.append(SignalAlarm(group, "conflict", reading.since or self._now, reading.reason))
        for source in self.sources:
            try:
                alarms += source.alarms()
            except Exception:  # an alarm probe must never break status or the frame path
                log.exception("signal source %s: reading its alarms failed", source.name)
        return alarms

    def enforcement_gaps(self) -> list[EnforcementGap]:
        """Every UNKNOWN period seen, oldest first (settled ones kept beyond the history horizon)."""
        gaps = dict(self._settled)
        for gap in self._gaps_in_history():
            gaps[(gap.group, gap.start)] = gap
        return sorted(gaps.values(), key=lambda g: (g.start, g.group))

    def _gaps_in_history(self) -> Iterator[EnforcementGap]:
        for group in self.history.groups:
            start: SignalChange | None = None
            reasons: list[str] = []
            for change in self.history.changes(group):
                if change.state is SignalState.UNKNOWN:
                    start = start or change
                    if change.reason not in reasons:
                        reasons.append(change.reason)
                elif start is not None:
                    yield EnforcementGap(group, start.t, change.t, "; then ".join(reasons))
                    start, reasons = None, []
            if start is not None:
                yield EnforcementGap(group, start.t, None, "; then ".join(reasons))

    def _settle_gaps(self, now: float) -> None:
        """Keep closed gaps that can no longer be rewritten, so they outlive the history horizon."""
        if now - self._settled_at < 1.0:
            return
        self._settled_at = now
        settled_before = now - self.late_window_s - self.conflict_tolerance_s
        for gap in self._gaps_in_history():
            if gap.end is not None and gap.end < settled_before:
                self._settled[(gap.group, gap.start)] = gap
        while len(self._settled) > _MAX_SETTLED_GAPS:
            del self._settled[next(iter(self._settled))]

    def groups_by_source(self) -> dict[str, list[str]]:
        """Source name → the groups it declares or has reported, so each group's feeders can be named."""
        return {source.name: self._input_groups(i, source) for i, source in enumerate(self.sources)}

    def statuses(self) -> list[SourceStatus]:
        statuses = [s.status() for s in self.sources]
        alarms = self.alarms()
        if alarms:
            detail = "; ".join(f"group {a.group}: {a.detail}" for a in alarms)
            statuses.append(SourceStatus(HUB_SOURCE, SourceHealth.DEGRADED, detail))
        return statuses

    def close(self) -> None:
        for source in self.sources:
            try:
                source.close()
            except Exception:  # closing the rest matters more than one failure
                log.exception("closing signal source %s failed", source.name)
