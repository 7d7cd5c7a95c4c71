"""One MQTT connection kept up by one thread: connect, serve, reconnect with back-off and jitter.

All paho calls for the connection happen on the link thread, so the outbox sender's in-flight
map needs no lock. Each connection attempt uses a fresh paho client: paho's in-memory queue
dies with the connection and the owner's ``Session`` re-sends from its own durable state.
"""

from __future__ import annotations

import logging
import queue
import random
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.logtext import printable

log = logging.getLogger(__name__)

MessageHandler = Callable[[str, bytes], None]
LOOP_TIMEOUT_S = 0.05  # how long one network-loop pass may wait; bounds the latency of new outbox rows
# Before dropping a connection for a redelivery, one UNSUBSCRIBE round trip (of a filter never
# subscribed) proves the broker has read every PUBACK sent before it: closing a socket with unread
# incoming data sends a TCP reset, and the broker then discards what it has not read yet, so the
# messages just acknowledged would come again.
DRAIN_FILTER = "$crossguard/drain"
DRAIN_TIMEOUT_S = 5.0


class Redeliver(Exception):
    """Raised by a message handler whose message may succeed later (its storage is down, not its payload).

    The message is left unacknowledged and the link reconnects after a growing delay, so the broker
    delivers it again (on a persistent session). Any other exception means the message itself is
    bad: it is logged and acknowledged, since redelivering it would fail the same way forever and
    hold a slot of the broker's in-flight window each time.
    """


@dataclass(frozen=True)
class TlsSettings:
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None

    @classmethod
    def from_config(cls, tls: Any) -> TlsSettings | None:
        """From a config's ``tls`` section (``MqttTlsConfig``: CA, certificate and key paths), or None without one."""
        if tls is None:
            return None
        return cls(*(str(path) if path else None for path in (tls.ca_file, tls.cert_file, tls.key_file)))


@dataclass(frozen=True)
class Will:
    """A fixed message: the Last Will, or the "birth" message published on every connect."""

    topic: str
    payload: str
    retain: bool = True


@dataclass(frozen=True)
class BrokerSettings:
    """Everything needed to open one connection, independent of where it came from (config or URL)."""

    host: str
    port: int
    client_id: str
    protocol: str = "5"  # "5" or "3.1.1"
    username: str | None = None
    password: str | None = None
    tls: TlsSettings | None = None
    keepalive_s: int = 30
    clean_start: bool = True
    session_expiry_s: int = 0  # MQTT 5: how long the broker keeps the session after a disconnect
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0
    max_inflight: int = 100
    connack_timeout_s: float = 15.0
    will: Will | None = None
    birth: Will | None = None

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"

    @classmethod
    def from_url(cls, url: str, client_id: str, **overrides: object) -> BrokerSettings:
        """``mqtt://[user:pass@]host[:1883]`` or ``mqtts://...[:8883]`` (TLS with the system CAs)."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parts.hostname:
            raise ValueError(f"broker URL '{masked_url(url)}' must look like mqtt://host:1883 or mqtts://host:8883")
        tls = parts.scheme in ("mqtts", "ssl")
        settings: dict[str, object] = {
            "host": parts.hostname,
            "port": parts.port or (8883 if tls else 1883),
            "client_id": client_id,
            "username": unquote(parts.username) if parts.username else None,
            "password": unquote(parts.password) if parts.password else None,
            "tls": TlsSettings() if tls else None,
        }
        settings.update(overrides)
        return cls(**settings)  # type: ignore[arg-type]


class Backoff:
    """Exponential back-off with "equal jitter": the n-th delay is uniform in [d/2, d], d = min(max, min·2ⁿ).

    Jitter spreads the reconnects of many boxes after a broker restart.
    """

    def __init__(self, min_s: float, max_s: float, rng: Callable[[], float] = random.random) -> None:
        self.min_s, self.max_s, self._rng, self._n = min_s, max_s, rng, 0

    def next(self) -> float:
        ceiling = min(self.max_s, self.min_s * (2 ** min(self._n, 30)))
        self._n += 1
        return ceiling / 2 + self._rng() * ceiling / 2

    def reset(self) -> None:
        self._n = 0


class Session(Protocol):
    """What a link's owner does on its connection; all called on the link thread."""

    def on_connected(self, client: mqtt.Client) -> None: ...

    def on_disconnected(self) -> None: ...

    def pump(self, client: mqtt.Client) -> None: ...

    def on_published(self, mid: int, ok: bool) -> None: ...

    def drained(self) -> bool: ...


