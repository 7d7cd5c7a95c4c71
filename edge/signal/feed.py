"""Pushed controller feeds (MQTT, HTTP, recorded): a thread-safe inbox and the source built on it.

Messages arrive on the transport's own thread and are checked there: bounded before parsing
(size, nesting, group count), then per group (unknown group, time ahead of the box's clock, out of
order) — whatever is unusable is counted and dropped, and ``submit`` never raises, whatever the
payload. Usable states wait in a bounded queue, coalesced per group, so a flood cannot grow it.
The frame path only drains that queue in ``poll`` and turns it into state changes, adding UNKNOWN
when a group goes stale or its publishers contradict each other.

Times are kept on the box's clock: a message time ahead of it by more than ``max_clock_skew_s``
is rejected (and raises an alarm), and one ahead within the tolerance counts as its receive time,
so an accepted future time can never make the real controller's later messages look out of order.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from edge.config.signal import FeedSettings
from edge.signal.feed_messages import FeedItem, FeedMessageError, OversizedMessage, parse_message
from edge.signal.source import FrameClock, SignalAlarm, SignalSource, SourceHealth, SourceStatus
from edge.signal.types import SignalChange, SignalState

log = logging.getLogger(__name__)

_LOG_FIRST = 10  # log this many rejects of each kind, then one summary line per interval
SUMMARY_EVERY_S = 60.0
_QUEUED_PER_GROUP = 8  # distinct states of one group waiting for the frame path; older ones are dropped
CONTRADICTION = "contradiction"
CLOCK_AHEAD = "clock_ahead"
_FEED_WIDE = ""  # alarm key of alarms about the whole feed rather than one group


@dataclass(frozen=True)
class FeedUpdate:
    utc: float  # when the state began: the message's own time, at the latest its receive time
    received: float  # when it reached the box: staleness is measured on the box's clock
    group: str
    state: SignalState
    detail: str
    last_received: float | None = None  # the newest message repeating this state, when coalesced

    @property
    def heard(self) -> float:
        return self.received if self.last_received is None else self.last_received


@dataclass
class FeedCounters:
    accepted: int = 0
    malformed: int = 0
    unknown_group: int = 0
    out_of_order: int = 0
    oversized: int = 0
    ahead: int = 0  # message time ahead of the box's clock beyond the tolerance
    failed: int = 0  # the check itself raised: a bug, counted rather than allowed to stop the source
    coalesced: int = 0  # states dropped from a full queue before the frame path took them

    def text(self) -> str:
        extra = [
            f"{count} {label}"
            for count, label in (
                (self.oversized, "oversized"),
                (self.ahead, "ahead of the box's clock"),
                (self.failed, "failed"),
                (self.coalesced, "coalesced"),
            )
            if count
        ]
        return ", ".join(
            [
                f"{self.accepted} accepted, {self.malformed} malformed, "
                f"{self.unknown_group} unknown group, {self.out_of_order} out of order",
                *extra,
            ]
        )


@dataclass
class _Alarm:
    kind: str
    group: str
    since: float  # UTC, box clock
    last: float  # the latest evidence; the alarm lasts alarm_hold_s beyond it
    detail: str


@dataclass
class _Track:
    """What the inbox knows of one group, on the box's clock."""

    newest: float = float("-inf")  # newest message time accepted (ordering key)
    state: SignalState | None = None  # state of that message
    since: float = float("-inf")  # when that state was first reported
    earliest: float = float("-inf")  # the earliest it can have begun: the message before (-inf: not seen)
    held_until: float | None = None  # contradicted: UNKNOWN until then
    held: FeedUpdate | None = None  # the newest state heard while held
    disputed: float = float("-inf")  # when an older message last said otherwise


@dataclass
class _Rejects:
    unlogged: dict[str, int] = field(default_factory=dict)
    summary_at: float = field(default_factory=time.monotonic)


