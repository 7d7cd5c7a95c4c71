"""Pushed controller feeds (MQTT, HTTP, recorded): a thread-safe inbox and the source built on it.

Messages arrive on the transport's own thread and are checked there (malformed, unknown group,
out of order → counted, logged, dropped; the source never raises). The frame path drains the
inbox in ``poll`` and turns it into state changes, adding UNKNOWN when a group goes stale.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge.config.signal import FeedSettings
from edge.signal.feed_messages import FeedMessageError, parse_message
from edge.signal.source import FrameClock, SignalSource, SourceHealth, SourceStatus
from edge.signal.types import SignalChange, SignalState

log = logging.getLogger(__name__)

_LOG_FIRST = 10  # log this many rejects of each kind, then every 100th
_LOG_EVERY = 100


@dataclass(frozen=True)
class FeedUpdate:
    utc: float  # when the state began, by the message's own time
    received: float  # when it reached the box: staleness is measured on the box's clock
    group: str
    state: SignalState
    detail: str


@dataclass
class FeedCounters:
    accepted: int = 0
    malformed: int = 0
    unknown_group: int = 0
    out_of_order: int = 0

    def text(self) -> str:
        return (
            f"{self.accepted} accepted, {self.malformed} malformed, "
            f"{self.unknown_group} unknown group, {self.out_of_order} out of order"
        )


class FeedInbox:
    """Checks messages as they arrive and queues the usable ones; safe to call from any thread."""

    def __init__(self, settings: FeedSettings, name: str) -> None:
        self.settings = settings
        self.name = name
        self.counters = FeedCounters()
        self._lock = threading.Lock()
        self._queue: list[FeedUpdate] = []
        self._newest: dict[str, float] = {}  # per group: newest message time accepted

    def groups(self) -> list[str]:
        return sorted(set(self.settings.groups.values()))

    def submit(self, payload: Any, received_utc: float, shift_s: float = 0.0) -> int:
        """Queue the states in ``payload``; returns how many were accepted. Never raises."""
        try:
            items = parse_message(payload)
        except FeedMessageError as exc:
            self._reject("malformed", f"{exc}")
            return 0
        accepted = 0
        for item in items:
            utc = (item.utc if item.utc is not None else received_utc) + shift_s
            if utc > received_utc + shift_s + self.settings.max_clock_skew_s:
                self._reject("malformed", f"group {item.group_id}: time {utc:.3f} lies in the future")
                continue
            group = self._our_group(item.group_id)
            if group is None:
                self._reject("unknown_group", f"signal group '{item.group_id}' is not configured")
                continue
            with self._lock:
                if utc < self._newest.get(group, float("-inf")):
                    newest = self._newest[group]
                    self._reject_locked("out_of_order", f"group {group}: {utc:.3f} is older than {newest:.3f}")
                    continue
                self._newest[group] = utc
                received = received_utc + shift_s
                self._queue.append(FeedUpdate(utc, received, group, item.state, f"reported {item.raw_state}"))
                self.counters.accepted += 1
                accepted += 1
        return accepted

    def drain(self) -> list[FeedUpdate]:
        with self._lock:
            queued, self._queue = self._queue, []
        return sorted(queued, key=lambda u: u.utc)

    def _our_group(self, feed_id: str) -> str | None:
        if not self.settings.groups:
            return feed_id
        return self.settings.groups.get(feed_id)

    def _reject(self, kind: str, message: str) -> None:
        with self._lock:
            self._reject_locked(kind, message)

    def _reject_locked(self, kind: str, message: str) -> None:
        count = getattr(self.counters, kind) + 1
        setattr(self.counters, kind, count)
        if count <= _LOG_FIRST or count % _LOG_EVERY == 0:
            log.warning("%s: %s message #%d dropped: %s", self.name, kind.replace("_", " "), count, message)


class FeedSource(SignalSource):
    """Base of every pushed feed: turns the inbox into changes and watches for staleness."""

    def __init__(self, name: str, settings: FeedSettings) -> None:
        super().__init__(name)
        self.settings = settings
        self.inbox = FeedInbox(settings, name)
        self._heard: dict[str, float] = {}  # per group: when its newest message was received (UTC)
        self._shown: dict[str, SignalState] = {}  # per group: the state last reported

    def groups(self) -> list[str]:
        return self.inbox.groups()

    def poll(self, clock: FrameClock, image: np.ndarray | None) -> list[SignalChange]:
        self.receive(clock)
        changes = self._lost_connection(clock)
        for update in self.inbox.drain():
            changes += self._stale_before(update.group, update.received, clock)
            self._heard[update.group] = max(update.received, self._heard.get(update.group, update.received))
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
        return [SignalChange(clock.t, g, SignalState.UNKNOWN, self.name, "not connected") for g in sorted(lost)]

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

    def status(self) -> SourceStatus:
        counters = self.inbox.counters.text()
        if not self.connected():
            return SourceStatus(self.name, SourceHealth.DOWN, f"not connected; {counters}")
        stale = [g for g, s in self._shown.items() if s is SignalState.UNKNOWN]
        if stale:
            return SourceStatus(
                self.name, SourceHealth.DEGRADED, f"unknown/stale: {', '.join(sorted(stale))}; {counters}"
            )
        return SourceStatus(self.name, SourceHealth.OK, counters)
