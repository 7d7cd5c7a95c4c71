"""In-ground crosswalk lights that follow the pedestrian signal: Modbus (TCP or RTU) or DMX512 over sACN.

Each segment (a strip along the crosswalk, or the one at a curb's stop line) has four outputs at
consecutive addresses: red, green, amber and flash (a flasher relay, or a DMX strobe channel).
The look follows the signal hub's state for ``signal_group``:

    WALK → walk (green)    CLEARANCE → clearance (green flashing, or amber)    DONT_WALK → dont_walk (red)
    UNKNOWN (no source yet, stale, conflicting, unhealthy) → ``safe_state`` (red or off), never green

A violation or a pre-warning at a curb shows ``alert`` (red flashing) on that curb's segments
for ``alert_s``, and only while the signal says DON'T WALK. Every ``refresh_s`` the current
look is written again: that ends alerts, keeps a controller with a watchdog lit, and finds a
lost Modbus link (health), after which the worker reconnects and ``open`` writes the current
look at once.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal, Protocol

from pydantic import Field, model_validator

from actuators.base import Actuator, Command, DeviceConfig, DeviceContext, DeviceError, register
from edge.config.base import StrictModel
from edge.signal.types import SignalState


class LightState(str, Enum):
    DONT_WALK = "dont_walk"  # red
    WALK = "walk"  # green
    CLEARANCE = "clearance"  # green flashing or amber
    ALERT = "alert"  # red flashing
    OFF = "off"


@dataclass(frozen=True)
class Look:
    """What one segment's four outputs do."""

    red: bool = False
    green: bool = False
    amber: bool = False
    flash: bool = False


SIGNAL_LOOKS = {
    SignalState.WALK: LightState.WALK,
    SignalState.CLEARANCE: LightState.CLEARANCE,
    SignalState.DONT_WALK: LightState.DONT_WALK,
}


class LightSegment(StrictModel):
    name: str = Field(..., min_length=1, description="Segment name, e.g. 'stripe' or 'north-stop-line'")
    curb: str | None = Field(
        None, description="Curb name (crosswalks[].curbs[].name) this segment marks; alerts there light it. "
        "None: along the crosswalk, alerted from either curb",
    )  # fmt: skip
    address: int = Field(
        ..., ge=0, le=65532, description="First of four outputs (red, green, amber, flash): Modbus coil or "
        "register offset, or DMX channel (1..509)",
    )  # fmt: skip


class GroundLightsConfig(DeviceConfig):
    type: Literal["ground_lights"] = "ground_lights"
    protocol: Literal["modbus", "sacn"] = Field(..., description="modbus: LED/relay controller; sacn: DMX512 node")
    signal_group: str = Field(..., min_length=1, description="Signal group the lights follow")
    segments: list[LightSegment] = Field(..., min_length=1, description="Light segments and their addresses")
    safe_state: Literal["dont_walk", "off"] = Field(
        "dont_walk", description="Look while the signal is UNKNOWN (no source, stale, conflicting): red or off"
    )
    clearance: Literal["green_flash", "amber"] = Field("green_flash", description="Look during CLEARANCE")
    alert_s: float = Field(4.0, gt=0, le=60, description="Seconds a violation or pre-warning flashes red")
    refresh_s: float = Field(1.0, gt=0, le=60, description="Rewrite the current look this often (link check)")
    host: str = Field("127.0.0.1", description="Controller (Modbus TCP) or DMX node (sACN unicast) address")
    port: int = Field(502, ge=1, le=65535, description="Modbus TCP port (sACN always uses UDP 5568)")
    # Modbus
    framer: Literal["socket", "rtu"] = Field("socket", description="Modbus TCP, or RTU frames over TCP")
    serial_port: str | None = Field(None, description="Set: Modbus RTU on this serial line instead of TCP")
    baudrate: int = Field(9600, ge=1200, le=921600)
    unit: int = Field(1, ge=0, le=247, description="Modbus device id")
    table: Literal["coils", "registers"] = Field(
        "coils", description="coils: one coil per output; registers: holding registers, 0 or `level`"
    )
    level: int = Field(1000, ge=1, le=65535, description="Register value of a lit output (table: registers)")
    # sACN (E1.31)
    universe: int = Field(1, ge=1, le=63999)
    priority: int = Field(100, ge=0, le=200, description="E1.31 source priority")
    fps: int = Field(44, ge=1, le=200, description="sACN send rate for changes (and the 1 s keep-alive)")
    flash_value: int = Field(128, ge=1, le=255, description="DMX value of the strobe channel while flashing")

    @model_validator(mode="after")
    def _addresses(self) -> GroundLightsConfig:
        names = [s.name for s in self.segments]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"ground_lights '{self.name}': segments[].name repeated: {', '.join(dupes)}")
        used: dict[int, str] = {}
        for segment in self.segments:
            if self.protocol == "sacn" and not 1 <= segment.address <= 509:
                raise ValueError(
                    f"ground_lights '{self.name}': segment '{segment.name}' address {segment.address} is not a DMX "
                    "channel 1..509 (four channels from it)"
                )
            for offset in range(4):
                other = used.setdefault(segment.address + offset, segment.name)
                if other != segment.name:
                    raise ValueError(
                        f"ground_lights '{self.name}': segments '{other}' and '{segment.name}' overlap at address "
                        f"{segment.address + offset}"
                    )
        return self


