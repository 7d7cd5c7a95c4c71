"""MQTT section: reporting to the traffic centre (events, status, availability, commands)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from edge.config.base import StrictModel


class MqttTlsConfig(StrictModel):
    ca_file: Path | None = Field(
        None,
        title="CA certificate",
        description="PEM file of the CA that signed the broker; None uses the system CAs",
    )
    cert_file: Path | None = Field(
        None, title="Client certificate", description="PEM client certificate (optional)"
    )
    key_file: Path | None = Field(None, title="Client key", description="PEM key of the client certificate")

    @model_validator(mode="after")
    def _cert_and_key_together(self) -> MqttTlsConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("mqtt.tls.cert_file and mqtt.tls.key_file must be given together")
        return self


class MqttConfig(StrictModel):
    enabled: bool = Field(False, description="Report to the traffic centre over MQTT")
    host: str = Field("127.0.0.1", min_length=1, description="Broker host name or address")
    port: int = Field(1883, ge=1, le=65535, description="Broker port (usually 1883, or 8883 with TLS)")
    protocol: Literal["5", "3.1.1"] = Field("5", description="MQTT protocol version")
    client_id: str | None = Field(
        None, max_length=128, description="MQTT client id; None uses 'crossguard-<device_id>'"
    )
    username: str | None = Field(None, description="Broker user name")
    password: SecretStr | None = Field(None, description="Broker password")
    tls: MqttTlsConfig | None = Field(None, description="Use TLS; None is plain TCP")
    command_key_env: str | None = Field(
        None,
        min_length=1,
        description="Environment variable holding the key the centre signs commands with (HMAC-SHA256,"
        " at least 32 characters); without a key every command is refused",
    )
    command_key_file: Path | None = Field(
        None, description="File holding that key instead (e.g. a systemd credential); readable by the service only"
    )
    topic_prefix: str = Field(
        "crossguard",
        min_length=1,
        pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$",
        description="Topics are <prefix>/<site>/<camera>/<kind>",
    )
    keepalive_s: int = Field(
        30, ge=5, le=3600, description="MQTT keep-alive; the Last Will fires after ~1.5x this"
    )
    reconnect_min_s: float = Field(1.0, gt=0, le=60, description="First reconnect delay")
    reconnect_max_s: float = Field(
        60.0, gt=0, le=3600, description="Reconnect delay cap (exponential back-off)"
    )
    outbox_file: Path = Field(
        Path("mqtt-outbox.sqlite"),
        description="Durable outbox (SQLite); relative to the service's data folder",
    )
    outbox_max_rows: int = Field(
        100_000,
        ge=100,
        le=10_000_000,
        description="Outbox size cap; past it the oldest signal changes, then crossings, are dropped"
        " — never violations",
    )
    fsync: bool = Field(True, description="Sync the outbox to disk on every commit (survives power loss)")
    inflight: int = Field(100, ge=1, le=65535, description="Messages published and awaiting PUBACK at once")
    backlog_rate: float = Field(
        200.0, gt=0, le=1_000_000, description="Messages/s for the backlog after a reconnect or restart"
    )
    late_after_s: float = Field(
        10.0,
        ge=0,
        le=86_400,
        description="An event first attempted this long after it was decided is sent with historical: true",
    )
    status_interval_s: float = Field(30.0, ge=1, le=3600, description="How often the service reports status")
    flush_timeout_s: float = Field(
        5.0, ge=0, le=300, description="On shutdown, wait this long for the outbox to drain"
    )

    @model_validator(mode="after")
    def _one_command_key(self) -> MqttConfig:
        if self.command_key_env is not None and self.command_key_file is not None:
            raise ValueError("mqtt.command_key_env and mqtt.command_key_file: give one, not both")
        return self

    @model_validator(mode="after")
    def _backoff_order(self) -> MqttConfig:
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError(
                f"mqtt.reconnect_max_s ({self.reconnect_max_s}) is below "
                f"mqtt.reconnect_min_s ({self.reconnect_min_s})"
            )
        return self