class FeedInbox:
    """Checks messages as they arrive and queues the usable ones; safe to call from any thread."""

    def __init__(self, settings: FeedSettings, name: str) -> None:
        self.settings = settings
        self.name = name
        self.counters = FeedCounters()
        self._lock = threading.Lock()
        self._queue: dict[str, list[FeedUpdate]] = {}  # per group, oldest first
        self._tracks: dict[str, _Track] = {}  # bounded: configured groups, or at most max_groups learnt
        self._alarms: dict[tuple[str, str], _Alarm] = {}
        self._rejects = _Rejects()

    def groups(self) -> list[str]:
        return sorted(set(self.settings.groups.values()))

    def submit(self, payload: Any, received_utc: float, shift_s: float = 0.0) -> int:
        """Queue the states in ``payload``; returns how many were accepted. Never raises."""
        try:
            items = parse_message(payload, self.settings.max_message_bytes, self.settings.max_groups)
        except OversizedMessage as exc:
            self._reject("oversized", f"{exc}")
            return 0
        except FeedMessageError as exc:
            self._reject("malformed", f"{exc}")
            return 0
        except Exception as exc:  # no payload may stop a source
            self._reject("failed", f"checking the message raised {type(exc).__name__}: {exc}")
            return 0
        received = received_utc + shift_s
        with self._lock:
            try:
                return sum(self._accept(item, received, shift_s) for item in items)
            except Exception as exc:
                self._reject_locked("failed", f"queueing the message raised {type(exc).__name__}: {exc}")
                return 0

    def _accept(self, item: FeedItem, received: float, shift_s: float) -> int:
        group = self._our_group(item.group_id)
        if group is None:
            limit = self.settings.max_groups
            why = "is not configured" if self.settings.groups else f"is one more than max_groups ({limit})"
            self._reject_locked("unknown_group", f"signal group '{item.group_id}' {why}")
            return 0
        stamped = received if item.utc is None else item.utc + shift_s
        ahead = stamped - received
        if ahead > self.settings.max_clock_skew_s:
            detail = (
                f"feed clock runs ahead of the box's: group {group} stamped {ahead:.3f} s in the future "
                f"(tolerance {self.settings.max_clock_skew_s:g} s)"
            )
            self._raise(CLOCK_AHEAD, _FEED_WIDE, received, detail)
            self._reject_locked("ahead", detail)
            return 0
        utc = min(stamped, received)  # ordering and dating on the box's clock
        track = self._tracks.setdefault(group, _Track())
        if utc < track.newest:
            # One stray older message saying otherwise may be a late duplicate; a second within the
            # hold is a second publisher (e.g. one whose clock lags, drowned by one whose does not).
            disputed = item.state is not track.state and received - track.disputed < self.settings.alarm_hold_s
            if item.state is not track.state:
                track.disputed = received
            if disputed:
                self._contradicted(
                    group,
                    track,
                    max(track.since, utc),
                    received,
                    f"group {group}: a message {track.newest - utc:.2f} s older than the newest says "
                    f"{item.state.value}, the newest {track.state.value if track.state else '?'}",
                )
            self._reject_locked("out_of_order", f"group {group}: {utc:.3f} is older than {track.newest:.3f}")
            return 0
        if (
            track.state not in (None, SignalState.UNKNOWN)
            and item.state is not track.state
            and utc - track.earliest < self.settings.min_phase_s
        ):
            self._contradicted(
                group,
                track,
                track.since,
                received,
                f"group {group}: {track.state.value} replaced by {item.state.value} within "
                f"{utc - track.earliest:.2f} s, shorter than any signal phase",
            )
        if item.state is not track.state:
            track.since, track.earliest = utc, track.newest
        track.newest, track.state = utc, item.state
        self.counters.accepted += 1
        update = FeedUpdate(utc, received, group, item.state, f"reported {item.raw_state}")
        if track.held_until is not None:
            track.held = update  # shown once the publishers agree again
        else:
            self._enqueue(update)
        return 1

    def _contradicted(self, group: str, track: _Track, start: float, received: float, detail: str) -> None:
        """Two publishers on the feed: the group is UNKNOWN from ``start`` until they agree for alarm_hold_s."""
        self._raise(CONTRADICTION, group, received, f"{detail}: two publishers contradict each other")
        if track.held_until is None:
            self._enqueue(FeedUpdate(start, received, group, SignalState.UNKNOWN, f"feed contradiction: {detail}"))
        track.held_until = received + self.settings.alarm_hold_s

    def _raise(self, kind: str, group: str, received: float, detail: str) -> None:
        alarm = self._alarms.get((kind, group))
        if alarm is None:
            log.warning("%s: ALARM %s: %s", self.name, kind.replace("_", " "), detail)
            self._alarms[(kind, group)] = _Alarm(kind, group, received, received, detail)
        else:
            alarm.last, alarm.detail = received, detail

    def _enqueue(self, update: FeedUpdate) -> None:
        """Queue ``update``; a repeat of the queued state only moves its last-heard time."""
        queued = self._queue.setdefault(update.group, [])
        last = queued[-1] if queued else None
        fresh = last is not None and update.received - last.heard <= self.settings.stale_after_s
        if last is not None and fresh and last.state is update.state:
            queued[-1] = replace(last, last_received=update.received)
            return
        queued.append(update)
        if len(queued) > _QUEUED_PER_GROUP:
            del queued[0]
            self.counters.coalesced += 1

    def drain(self, now_utc: float | None = None) -> list[FeedUpdate]:
        """Everything queued, oldest first; with ``now_utc``, also ends holds and alarms that are over."""
        with self._lock:
            if now_utc is not None:
                self._expire(now_utc)
            queued = [u for updates in self._queue.values() for u in updates]
            self._queue = {}
        return sorted(queued, key=lambda u: u.utc)

    def _expire(self, now_utc: float) -> None:
        for group, track in self._tracks.items():
            if track.held_until is not None and track.held_until <= now_utc:
                end, track.held_until = track.held_until, None
                held, track.held = track.held, None
                if held is not None and now_utc - held.heard <= self.settings.stale_after_s:  # else: stale
                    again = f"{held.detail} (publishers agree again)"
                    self._enqueue(replace(held, utc=max(held.utc, end), detail=again))
                hold = self.settings.alarm_hold_s
                log.warning("%s: group %s: no contradiction for %g s; its state is used again", self.name, group, hold)
        for key, alarm in list(self._alarms.items()):
            if now_utc - alarm.last >= self.settings.alarm_hold_s:
                del self._alarms[key]

    def alarms(self, clock: FrameClock) -> list[SignalAlarm]:
        with self._lock:
            active = [a for a in self._alarms.values() if clock.utc - a.last < self.settings.alarm_hold_s]
        return [
            SignalAlarm(a.group or self.name, a.kind, clock.to_t(a.since), f"{self.name}: {a.detail}") for a in active
        ]

    def _our_group(self, feed_id: str) -> str | None:
        if self.settings.groups:
            return self.settings.groups.get(feed_id)
        if feed_id in self._tracks or len(self._tracks) < self.settings.max_groups:
            return feed_id
        return None  # ids used as they are, but no more of them than max_groups

    def _reject(self, kind: str, message: str) -> None:
        with self._lock:
            self._reject_locked(kind, message)

    def _reject_locked(self, kind: str, message: str) -> None:
        count = getattr(self.counters, kind) + 1
        setattr(self.counters, kind, count)
        words = kind.replace("_", " ")
        if count <= _LOG_FIRST:
            log.warning("%s: %s message #%d dropped: %s", self.name, words, count, message)
            return
        rejects = self._rejects
        rejects.unlogged[words] = rejects.unlogged.get(words, 0) + 1
        now = time.monotonic()
        if now - rejects.summary_at >= SUMMARY_EVERY_S:
            summary = ", ".join(f"{n} {k}" for k, n in sorted(rejects.unlogged.items()))
            log.warning("%s: dropped since the last summary: %s; the last: %s", self.name, summary, message)
            rejects.unlogged.clear()
            rejects.summary_at = now