def look_of(state: LightState, clearance: str) -> Look:
    if state is LightState.WALK:
        return Look(green=True)
    if state is LightState.CLEARANCE:
        return Look(green=True, flash=True) if clearance == "green_flash" else Look(amber=True)
    if state is LightState.DONT_WALK:
        return Look(red=True)
    if state is LightState.ALERT:
        return Look(red=True, flash=True)
    return Look()


class Link(Protocol):
    def open(self) -> None: ...
    def write(self, looks: list[tuple[LightSegment, Look]]) -> None: ...
    def close(self) -> None: ...


class ModbusLink:
    """pymodbus client; every write is acknowledged, so a dead controller raises at once."""

    def __init__(self, cfg: GroundLightsConfig) -> None:
        self.cfg = cfg
        self._client: Any = None

    def open(self) -> None:
        try:
            from pymodbus import FramerType
            from pymodbus.client import ModbusSerialClient, ModbusTcpClient
        except ImportError:
            raise DeviceError("pymodbus is missing; install crossguard[lights]") from None
        cfg = self.cfg
        if cfg.serial_port:
            self._client = ModbusSerialClient(cfg.serial_port, framer=FramerType.RTU, baudrate=cfg.baudrate,
                                              timeout=cfg.timeout_s, retries=0)  # fmt: skip
            where = cfg.serial_port
        else:
            framer = FramerType.RTU if cfg.framer == "rtu" else FramerType.SOCKET
            port = cfg.port
            self._client = ModbusTcpClient(cfg.host, port=port, framer=framer, timeout=cfg.timeout_s, retries=0)
            where = f"{cfg.host}:{port}"
        if not self._client.connect():
            raise DeviceError(f"cannot connect to the Modbus light controller at {where}")

    def write(self, looks: list[tuple[LightSegment, Look]]) -> None:
        from pymodbus.exceptions import ModbusException

        if self._client is None:
            raise DeviceError("Modbus link is not open")
        cfg = self.cfg
        for segment, look in looks:
            bits = [look.red, look.green, look.amber, look.flash]
            try:
                if cfg.table == "coils":
                    reply = self._client.write_coils(segment.address, bits, device_id=cfg.unit)
                else:
                    values = [cfg.level if b else 0 for b in bits]
                    reply = self._client.write_registers(segment.address, values, device_id=cfg.unit)
            except ModbusException as exc:
                raise DeviceError(f"Modbus write of segment '{segment.name}' failed: {exc}") from None
            if reply.isError():
                raise DeviceError(f"the controller refused segment '{segment.name}' at {segment.address}: {reply}")

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
        self._client = None


