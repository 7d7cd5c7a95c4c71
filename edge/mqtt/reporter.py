"""The box's reporter: what the service calls to tell the traffic centre about events and health.

``report_*`` only commit to the durable outbox (one short SQLite transaction) and return; the
link thread publishes. ``availability`` is ``online`` on every (re)connect and ``offline`` both
as the Last Will and on a clean ``stop()``.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import paho.mqtt.client as mqtt

from edge.config.mqtt import MqttConfig
from edge.config.site import SiteConfig
from edge.events import CrossingEvent, EventType
from edge.mqtt.commands import CommandHandler, CommandRouter, CommandVerifier
from edge.mqtt.link import BrokerSettings, Link, TlsSettings, Will
from edge.mqtt.outbox import MessageKind, Outbox, OutboxError
from edge.mqtt.payloads import (
    EvidenceReport,
    Origin,
    StatusReport,
    command_state_payload,
    dumps,
    event_payload,
    evidence_payload,
    signal_payload,
    status_payload,
)
from edge.mqtt.sender import OutboxSender
from edge.mqtt.topics import Topics
from edge.signal.types import SignalChange

log = logging.getLogger(__name__)

MAX_PENDING_COMMANDS = 32  # commands are rare; a longer queue can only be a flood

ONLINE, OFFLINE = "online", "offline"


class Reporter:
    """Durable MQTT reporting for one box, each camera's events on its topic; off when ``mqtt.enabled`` is false.

    Constructing it opens the outbox and raises ``OutboxError`` naming the file when it cannot.
    """

    def __init__(self, config: MqttConfig, origin: Origin, outbox_path: Path) -> None:
        self.config = config
        self.origin = origin
        self.topics = Topics(config.topic_prefix, origin.site_id, origin.camera_id)
        self.enabled = config.enabled
        self.outbox = Outbox(outbox_path, config.outbox_max_rows, config.fsync) if self.enabled else None
        self.sender = (
            OutboxSender(
                self.outbox,
                inflight=config.inflight,
                backlog_rate=config.backlog_rate,
                late_after_s=config.late_after_s,
            )
            if self.outbox is not None
            else None
        )
        self.commands = CommandRouter(CommandVerifier.from_config(config, self.topics.base))
        self.link = Link(broker_settings(config, origin, self.topics), self.sender, name="reporter")
        self.link.subscribe(self.topics.command_filter, self._on_command_message)
        self._command_worker: ThreadPoolExecutor | None = None
        self._commands_pending = threading.BoundedSemaphore(MAX_PENDING_COMMANDS)
        self.commands_dropped = 0  # commands refused unread because the worker was this far behind

    @classmethod
    def from_config(cls, site: SiteConfig, data_dir: Path) -> Reporter:
        """The reporter for a site; the outbox lives in ``data_dir`` unless configured absolute."""
        origin = Origin(site.site.id, site.camera_configs()[0].id, site.site.device_id)  # the box: its first camera
        return cls(site.mqtt, origin, Path(data_dir) / site.mqtt.outbox_file)

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        if not self.enabled:
            log.info("mqtt reporting is disabled (mqtt.enabled: false)")
            return
        self._command_worker = ThreadPoolExecutor(1, thread_name_prefix="mqtt-command")
        self.link.start(on_stopping=self._publish_offline)

    def stop(self) -> None:
        """Flush the outbox (up to ``flush_timeout_s``), publish ``offline``, disconnect, close the outbox."""
        if not self.enabled:
            return
        if self._command_worker is not None:
            self._command_worker.shutdown(wait=True)
            self._command_worker = None
        self.link.stop(self.config.flush_timeout_s)
        if self.outbox is not None:
            left = len(self.outbox)
            if left:
                log.warning("mqtt: %d message(s) stay in the outbox for the next start", left)
            self.outbox.close()

    @property
    def connected(self) -> bool:
        return self.link.state.connected

    @property
    def last_error(self) -> str:
        return self.link.state.last_error

    @property
    def outbox_depth(self) -> int:
        return len(self.outbox) if self.outbox is not None else 0

    # --- what the service reports ----------------------------------------------------------
    def report_event(self, event: CrossingEvent, awaits_evidence: bool = False) -> bool:
        """Commit a crossing or violation; True once it is durably queued.

        ``awaits_evidence`` also notes, in the same transaction, that the centre is owed this
        violation's evidence outcome (``report_evidence``), so a crash cannot leave it unsaid.
        """
        kind = MessageKind.VIOLATION if event.type == EventType.VIOLATION else MessageKind.CROSSING
        payload = dumps(event_payload(event, (), self.origin))
        awaited = event.event_id if awaits_evidence else None
        # Each camera's events on its own topic; status, evidence and commands are the box's (its first camera's).
        topic = replace(self.topics, camera_id=event.camera_id).events if event.camera_id else self.topics.events
        return self._commit(kind, topic, payload, event_utc=event.decided_utc, awaits_evidence=awaited)

    def report_evidence(self, report: EvidenceReport) -> bool:
        """Commit a violation's evidence (or its loss), linked by event id; settles what it was owed."""
        payload = dumps(evidence_payload(report, self.origin))
        return self._commit(MessageKind.EVIDENCE, self.topics.evidence, payload, settles_evidence=report.event_id)

    def awaiting_evidence(self) -> list[str]:
        """Violations queued whose evidence outcome has not been queued (after a crash: never will be)."""
        return self.outbox.awaiting_evidence() if self.outbox is not None else []

    def report_status(self, status: StatusReport) -> bool:
        """Queue the latest status, replacing any status not yet sent (retained on the broker)."""
        payload = dumps(status_payload(status, self.origin, self.outbox_depth))
        return self._commit(
            MessageKind.STATUS, self.topics.status, payload, retain=True, coalesce_key="status"
        )

    def report_signal(self, change: SignalChange, utc: float) -> bool:
        payload = dumps(signal_payload(change, utc, self.origin))
        return self._commit(MessageKind.SIGNAL, self.topics.signal, payload, event_utc=utc)

    def on_command(self, name: str, handler: CommandHandler) -> None:
        """Accept command ``name`` (one of ``ALLOWED_COMMANDS``) on ``.../<name>/set``."""
        self.commands.register(name, handler)

    def _commit(self, kind: MessageKind, topic: str, payload: str, **options: object) -> bool:
        if self.outbox is None:
            return False
        try:
            self.outbox.add(kind, topic, payload, **options)  # type: ignore[arg-type]
        except OutboxError as exc:
            # Not accepted, so nothing is lost that was promised; the service keeps running.
            log.error("mqtt: %s message not queued: %s", kind.value, exc)
            return False
        return True

    # --- link callbacks --------------------------------------------------------------------
    def _on_command_message(self, topic: str, payload: bytes) -> None:
        name = self.topics.command_name(topic)
        worker = self._command_worker
        if name is None or worker is None:
            return
        if not self._commands_pending.acquire(blocking=False):
            # A flood of commands (forged ones, say) must not queue without bound on the box.
            self.commands_dropped += 1
            if self.commands_dropped in (1, 10, 100) or self.commands_dropped % 1000 == 0:
                log.warning(
                    "mqtt: %d command(s) dropped unread: %d already waiting for the command worker",
                    self.commands_dropped, MAX_PENDING_COMMANDS,
                )  # fmt: skip
            return
        worker.submit(self._run_command, name, bytes(payload))

    def _run_command(self, name: str, payload: bytes) -> None:
        try:
            self._answer_command(name, payload)
        finally:
            self._commands_pending.release()

    def _answer_command(self, name: str, payload: bytes) -> None:
        answer = self.commands.handle(name, payload)
        body = command_state_payload(answer.command, answer.result, time.time(), answer.request_id)
        if not self.link.publish(self.topics.command_state(name), dumps(body), retain=False):
            log.warning("mqtt: answer to command %s not sent (not connected)", name)

    def _publish_offline(self, client: mqtt.Client) -> mqtt.MQTTMessageInfo:
        return client.publish(self.topics.availability, OFFLINE, qos=1, retain=True)


def broker_settings(config: MqttConfig, origin: Origin, topics: Topics) -> BrokerSettings:
    return BrokerSettings(
        host=config.host,
        port=config.port,
        client_id=config.client_id or f"crossguard-{origin.device_id}",
        protocol=config.protocol,
        username=config.username,
        password=config.password.get_secret_value() if config.password else None,
        tls=TlsSettings.from_config(config.tls),
        keepalive_s=config.keepalive_s,
        reconnect_min_s=config.reconnect_min_s,
        reconnect_max_s=config.reconnect_max_s,
        max_inflight=config.inflight,
        will=Will(topics.availability, OFFLINE, retain=True),
        birth=Will(topics.availability, ONLINE, retain=True),
    )
