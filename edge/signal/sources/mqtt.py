"""Controller feed over MQTT: a paho subscriber handing messages to the feed inbox."""

from __future__ import annotations

import logging
import os
import threading
import time

import paho.mqtt.client as mqtt

from edge.config.signal import MqttSourceConfig
from edge.signal.feed import FeedSource
from edge.signal.sources import register

log = logging.getLogger(__name__)


@register("mqtt")
class MqttSource(FeedSource):
    """Subscribes to ``topic``; reconnects on its own (paho's loop) and reports DOWN while disconnected."""

    def __init__(self, config: MqttSourceConfig) -> None:
        super().__init__(config.name, config)
        self.config = config
        self._connected = threading.Event()
        self._client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=config.client_id or f"crossguard-signal-{os.getpid()}"
        )
        if config.username:
            password = os.environ.get(config.password_env) if config.password_env else None
            self._client.username_pw_set(config.username, password)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)
        self._client.connect_async(config.host, config.port, keepalive=config.keepalive_s)
        self._client.loop_start()

    @classmethod
    def from_config(cls, config: MqttSourceConfig) -> MqttSource:
        return cls(config)

    def wait_connected(self, timeout_s: float) -> bool:
        return self._connected.wait(timeout_s)

    def connected(self) -> bool:
        return self._connected.is_set()

    def _on_connect(
        self, client: mqtt.Client, userdata: object, flags: object, reason: object, properties: object = None
    ) -> None:
        if getattr(reason, "is_failure", False):
            log.warning(
                "%s: broker %s:%d refused the connection: %s",
                self.name,
                self.config.host,
                self.config.port,
                reason,
            )
            return
        client.subscribe(self.config.topic, qos=1)  # subscribe again after every reconnect
        log.info("%s: subscribed to %s on %s:%d", self.name, self.config.topic, self.config.host, self.config.port)

    def _on_subscribe(self, client: mqtt.Client, userdata: object, mid: int, reasons: list, properties: object) -> None:
        if any(getattr(r, "is_failure", False) for r in reasons):
            log.warning("%s: broker refused the subscription to %s", self.name, self.config.topic)
            return
        self._connected.set()  # connected and subscribed: nothing published from now on is missed

    def _on_disconnect(
        self, client: mqtt.Client, userdata: object, flags: object, reason: object, properties: object = None
    ) -> None:
        self._connected.clear()
        log.warning(
            "%s: disconnected from %s:%d (%s); reconnecting",
            self.name,
            self.config.host,
            self.config.port,
            reason,
        )

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        self.inbox.submit(message.payload, time.time())

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
