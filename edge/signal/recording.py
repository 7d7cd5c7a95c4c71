"""Recording a controller feed to JSON lines, and reading it back for replay.

One line per MQTT message: ``{"received": <UTC seconds>, "topic": "...", "payload": "<text>"}``.
The payload is kept as received text, so playback judges malformed messages exactly as live did.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import paho.mqtt.client as mqtt

from edge.signal.source import SignalSourceError

log = logging.getLogger(__name__)


class RecordingError(SignalSourceError):
    """A recording that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class RecordedMessage:
    received: float
    topic: str
    payload: str


def read_recording(path: Path) -> tuple[list[RecordedMessage], int]:
    """Messages in time order, and how many lines were unreadable (skipped, not fatal)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise RecordingError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordingError(f"{path}: cannot read: {exc}") from None
    messages, bad = [], 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            messages.append(RecordedMessage(float(row["received"]), str(row.get("topic", "")), str(row["payload"])))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, RecursionError) as exc:  # hand-made lines too
            bad += 1
            log.warning("%s:%d: unreadable recording line skipped (%s)", path, number, exc)
    return sorted(messages, key=lambda m: m.received), bad


class FeedRecorder:
    """Subscribes to a topic and appends every message, flushed, to a JSON-lines file."""

    def __init__(self, host: str, port: int, topic: str, out: IO[str]) -> None:
        self.topic, self.out = topic, out
        self.count = 0
        self.subscribed = threading.Event()
        self._lock = threading.Lock()
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"crossguard-recorder-{time.time_ns()}")
        self._client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self._client.on_subscribe = lambda *_: self.subscribed.set()
        self._client.on_message = self._on_message
        self._client.connect_async(host, port)
        self._client.loop_start()

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        payload = message.payload.decode("utf-8", errors="replace")
        line = json.dumps({"received": round(time.time(), 6), "topic": message.topic, "payload": payload})
        with self._lock:
            self.out.write(line + "\n")
            self.out.flush()
            self.count += 1

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
