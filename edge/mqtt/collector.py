"""The traffic centre's collector: every site's events, evidence, availability and status into an ``EventStore``.

Events are validated against their JSON Schema and stored once per id, so re-deliveries (QoS 1
is at-least-once; a box re-sends whatever lacked a PUBACK) never count twice. A message is
acknowledged to the broker only after it is stored; a storage failure leaves it unacknowledged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from edge.mqtt.link import BrokerSettings, Link
from edge.mqtt.schemas import problems
from edge.mqtt.store import EventStore
from edge.mqtt.topics import collector_filters, split_site_topic

log = logging.getLogger(__name__)

AVAILABILITY_VALUES = ("online", "offline")
SCHEMA_OF = {"events": "event", "evidence": "evidence", "status": "status"}  # topic kind → JSON Schema


class Collector:
    def __init__(
        self,
        store: EventStore,
        settings: BrokerSettings,
        prefix: str = "crossguard",
        share: str | None = None,
    ) -> None:
        self.store = store
        self.prefix = prefix
        self.link = Link(settings, name="center")
        self.stored = 0
        self.evidence_stored = 0
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
        where = split_site_topic(self.prefix, topic)
        if where is None:
            return
        site, camera, kind = where
        if kind == "availability":
            self._availability(site, camera, raw)
        elif kind in SCHEMA_OF:
            self._json(site, camera, kind, raw)
        if self.on_change is not None:
            self.on_change()

    def _availability(self, site: str, camera: str, raw: bytes) -> None:
        value = raw.decode("utf-8", errors="replace").strip()
        if value not in AVAILABILITY_VALUES:
            self._reject(site, camera, f"availability '{value[:40]}' is neither online nor offline")
            return
        self.store.set_availability(site, camera, value)

    def _json(self, site: str, camera: str, kind: str, raw: bytes) -> None:
        try:
            payload = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self._reject(site, camera, f"{kind}: not JSON: {exc}")
            return
        schema = SCHEMA_OF[kind]
        found = problems(schema, payload)
        if found:
            self._reject(site, camera, f"{kind}: does not match {schema}.json: {found[0]}")
            return
        if (payload["site"], payload["camera"]) != (site, camera):
            self._reject(
                site,
                camera,
                f"{kind}: payload names {payload['site']}/{payload['camera']}, topic {site}/{camera}",
            )
            return
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

    def _reject(self, site: str, camera: str, reason: str) -> None:
        # Acknowledged anyway: a malformed message will not improve by being redelivered.
        log.warning("center: rejected message from %s/%s: %s", site, camera, reason)
        self.store.note_rejected(site, camera, reason)


def center_settings(url: str, client_id: str = "crossguard-center", **overrides: object) -> BrokerSettings:
    """A persistent session: the broker queues QoS 1 messages for the centre while it is away."""
    options: dict[str, object] = {
        "clean_start": False,
        "session_expiry_s": 7 * 24 * 3600,
        "reconnect_max_s": 10.0,
    }
    options.update(overrides)
    return BrokerSettings.from_url(url, client_id, **options)
