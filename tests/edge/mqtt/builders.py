"""Builders for the MQTT tests: a site config pointed at a test broker, crossing events, a collector."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from edge.config.site import SiteConfig
from edge.events import CrossingEvent, EventType, event_id
from edge.mqtt.collector import Collector, center_settings
from edge.mqtt.commands import sign_command
from edge.mqtt.payloads import EvidenceFile, EvidenceKind
from edge.mqtt.store import SqliteEventStore
from edge.signal.types import SignalState
from tests.mosquitto import Mosquitto

SITE_ID, CAMERA_ID = "elm-5th", "cam1"
COMMAND_KEY = "centre-and-box-shared-command-key-0123456789"  # what the centre signs commands with


def signed_command(name: str, body: dict[str, Any], base: str = f"crossguard/{SITE_ID}/{CAMERA_ID}",
                   key: str = COMMAND_KEY, now: float | None = None) -> bytes:
    """``body`` signed by the centre for command ``name`` of the box at ``base``, as published."""
    import json

    return json.dumps(sign_command(key.encode(), f"{base}/{name}/set", body, now)).encode()


def site_dict(broker: Mosquitto | None, **mqtt: Any) -> dict[str, Any]:
    section: dict[str, Any] = {
        "enabled": True,
        "reconnect_min_s": 0.2,
        "reconnect_max_s": 1.0,
        "flush_timeout_s": 3,
    }
    if broker is not None:
        section.update(host="127.0.0.1", port=broker.port)
    section.update(mqtt)
    return {
        "site": {"id": SITE_ID, "name": "Elm St & 5th Ave", "device_id": "box-17"},
        "camera": {"id": CAMERA_ID},
        "crosswalks": [
            {
                "id": "north",
                "signal_group": "P1",
                "polygon": [[0.1, 0.4], [0.9, 0.4], [0.9, 0.6], [0.1, 0.6]],
                "curbs": [
                    {"name": "west", "polygon": [[0.0, 0.3], [0.1, 0.3], [0.1, 0.7], [0.0, 0.7]]},
                    {"name": "east", "polygon": [[0.9, 0.3], [1.0, 0.3], [1.0, 0.7], [0.9, 0.7]]},
                ],
            }
        ],
        "mqtt": section,
    }


def site_config(broker: Mosquitto | None, **mqtt: Any) -> SiteConfig:
    return SiteConfig.model_validate(site_dict(broker, **mqtt))


def make_event(n: int, kind: EventType = EventType.VIOLATION, decided_utc: float | None = None) -> CrossingEvent:
    """Event number ``n``: distinct, stable id; decided now unless told otherwise."""
    decided = time.time() if decided_utc is None else decided_utc
    entry = decided - 1.5
    return CrossingEvent(
        event_id=event_id(SITE_ID, CAMERA_ID, "north", kind, 1_700_000_000.0 + n, n),
        type=kind,
        site_id=SITE_ID,
        camera_id=CAMERA_ID,
        crosswalk_id="north",
        signal_group="P1",
        track_id=n,
        direction="west->east",
        from_curb="west",
        to_curb="east",
        entry_frame=100,
        entry_t=10.0,
        entry_utc=entry,
        decided_frame=120,
        decided_t=11.5,
        decided_utc=decided,
        signal_state=SignalState.DONT_WALK if kind == EventType.VIOLATION else SignalState.WALK,
        signal_since_t=2.0,
        since_dont_walk_s=8.0 if kind == EventType.VIOLATION else None,
        enforced=kind == EventType.VIOLATION,
        entry_observed=True,
        reason="entered on DONT_WALK",
        foot_point=(320.0, 400.0),
        box=(300.0, 200.0, 340.0, 400.0),
        score=0.87,
    )


def evidence_for(n: int) -> list[EvidenceFile]:
    return [
        EvidenceFile(f"2026/11/23/ev{n}/clip.mp4", "a" * 64, 123456, EvidenceKind.CLIP),
        EvidenceFile(f"2026/11/23/ev{n}/manifest.json", "b" * 64, 2048, EvidenceKind.MANIFEST),
    ]


def start_collector(broker: Mosquitto, db: Path, client_id: str = "test-center") -> Collector:
    collector = Collector(SqliteEventStore(db), center_settings(broker.url, client_id, reconnect_min_s=0.2))
    collector.start()
    assert collector.link.wait_connected(10), collector.link.state.last_error
    time.sleep(0.2)  # let the SUBACKs land before anything is published
    return collector


def wait_for(predicate: Any, timeout: float = 15.0, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


class Recorder:
    """A plain paho subscriber that keeps every message under a filter: what the wire really carried."""

    def __init__(self, broker: Mosquitto, topic_filter: str = "crossguard/#") -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.messages: list[tuple[str, bytes, bool]] = []
        subscribed = threading.Event()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self._client.on_message = lambda _c, _u, m: self.messages.append((m.topic, bytes(m.payload), bool(m.retain)))
        self._client.on_subscribe = lambda *_: subscribed.set()
        self._client.connect("127.0.0.1", broker.port)
        self._client.subscribe(topic_filter, qos=1)
        self._client.loop_start()
        assert subscribed.wait(10), f"no SUBACK for {topic_filter} from the broker on port {broker.port}"

    def payloads(self, suffix: str) -> list[bytes]:
        """Messages published while subscribed; retained copies of older ones are left out."""
        return [p for t, p, retained in list(self.messages) if t.endswith(suffix) and not retained]

    def json(self, suffix: str) -> list[Any]:
        import json

        return [json.loads(p) for p in self.payloads(suffix)]

    def publish(self, topic: str, payload: bytes | str, retain: bool = False) -> None:
        self._client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()