class Publisher(Protocol):
    """The three things the rest of the box may do with a broker connection."""

    def publish(self, topic: str, payload: str, *, retain: bool = False) -> bool: ...

    def subscribe(self, topic_filter: str, handler: MessageHandler) -> None: ...

    def stop(self, timeout: float | None = None) -> None: ...


class NoSession:
    """A link that only subscribes and publishes directly (the collector)."""

    def on_connected(self, client: mqtt.Client) -> None:
        return None

    def on_disconnected(self) -> None:
        return None

    def pump(self, client: mqtt.Client) -> None:
        return None

    def on_published(self, mid: int, ok: bool) -> None:
        return None

    def drained(self) -> bool:
        return True


@dataclass
class LinkState:
    connected: bool = False
    listening: bool = False  # the broker acknowledged every subscription of this connection
    connects: int = 0
    last_error: str = ""
    errors: list[str] = field(default_factory=list)


class Link:
    """Publisher interface (publish, subscribe, stop) over one self-healing MQTT connection."""

    def __init__(self, settings: BrokerSettings, session: Session | None = None, name: str = "mqtt") -> None:
        self.settings = settings
        self.session: Session = session or NoSession()
        self.state = LinkState()
        self._name = name
        self._subscriptions: dict[str, MessageHandler] = {}
        self._unacknowledged: set[int] = set()  # message ids of subscriptions awaiting their SUBACK
        self._client: mqtt.Client | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._backoff = Backoff(settings.reconnect_min_s, settings.reconnect_max_s)
        self._on_stopping: Callable[[mqtt.Client], mqtt.MQTTMessageInfo | None] | None = None
        self._stop_timeout = 5.0
        self._direct: queue.SimpleQueue[tuple[str, str, bool]] = queue.SimpleQueue()
        self._redeliver: str = ""  # why the current connection must be dropped for a redelivery
        self._drain: tuple[int, float] | None = None  # (UNSUBSCRIBE mid, deadline) while draining for it
        self._drained = False
        self._retry = Backoff(settings.reconnect_min_s, settings.reconnect_max_s)  # grows while handlers fail
        self._failed_topics: set[str] = set()  # topics whose handler failure was already logged

    # --- publisher interface ---------------------------------------------------------------
    def publish(self, topic: str, payload: str, *, retain: bool = False) -> bool:
        """Best effort, QoS 1, from any thread: for command answers. Durable messages use the outbox.

        The message is handed to the link thread (paho writes to the socket from the publishing
        thread when no paho loop thread runs); False when there is no connection to send it on.
        """
        if not self.state.connected:
            return False
        self._direct.put((topic, payload, retain))
        return True

    def subscribe(self, topic_filter: str, handler: MessageHandler) -> None:
        """Subscribe now and on every reconnect. Call before ``start`` (or accept a subscribe race)."""
        self._subscriptions[topic_filter] = handler

    def stop(self, timeout: float | None = None) -> None:
        """Drain the session (up to ``timeout``), publish the stop message, disconnect cleanly."""
        if timeout is not None:
            self._stop_timeout = timeout
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self._stop_timeout + 10)
            self._thread = None

    # --- lifecycle -------------------------------------------------------------------------
    def start(self, on_stopping: Callable[[mqtt.Client], mqtt.MQTTMessageInfo | None] | None = None) -> None:
        self._on_stopping = on_stopping
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"{self._name}-link", daemon=True)
        self._thread.start()

    def wait_connected(self, timeout: float) -> bool:
        """Whether, within ``timeout``, the link is connected and the broker has acknowledged every
        subscription: a message published from then on reaches its handler."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.state.connected and self.state.listening:
                return True
            time.sleep(0.02)
        return self.state.connected and self.state.listening

    def _run(self) -> None:
        while not self._stop.is_set():
            client = self._open()
            if client is not None:
                self._serve(client)
            if not self._stop.is_set():
                retrying, self._redeliver, self._drain, self._drained = bool(self._redeliver), "", None, False
                self._stop.wait(self._retry.next() if retrying else self._backoff.next())

    def _open(self) -> mqtt.Client | None:
        try:
            client = make_client(self.settings)
        except (OSError, ValueError, ssl.SSLError) as exc:  # e.g. a CA or key file that is missing or not PEM
            self._error(f"TLS files for {self.settings.url} unusable: {exc}")
            return None
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.on_unsubscribe = self._on_unsubscribe
        try:
            client.connect(
                self.settings.host,
                self.settings.port,
                self.settings.keepalive_s,
                **connect_kwargs(self.settings),
            )
        except ssl.SSLCertVerificationError as exc:
            self._error(
                f"TLS to {self.settings.url} failed: broker certificate not trusted ({exc.verify_message}); "
                f"check the CA file ({self.settings.tls.ca_file if self.settings.tls else None})"
            )
            return None
        except ssl.SSLError as exc:
            self._error(f"TLS to {self.settings.url} failed: {exc.reason or exc}")
            return None
        except OSError as exc:
            self._error(f"cannot reach broker {self.settings.url}: {exc.strerror or exc}")
            return None
        self._client = client
        return client

    def _serve(self, client: mqtt.Client) -> None:
        connack_deadline = time.monotonic() + self.settings.connack_timeout_s
        while True:
            if self._stop.is_set():
                self._close(client)
                break
            rc = client.loop(timeout=LOOP_TIMEOUT_S)
            if rc != mqtt.MQTT_ERR_SUCCESS:
                if self.state.connected or not self.state.last_error:
                    self._error(f"connection to {self.settings.url} lost: {mqtt.error_string(rc)}")
                break
            if self._redeliver and self._drained_for_redelivery(client):
                # unacknowledged messages come back only on a new connection
                self._error(f"{self._redeliver}; reconnecting to {self.settings.url} for a redelivery")
                client.disconnect()
                break
            if self.state.connected:
                self._send_direct(client)
                self.session.pump(client)
            elif time.monotonic() > connack_deadline:  # TCP is up but the broker never answered CONNECT
                self._error(
                    f"broker {self.settings.url} sent no CONNACK within {self.settings.connack_timeout_s:g} s"
                )
                client.disconnect()
                break
        self._mark_down()

    def _drained_for_redelivery(self, client: mqtt.Client) -> bool:
        if self._drain is None:
            _rc, mid = client.unsubscribe(DRAIN_FILTER)
            self._drain = (mid, time.monotonic() + DRAIN_TIMEOUT_S)
        return self._drained or time.monotonic() > self._drain[1]

    def _send_direct(self, client: mqtt.Client) -> None:
        while True:
            try:
                topic, payload, retain = self._direct.get_nowait()
            except queue.Empty:
                return
            client.publish(topic, payload, qos=1, retain=retain)

    def _close(self, client: mqtt.Client) -> None:
        """Clean stop: let the session drain, publish the stop message, then DISCONNECT (no Last Will)."""
        deadline = time.monotonic() + self._stop_timeout
        while self.state.connected and not self.session.drained() and time.monotonic() < deadline:
            if client.loop(timeout=LOOP_TIMEOUT_S) != mqtt.MQTT_ERR_SUCCESS:
                return
            self.session.pump(client)
        if self.state.connected and self._on_stopping is not None:
            info = self._on_stopping(client)
            while info is not None and not info.is_published() and time.monotonic() < deadline + 2:
                if client.loop(timeout=LOOP_TIMEOUT_S) != mqtt.MQTT_ERR_SUCCESS:
                    return
        client.disconnect()
        client.loop(timeout=LOOP_TIMEOUT_S)

    def _mark_down(self) -> None:
        was_connected = self.state.connected
        self.state.connected = self.state.listening = False
        self._client = None
        if was_connected:
            self.session.on_disconnected()

    def _error(self, message: str) -> None:
        if message != self.state.last_error:
            log.error("%s: %s", self._name, message)
        self.state.last_error = message
        self.state.errors = [*self.state.errors[-19:], message]

    # --- paho callbacks (link thread) ------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        if getattr(reason, "is_failure", False):
            hint = " (check the user name and password)" if "authori" in str(reason).lower() else ""
            self._error(f"broker {self.settings.url} refused the connection: {reason}{hint}")
            return
        log.info("%s: connected to %s", self._name, self.settings.url)
        birth = self.settings.birth
        if birth is not None:
            client.publish(birth.topic, birth.payload, qos=1, retain=birth.retain)
        self._unacknowledged = {client.subscribe(topic_filter, qos=1)[1] for topic_filter in self._subscriptions}
        self.state.listening = not self._unacknowledged
        # The session first (it fixes what counts as backlog), then tell the world we are up.
        self.session.on_connected(client)
        self.state.connected = True
        self.state.connects += 1
        self.state.last_error = ""
        self._backoff.reset()

    def _on_disconnect(self, _c: mqtt.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        if self.state.connected and not self._stop.is_set() and not self._redeliver:
            self._error(f"disconnected from {self.settings.url}: {reason}")
        self._mark_down()

    def _on_publish(self, _c: mqtt.Client, _u: object, mid: int, reason: object, _p: object) -> None:
        ok = not getattr(reason, "is_failure", False)
        if not ok:
            log.warning("%s: broker refused message %d: %s", self._name, mid, reason)
        self.session.on_published(mid, ok)

    def _on_subscribe(self, _c: mqtt.Client, _u: object, mid: int, _r: object, _p: object) -> None:
        self._unacknowledged.discard(mid)
        self.state.listening = not self._unacknowledged

    def _on_unsubscribe(self, _c: mqtt.Client, _u: object, mid: int, _r: object, _p: object) -> None:
        if self._drain is not None and mid == self._drain[0]:
            self._drained = True

    def _on_message(self, client: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        if self._redeliver:  # this connection is being dropped: the message comes again on the next one
            return
        handler = next(
            (h for f, h in self._subscriptions.items() if mqtt.topic_matches_sub(unshared(f), message.topic)),
            None,
        )
        try:
            if handler is not None:
                handler(message.topic, message.payload)
        except Redeliver as exc:
            self._redeliver = f"message on {printable(message.topic)} not handled ({exc})"
            return  # not acknowledged: the next connection gets it again
        except Exception as exc:  # a bad message must never stop the messages behind it
            self._handler_failed(message.topic, exc)
        else:
            self._retry.reset()
        client.ack(message.mid, message.qos)

    def _handler_failed(self, topic: str, exc: Exception) -> None:
        """Logged once per topic (a flood of bad messages must not flood the log); the message is acked."""
        if topic in self._failed_topics or len(self._failed_topics) >= 1000:
            log.debug("%s: handling a message on %s failed again: %r", self._name, printable(topic), exc)
            return
        self._failed_topics.add(topic)
        log.error(
            "%s: handling a message on %s failed, message dropped (%s: %s); further failures on this topic"
            " are logged at debug level",
            self._name, printable(topic), type(exc).__name__, printable(exc), exc_info=exc,
        )  # fmt: skip


def masked_url(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``: for every log line, message and printout."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # e.g. a port that is not a number: show the scheme only
        return url.split("://", 1)[0] + "://***"
    if password is None:
        return url
    netloc = parts.netloc.rpartition("@")
    user = netloc[0].split(":", 1)[0]
    return parts._replace(netloc=f"{user}:***@{netloc[2]}").geturl()


def unshared(topic_filter: str) -> str:
    """``$share/<group>/<filter>`` → ``<filter>``: what incoming topics are matched against."""
    if topic_filter.startswith("$share/"):
        return topic_filter.split("/", 2)[2]
    return topic_filter


def make_client(settings: BrokerSettings) -> mqtt.Client:
    v5 = settings.protocol == "5"
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=settings.client_id,
        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
        clean_session=None if v5 else settings.clean_start,
        manual_ack=True,
    )
    if settings.username is not None:
        client.username_pw_set(settings.username, settings.password)
    if settings.tls is not None:
        client.tls_set(
            ca_certs=settings.tls.ca_file,
            certfile=settings.tls.cert_file,
            keyfile=settings.tls.key_file,
            cert_reqs=ssl.CERT_REQUIRED,
        )
    if settings.will is not None:
        client.will_set(settings.will.topic, settings.will.payload, qos=1, retain=settings.will.retain)
    client.max_inflight_messages_set(settings.max_inflight)
    return client


def connect_kwargs(settings: BrokerSettings) -> dict[str, object]:
    if settings.protocol != "5":
        return {}
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = settings.session_expiry_s
    return {"clean_start": settings.clean_start, "properties": props}
