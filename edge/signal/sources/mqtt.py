"""Controller feed over MQTT: a paho subscriber handing messages to the feed inbox.

The connection is built like the reporter's (``edge.mqtt.link``: the same settings type, TLS with
CA, client certificate and key, user name and password). No message can stop the network thread
(each is handled inside a catch-all and always acknowledged); should the thread stop anyway, the
source reports DOWN at once (its groups UNKNOWN) and the frame path's watchdog starts it again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import ssl
import threading
import time

import numpy as np
import paho.mqtt.client as mqtt

from edge.config.signal import MqttSourceConfig
from edge.mqtt.link import BrokerSettings, TlsSettings, connect_kwargs, make_client
from edge.signal.feed import FeedSource
from edge.signal.source import FrameClock
from edge.signal.sources import register
from edge.signal.types import SignalChange

log = logging.getLogger(__name__)

RESTART_AFTER_S = 2.0  # the watchdog starts a stopped network thread again at most this often
_RETRY_S = 1.0


def feed_broker_settings(config: MqttSourceConfig) -> BrokerSettings:
    """The feed's connection in the reporter's terms; the password comes from ``password_env``."""
    return BrokerSettings(
        host=config.host,
        port=config.port,
        client_id=config.client_id or f"crossguard-signal-{os.getpid()}-{config.name}",
        protocol=config.protocol,
        username=config.username,
        password=os.environ.get(config.password_env) if config.username and config.password_env else None,
        tls=TlsSettings.from_config(config.tls),
        keepalive_s=config.keepalive_s,
        reconnect_min_s=1.0,
        reconnect_max_s=10.0,
    )


@register("mqtt")
class MqttSource(FeedSource):
    """Subscribes to ``topic``; reconnects on its own and reports DOWN while disconnected or stopped."""

    def __init__(self, config: MqttSourceConfig) -> None:
        super().__init__(config.name, config)
        self.config = config
        self.broker = feed_broker_settings(config)
        self.restarts = 0  # network threads started again by the watchdog
        self.loop_failures = 0  # network loops that raised and were started again by the thread itself
        self._connected = threading.Event()
        self._stop = threading.Event()
        self._client: mqtt.Client | None = None
        self._problem = ""
        self._thread: threading.Thread | None = None
        self._started_at = float("-inf")
        self._start_thread()

    @classmethod
    def from_config(cls, config: MqttSourceConfig) -> MqttSource:
        return cls(config)

    # --- the network thread ----------------------------------------------------------------------

    def _start_thread(self) -> None:
        self._started_at = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=f"signal-{self.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            client = self._open()
            if client is not None:
                try:
                    client.loop_forever(retry_first_connection=True)
                except Exception:  # whatever it was, the feed must come back
                    self.loop_failures += 1
                    log.exception("%s: network loop failed; connecting again", self.name)
                finally:
                    self._connected.clear()
                    _close_socket(client)
            self._stop.wait(_RETRY_S)

    def _open(self) -> mqtt.Client | None:
        try:
            client = make_client(self.broker)
        except (OSError, ValueError, ssl.SSLError) as exc:  # a CA, certificate or key file missing or not PEM
            self._fail(f"TLS files for {self.broker.url} unusable: {exc}")
            return None
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        client.connect_async(self.broker.host, self.broker.port, self.broker.keepalive_s, **connect_kwargs(self.broker))
        self._client = client
        return client

    def _fail(self, problem: str) -> None:
        if problem != self._problem:
            log.error("%s: %s", self.name, problem)
        self._problem = problem

    def _alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def poll(self, clock: FrameClock, image: np.ndarray | None) -> list[SignalChange]:
        self._watchdog()
        return super().poll(clock, image)

    def _watchdog(self) -> None:
        """A network thread that stopped (it should not) is started again, at most every RESTART_AFTER_S."""
        if self._stop.is_set() or self._alive() or time.monotonic() - self._started_at < RESTART_AFTER_S:
            return
        self.restarts += 1
        log.error("%s: the network thread had stopped; starting it again (restart %d)", self.name, self.restarts)
        self._start_thread()

    # --- state ----------------------------------------------------------------------------------

    def wait_connected(self, timeout_s: float) -> bool:
        return self._connected.wait(timeout_s)

    def connected(self) -> bool:
        return self._connected.is_set() and self._alive()

    def down_reason(self) -> str:
        if not self._alive():
            return f"network thread stopped (restarted {self.restarts} times)"
        return "not connected" + (f": {self._problem}" if self._problem else "")

    # --- paho callbacks (network thread) ---------------------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, userdata: object, flags: object, reason: object, properties: object = None
    ) -> None:
        if getattr(reason, "is_failure", False):
            hint = " (check the user name and password)" if "authori" in str(reason).lower() else ""
            self._fail(f"broker {self.broker.url} refused the connection: {reason}{hint}")
            return
        client.subscribe(self.config.topic, qos=1)  # subscribe again after every reconnect
        log.info("%s: subscribed to %s on %s", self.name, self.config.topic, self.broker.url)

    def _on_subscribe(self, client: mqtt.Client, userdata: object, mid: int, reasons: list, properties: object) -> None:
        if any(getattr(r, "is_failure", False) for r in reasons):
            self._fail(f"broker refused the subscription to {self.config.topic}")
            return
        self._problem = ""
        self._connected.set()  # connected and subscribed: nothing published from now on is missed

    def _on_disconnect(
        self, client: mqtt.Client, userdata: object, flags: object, reason: object, properties: object = None
    ) -> None:
        self._connected.clear()
        log.warning("%s: disconnected from %s (%s); reconnecting", self.name, self.broker.url, reason)

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        try:
            self.inbox.submit(message.payload, time.time())  # never raises; bounded before parsing
        finally:
            client.ack(message.mid, message.qos)  # a message is never redelivered to stop the feed again

    def close(self) -> None:
        self._stop.set()
        client = self._client
        if client is not None:
            client.disconnect()
        if self._thread is not None:
            self._thread.join(5)


def _close_socket(client: mqtt.Client) -> None:
    sock = client.socket()
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.close()