class FeedSource(SignalSource):
    """Base of every pushed feed: turns the inbox into changes and watches for staleness."""

    def __init__(self, name: str, settings: FeedSettings) -> None:
        super().__init__(name)
        self.settings = settings
        self.inbox = FeedInbox(settings, name)
        self._heard: dict[str, float] = {}  # per group: when its newest message was received (UTC)
        self._shown: dict[str, SignalState] = {}  # per group: the state last reported
        self._clock: FrameClock | None = None

    def groups(self) -> list[str]:
        return self.inbox.groups()

    def max_delay_s(self) -> float:
        """A contradiction makes a group UNKNOWN from the start of the too-short state it ends."""
        return self.settings.min_phase_s

    def poll(self, clock: FrameClock, image: np.ndarray | None) -> list[SignalChange]:
        self._clock = clock
        self.receive(clock)
        changes = self._lost_connection(clock)
        for update in self.inbox.drain(clock.utc):
            changes += self._stale_before(update.group, update.received, clock)
            self._heard[update.group] = max(update.heard, self._heard.get(update.group, update.heard))
            if self._shown.get(update.group) != update.state:
                self._shown[update.group] = update.state
                changes.append(
                    SignalChange(clock.to_t(update.utc), update.group, update.state, self.name, update.detail)
                )
        for group in list(self._heard):
            changes += self._stale_before(group, clock.utc, clock)
        return changes

    def _lost_connection(self, clock: FrameClock) -> list[SignalChange]:
        """Disconnected: every group UNKNOWN now, reported again from the first message after reconnecting."""
        if self.connected():
            return []
        lost = [g for g, s in self._shown.items() if s is not SignalState.UNKNOWN]
        for group in lost:
            self._shown[group] = SignalState.UNKNOWN
        reason = self.down_reason()
        return [SignalChange(clock.t, g, SignalState.UNKNOWN, self.name, reason) for g in sorted(lost)]

    def receive(self, clock: FrameClock) -> None:
        """Hook for feeds that deliver on the frame path (recorded playback)."""

    def _stale_before(self, group: str, utc: float, clock: FrameClock) -> list[SignalChange]:
        heard = self._heard.get(group)
        limit = self.settings.stale_after_s
        if heard is None or utc - heard <= limit or self._shown.get(group) is SignalState.UNKNOWN:
            return []
        self._shown[group] = SignalState.UNKNOWN
        reason = f"stale: no message from {self.name} for {limit:g} s"
        return [SignalChange(clock.to_t(heard + limit), group, SignalState.UNKNOWN, self.name, reason)]

    def connected(self) -> bool:
        """Whether the transport is up; feeds without a connection are always up."""
        return True

    def down_reason(self) -> str:
        """Why ``connected()`` is False, in words."""
        return "not connected"

    def alarms(self) -> list[SignalAlarm]:
        return self.inbox.alarms(self._clock) if self._clock is not None else []

    def status(self) -> SourceStatus:
        counters = self.inbox.counters.text()
        if not self.connected():
            return SourceStatus(self.name, SourceHealth.DOWN, f"{self.down_reason()}; {counters}")
        alarms = "; ".join(f"ALARM {a.detail}" for a in self.alarms())
        stale = [g for g, s in list(self._shown.items()) if s is SignalState.UNKNOWN]
        problems = [p for p in (alarms, f"unknown/stale: {', '.join(sorted(stale))}" if stale else "") if p]
        if problems:
            return SourceStatus(self.name, SourceHealth.DEGRADED, f"{'; '.join(problems)}; {counters}")
        return SourceStatus(self.name, SourceHealth.OK, counters)
