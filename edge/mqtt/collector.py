"""The traffic centre's collector: every site's events, evidence, availability and status into an ``EventStore``.

Events are validated against their JSON Schema and stored once per id, so re-deliveries (QoS 1
is at-least-once; a box re-sends whatever lacked a PUBACK) never count twice. A message is
acknowledged to the broker only after it is stored; a storage failure leaves it unacknowledged
(``Redeliver``). A message that can never be stored (too large, too deeply nested, not JSON, not
matching its schema, from a box not in the registry) is rejected: counted, kept in the store's
dead-letter table and acknowledged, so it never blocks the messages behind it. Rejections are
logged once per site with the reason, then summarised every ``REJECTION_LOG_INTERVAL_S``.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from edge.logtext import printable
from edge.mqtt.inbound import PayloadError, parse_json
from edge.mqtt.link import BrokerSettings, Link, Redeliver
from edge.mqtt.registry import BoxRegistry
from edge.mqtt.schemas import problems
from edge.mqtt.store import EventStore, StoreError
from edge.mqtt.topics import collector_filters, split_site_topic

log = logging.getLogger(__name__)

AVAILABILITY_VALUES = ("online", "offline")
SCHEMA_OF = {"events": "event", "evidence": "evidence", "status": "status"}  # topic kind → JSON Schema
UNKNOWN_BOX = "unknown box"
REJECTION_LOG_INTERVAL_S = 600.0  # after a site's first rejection is logged, at most one summary per interval
MAX_LOGGED_SITES = 1000  # beyond this many sites (forged names, say), rejections share one log entry


@dataclass
class _RejectionLog:
    next_at: float  # monotonic
    unlogged: int = 0


class Collector:
    def __init__(
        self,
        store: EventStore,
        settings: BrokerSettings,
        prefix: str = "crossguard",
        share: str | None = None,
        registry: BoxRegistry | None = None,
    ) -> None:
        self.store = store
        self.prefix = prefix
        self.registry = registry
        self.link = Link(settings, name="center")
        self.stored = 0
        self.evidence_stored = 0
        self.rejected = 0
        self._rejection_log: dict[str, _RejectionLog] = {}
        self.on_change: Callable[[], None] | None = None
        for kind, topic_filter in collector_filters(prefix).items():
            # Several centres in one share group split the events (and evidence) between them; availability and
            # status are small and retained, so every centre takes all of them.
            shared = share is not None and kind in ("events", "evidence")
            self.link.subscribe(f"$share/{share}/{topic_filter}" if shared else topic_filter, self.handle)

    def start(self) -> None:
        self.link.start()

    def stop(self) -> None:
        self.link.stop(timeout=1.0)

    def handle(self, topic: str, raw: bytes) -> None:
        """Store one message, or reject it (acknowledged); ``Redeliver`` when the store fails."""
        where = split_site_topic(self.prefix, topic)
        if where is None:
            return
        site, camera, kind = where
        try:
            try:
                self._store(site, camera, kind, raw)
            except PayloadError as exc:
                self._reject(site, camera, topic, raw, str(exc))
            except (sqlite3.Error, StoreError, OSError) as exc:
                raise Redeliver(f"the centre's store failed: {exc}") from exc
            except Exception as exc:  # a payload that trips a bug is kept aside like any bad one
                log.exception("center: storing a message on %s failed", printable(topic))
                self._reject(site, camera, topic, raw, f"{kind}: cannot be stored: {type(exc).__name__}: {exc}")
        except (sqlite3.Error, StoreError, OSError) as exc:  # the dead-letter table itself cannot be written
            raise Redeliver(f"the centre's store failed: {exc}") from exc
        if self.on_change is not None:
            self.on_change()

    def _store(self, site: str, camera: str, kind: str, raw: bytes) -> None:
        if self.registry is not None and not self.registry.knows(site, camera):
            raise PayloadError(UNKNOWN_BOX)
        if kind == "availability":
            self._availability(site, camera, raw)
        elif kind in SCHEMA_OF:
            self._json(site, camera, kind, raw)

    def _availability(self, site: str, camera: str, raw: bytes) -> None:
        value = raw[:64].decode("utf-8", errors="replace").strip()
        if value not in AVAILABILITY_VALUES:
            raise PayloadError(f"availability '{value[:40]}' is neither online nor offline")
        self.store.set_availability(site, camera, value)

    def _json(self, site: str, camera: str, kind: str, raw: bytes) -> None:
        try:
            payload = parse_json(raw)
        except PayloadError as exc:
            raise PayloadError(f"{kind}: {exc}") from None
        schema = SCHEMA_OF[kind]
        found = problems(schema, payload)
        if found:
            raise PayloadError(f"{kind}: does not match {schema}.json: {found[0]}")
        if (payload["site"], payload["camera"]) != (site, camera):
            raise PayloadError(f"{kind}: payload names {payload['site']}/{payload['camera']}, topic {site}/{camera}")
        if schema == "event":
            if self.store.add_event(payload):
                self.stored += 1
        elif schema == "evidence":
            self._evidence(payload)
        else:
            self.store.set_status(site, camera, payload)

    def _evidence(self, payload: dict) -> None:
        """A violation's evidence outcome, kept by its event id whether or not the event is in yet."""
        if self.store.add_evidence(payload):
            self.evidence_stored += 1
        self.store.note_chain_head(payload)  # the box's evidence chain head, kept off the box; logs gaps

    def _reject(self, site: str, camera: str, topic: str, raw: bytes, reason: str) -> None:
        """Acknowledged anyway: a malformed message will not improve by being redelivered."""
        self.rejected += 1
        self.store.add_dead_letter(site, camera, topic, reason, raw)
        if reason != UNKNOWN_BOX:  # a forged site gets no row in the per-site view
            self.store.note_rejected(site, camera, reason)
        self._log_rejection(UNKNOWN_BOX if reason == UNKNOWN_BOX else site, camera, reason)

    def _log_rejection(self, site: str, camera: str, reason: str) -> None:
        """The first rejection per site with its reason, then at most one count per interval."""
        now = time.monotonic()
        key = site if site in self._rejection_log or len(self._rejection_log) < MAX_LOGGED_SITES else "*"
        entry = self._rejection_log.get(key)
        if entry is None:
            self._rejection_log[key] = _RejectionLog(now + REJECTION_LOG_INTERVAL_S)
            log.warning(
                "center: rejected a message from %s/%s: %s (kept in the dead-letter table; further rejections"
                " from %s are counted there and summarised every %g s)",
                printable(site), printable(camera), printable(reason), printable(key), REJECTION_LOG_INTERVAL_S,
            )  # fmt: skip
            return
        entry.unlogged += 1
        if now >= entry.next_at:
            log.warning(
                "center: %d more message(s) from %s rejected, the last: %s/%s: %s",
                entry.unlogged, printable(key), printable(site), printable(camera), printable(reason),
            )  # fmt: skip
            entry.unlogged, entry.next_at = 0, now + REJECTION_LOG_INTERVAL_S


def center_settings(url: str, client_id: str = "crossguard-center", **overrides: object) -> BrokerSettings:
    """A persistent session: the broker queues QoS 1 messages for the centre while it is away."""
    options: dict[str, object] = {
        "clean_start": False,
        "session_expiry_s": 7 * 24 * 3600,
        "reconnect_max_s": 10.0,
    }
    options.update(overrides)
    return BrokerSettings.from_url(url, client_id, **options)