class SacnLink:
    """The ``sacn`` library's sender: it sends a changed universe at once (within 1/fps) and repeats
    it every second, so a DMX node keeps its look and falls to its own loss behaviour if the box stops.
    UDP is unacknowledged: a dead node is not seen here (only socket errors are)."""

    def __init__(self, cfg: GroundLightsConfig) -> None:
        self.cfg = cfg
        self._sender: Any = None

    def open(self) -> None:
        try:
            import sacn
        except ImportError:
            raise DeviceError("sacn is missing; install crossguard[lights]") from None
        cfg = self.cfg
        try:
            sender = sacn.sACNsender(bind_port=0, source_name=f"crossguard {cfg.name}"[:63],
                                     fps=cfg.fps, universeDiscovery=False)  # fmt: skip
            sender.start()
        except OSError as exc:
            raise DeviceError(f"cannot open the sACN socket: {exc}") from None
        sender.activate_output(cfg.universe)
        output = sender[cfg.universe]
        output.multicast = False
        output.destination = cfg.host
        output.priority = cfg.priority
        self._sender = sender

    def write(self, looks: list[tuple[LightSegment, Look]]) -> None:
        if self._sender is None:
            raise DeviceError("sACN sender is not open")
        output = self._sender[self.cfg.universe]
        data = list(output.dmx_data)
        for segment, look in looks:
            values = [255 if look.red else 0, 255 if look.green else 0, 255 if look.amber else 0,
                      self.cfg.flash_value if look.flash else 0]  # fmt: skip
            data[segment.address - 1 : segment.address + 3] = values
        output.dmx_data = tuple(data)
        # The library's thread sends a changed universe within 1/fps; wait for that, so "delivered"
        # means the packet has left (and a close right after, as in an operator test, loses nothing).
        deadline = time.monotonic() + min(self.cfg.timeout_s, 3.0 / self.cfg.fps + 0.2)
        while getattr(output, "_changed", False) and time.monotonic() < deadline:
            time.sleep(0.002)
        if getattr(output, "_changed", False):
            raise DeviceError(f"sACN universe {self.cfg.universe} was not sent in time (the sender thread is stalled)")

    def close(self) -> None:
        if self._sender is not None:
            with contextlib.suppress(Exception):
                self._sender.stop()
        self._sender = None


@register("ground_lights", GroundLightsConfig)
class GroundLights(Actuator):
    follows_signal = True
    refreshes = True
    config: GroundLightsConfig

    def __init__(self, config: GroundLightsConfig, context: DeviceContext) -> None:
        super().__init__(config, context)
        self._link: Link | None = None
        self.signal_state = SignalState.UNKNOWN  # until the hub reports: the safe state
        self._alert_until: dict[str, float] = {}  # segment → monotonic end of its alert
        self.shown: dict[str, LightState] = {}  # last look written per segment

    def make_link(self) -> Link:
        return ModbusLink(self.config) if self.config.protocol == "modbus" else SacnLink(self.config)

    def open(self) -> None:
        self.close()
        link = self.make_link()
        link.open()
        self._link = link
        self._apply()  # a controller that comes back shows the current look at once

    def state_of(self, segment: LightSegment, now: float) -> LightState:
        """The safety rule: green only for a WALK the hub reported; anything unknown is the safe state."""
        if self.signal_state is SignalState.DONT_WALK and self._alert_until.get(segment.name, 0.0) > now:
            return LightState.ALERT
        if self.signal_state in SIGNAL_LOOKS:
            return SIGNAL_LOOKS[self.signal_state]
        return LightState(self.config.safe_state)

    def signal(self, command: Command) -> None:
        if command.signal_group != self.config.signal_group:
            return
        self.signal_state = command.signal_state
        if command.signal_state is not SignalState.DONT_WALK:
            self._alert_until.clear()  # WALK (or a lost signal) ends every alert
        self._apply()

    def warn(self, command: Command) -> None:
        """A violation or pre-warning: the curb's segments (and those along the crosswalk) flash red."""
        until = time.monotonic() + self.config.alert_s
        for segment in self.config.segments:
            if segment.curb is None or not command.curb or segment.curb == command.curb:
                self._alert_until[segment.name] = until
        self._apply()

    prewarn = warn

    def test(self, command: Command) -> None:
        """Operator test: every segment flashes red for ``alert_s`` (never green outside WALK)."""
        until = time.monotonic() + self.config.alert_s
        for segment in self.config.segments:
            self._alert_until[segment.name] = until
        self._apply(force_alert=True)

    def clear(self, command: Command) -> None:
        self._apply()

    def revert_after_s(self) -> float | None:
        return self.config.refresh_s

    def _apply(self, force_alert: bool = False) -> None:
        if self._link is None:
            raise DeviceError("ground-light link is not open")
        now = time.monotonic()
        states = {}
        for segment in self.config.segments:
            alerting = force_alert and self._alert_until.get(segment.name, 0.0) > now
            states[segment.name] = LightState.ALERT if alerting else self.state_of(segment, now)
        self._link.write([(s, look_of(states[s.name], self.config.clearance)) for s in self.config.segments])
        self.shown = states

    def close(self) -> None:
        if self._link is not None:
            self._link.close()
        self._link = None
