"""Moves outbox rows onto the wire: in order, a bounded window in flight, deleted on PUBACK.

Two lanes per connection. The *backlog* is every row already in the outbox when the connection
came up (queued while the broker was unreachable, or left by a previous run); it is sent in seq
order at no more than ``backlog_rate`` messages/s. The *live* lane is every row added since; it
goes first, so new events are never starved by an old backlog.

``historical`` — an event is flagged ``historical: true`` when its first publish attempt is in
the backlog lane, or happens more than ``late_after_s`` after the event was decided. The decision
is stored with the row, so a re-send after a lost PUBACK carries the same flag.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt

from edge.mqtt.outbox import MessageKind, Outbox, OutboxError, OutboxRow
from edge.mqtt.payloads import mark_historical

log = logging.getLogger(__name__)

EVENT_KINDS = (MessageKind.VIOLATION, MessageKind.CROSSING)


class TokenBucket:
    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self._clock = rate, clock
        self.capacity = max(1.0, rate * 0.25)
        self._tokens, self._last = self.capacity, clock()

    def available(self) -> int:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now
        return int(self._tokens)

    def take(self, n: int) -> None:
        self._tokens -= n


class OutboxSender:
    """The reporter's ``Session`` on its link."""

    def __init__(
        self,
        outbox: Outbox,
        *,
        inflight: int,
        backlog_rate: float,
        late_after_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.outbox = outbox
        self.inflight_max = inflight
        self.late_after_s = late_after_s
        self._backlog_rate = backlog_rate
        self._clock = clock
        self._inflight: dict[int, int] = {}  # paho mid -> outbox seq
        self._acked: list[int] = []
        self._boundary = 0  # last seq of the backlog for this connection
        self._live_cursor = 0
        self._backlog_cursor = 0
        self._bucket = TokenBucket(backlog_rate)
        self.published = 0

    def on_connected(self, client: mqtt.Client) -> None:
        self._inflight.clear()
        self._boundary = self.outbox.last_seq()
        self._live_cursor = self._boundary
        self._backlog_cursor = 0
        self._bucket = TokenBucket(self._backlog_rate)
        log.info("outbox: %d message(s) waiting at connect", len(self.outbox))

    def on_disconnected(self) -> None:
        # Unacknowledged rows stay in the outbox; the next connection sends them again.
        self._inflight.clear()

    def on_published(self, mid: int, ok: bool) -> None:
        seq = self._inflight.pop(mid, None)
        if seq is not None and ok:
            self._acked.append(seq)

    def drained(self) -> bool:
        return not self._inflight and len(self.outbox) == 0

    @property
    def backlog_left(self) -> bool:
        return self._backlog_cursor < self._boundary

    def pump(self, client: mqtt.Client) -> None:
        try:
            self._forget_acked()
            free = self.inflight_max - len(self._inflight)
            live = self.outbox.pending(self._live_cursor, free)
            backlog = self._backlog_batch(free - len(live))
            self._decide_historical(backlog, live)
        except OutboxError as exc:
            log.error("%s", exc)
            return
        for row in backlog + live:
            if not self._send(client, row):
                return

    def _forget_acked(self) -> None:
        if self._acked:
            done, self._acked = self._acked, []
            self.outbox.delete(done)

    def _backlog_batch(self, free: int) -> list[OutboxRow]:
        if free <= 0 or not self.backlog_left:
            return []
        allowed = min(free, self._bucket.available())
        if allowed <= 0:
            return []
        rows = self.outbox.pending(self._backlog_cursor, allowed, up_to_seq=self._boundary)
        if not rows:  # the rest of the backlog was acknowledged meanwhile
            self._backlog_cursor = self._boundary
        self._bucket.take(len(rows))
        return rows

    def _decide_historical(self, backlog: list[OutboxRow], live: list[OutboxRow]) -> None:
        now = self._clock()
        decisions = [(r.seq, True) for r in backlog if r.historical is None and r.kind in EVENT_KINDS]
        decisions += [
            (r.seq, r.event_utc is not None and now - r.event_utc > self.late_after_s)
            for r in live
            if r.historical is None and r.kind in EVENT_KINDS
        ]
        self.outbox.set_historical(decisions)
        decided = dict(decisions)
        for rows in (backlog, live):
            for i, r in enumerate(rows):
                if r.seq in decided:
                    rows[i] = OutboxRow(
                        r.seq, r.kind, r.topic, r.payload, r.retain, r.event_utc, decided[r.seq]
                    )

    def _send(self, client: mqtt.Client, row: OutboxRow) -> bool:
        payload = mark_historical(row.payload) if row.historical else row.payload
        info = client.publish(row.topic, payload, qos=1, retain=row.retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            log.warning("outbox: publish of seq %d failed: %s", row.seq, mqtt.error_string(info.rc))
            return False
        self._inflight[info.mid] = row.seq
        self.published += 1
        if row.seq > self._boundary:
            self._live_cursor = max(self._live_cursor, row.seq)
        else:
            self._backlog_cursor = max(self._backlog_cursor, row.seq)
        return True
