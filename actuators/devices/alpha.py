"""LED board speaking the Alpha Sign Communications Protocol, over TCP or a serial line."""

from __future__ import annotations

import contextlib
import select
import socket
import time
from typing import Any, Literal

from pydantic import Field

from actuators import alpha_protocol as ap
from actuators.base import Command, DeviceContext, DeviceError, register
from actuators.board import Board, BoardConfig


class AlphaConfig(BoardConfig):
    type: Literal["alpha"] = "alpha"
    transport: Literal["tcp", "serial"] = Field("tcp", description="tcp (Ethernet sign or serial server) or serial")
    host: str = Field("127.0.0.1", description="Sign or serial-server address (tcp)")
    port: int = Field(3001, ge=1, le=65535, description="TCP port (tcp)")
    serial_port: str = Field(
        "/dev/ttyUSB0", description="Serial device or pyserial URL such as socket://host:port (serial)"
    )
    baudrate: int = Field(9600, description="Serial speed; Alpha signs default to 9600")
    bytesize: Literal[7, 8] = Field(7, description="Serial data bits (7E2 is the Alpha default)")
    parity: Literal["N", "E", "O"] = Field("E", description="Serial parity")
    stopbits: Literal[1, 2] = Field(2, description="Serial stop bits")
    address: str = Field("00", pattern=r"^[0-9A-Fa-f]{2}$", description="Sign address, two hex digits; 00 = all")
    type_code: str = Field("Z", min_length=1, max_length=1, description="Sign type code; Z = all types")
    label: str = Field("A", pattern=r"^[\x20-\x7e]$", description="TEXT file label written (A runs by default)")
    mode: Literal[tuple(ap.MODES)] = Field("rotate", description="Display mode, e.g. rotate (scrolls), hold, flash")  # type: ignore[valid-type]
    position: Literal[tuple(ap.POSITIONS)] = Field("middle", description="Line position on multi-line signs")  # type: ignore[valid-type]
    colour: Literal[tuple(ap.COLOURS)] = Field("red", description="Text colour")  # type: ignore[valid-type]
    encoding: Literal[ap.TEXT_ENCODINGS] = Field(  # type: ignore[valid-type]
        "ascii", description="Character set of the sign's firmware: ascii (the protocol; other characters show as"
        " '?'), gb2312 (Chinese firmware: Hanzi in GB 2312, for zh messages)",
    )  # fmt: skip
    verify: bool = Field(
        False,
        description="Read the TEXT file back after writing; detects a sign that takes bytes but is dead",
    )


class _Link:
    """Bytes to and from the sign, with a timeout on every operation."""

    def __init__(self, cfg: AlphaConfig) -> None:
        self.cfg = cfg
        self.sock: socket.socket | None = None
        self.serial: Any = None

    def open(self) -> None:
        cfg = self.cfg
        if cfg.transport == "tcp":
            try:
                self.sock = socket.create_connection((cfg.host, cfg.port), timeout=cfg.timeout_s)
            except OSError as exc:
                raise DeviceError(f"cannot connect to Alpha sign at {cfg.host}:{cfg.port}: {exc}") from None
            self.sock.settimeout(cfg.timeout_s)
            return
        try:
            import serial
        except ImportError:
            raise DeviceError("pyserial is missing; install crossguard[boards]") from None
        try:
            self.serial = serial.serial_for_url(
                cfg.serial_port, baudrate=cfg.baudrate, bytesize=cfg.bytesize, parity=cfg.parity,
                stopbits=cfg.stopbits, timeout=cfg.timeout_s, write_timeout=cfg.timeout_s,
            )  # fmt: skip
        except (serial.SerialException, ValueError) as exc:
            raise DeviceError(f"cannot open serial port {cfg.serial_port}: {exc}") from None

    def peer_closed(self) -> bool:
        """A TCP sign that went away shows as readable with no data; catch it before writing into the void."""
        if self.sock is None:
            return False
        readable, _, _ = select.select([self.sock], [], [], 0)
        if not readable:
            return False
        try:
            return self.sock.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def send(self, data: bytes) -> None:
        try:
            if self.sock is not None:
                self.sock.sendall(data)
            else:
                self.serial.write(data)
                self.serial.flush()
        except Exception as exc:
            raise DeviceError(f"writing to the sign failed: {exc}") from None

    def receive_packet(self, deadline: float) -> ap.Packet:
        parser = ap.FrameParser()
        while time.monotonic() < deadline:
            chunk = self._read(deadline)
            if chunk is None:
                continue  # serial read timed out in a slice of the wait
            if not chunk:
                raise DeviceError("the sign closed the connection while answering")
            packets = parser.feed(chunk)
            if packets:
                return packets[0]
        raise DeviceError(f"the sign did not answer within {self.cfg.timeout_s:.1f} s")

    def _read(self, deadline: float) -> bytes | None:
        left = max(0.001, deadline - time.monotonic())
        try:
            if self.sock is not None:
                self.sock.settimeout(left)
                return self.sock.recv(4096)
            self.serial.timeout = left
            return self.serial.read(self.serial.in_waiting or 1) or None
        except TimeoutError:
            raise DeviceError(f"the sign did not answer within {self.cfg.timeout_s:.1f} s") from None
        except Exception as exc:
            raise DeviceError(f"reading from the sign failed: {exc}") from None

    def close(self) -> None:
        for handle in (self.sock, self.serial):
            if handle is not None:
                with contextlib.suppress(Exception):
                    handle.close()
        self.sock = self.serial = None


@register("alpha", AlphaConfig)
class AlphaSign(Board):
    config: AlphaConfig

    def __init__(self, config: AlphaConfig, context: DeviceContext) -> None:
        super().__init__(config, context)
        self._link = _Link(config)

    def open(self) -> None:
        self._link.close()
        self._link.open()

    def show(self, lines: list[str], command: Command) -> str:
        cfg = self.config
        text = " / ".join(lines)
        if self._link.peer_closed():
            raise DeviceError(f"the sign at {cfg.host}:{cfg.port} closed the connection")
        self._link.send(ap.write_text(
            text, label=cfg.label, mode=cfg.mode, position=cfg.position, colour=cfg.colour,
            type_code=cfg.type_code, address=cfg.address.upper(), encoding=cfg.encoding,
        ))  # fmt: skip
        if cfg.verify:
            self._verify(text)
        return ap.encode_text(text, cfg.encoding).decode(cfg.encoding)

    def _verify(self, text: str) -> None:
        cfg = self.config
        self._link.send(ap.read_text(cfg.label, type_code=cfg.type_code, address=cfg.address.upper()))
        reply = self._link.receive_packet(time.monotonic() + cfg.timeout_s)
        if reply.checksum_ok is False:
            raise DeviceError("the sign's answer had a bad checksum")
        shown = ap.decode_text_file(reply.data, cfg.encoding)
        if shown.text != ap.encode_text(text, cfg.encoding).decode(cfg.encoding):
            raise DeviceError(f"the sign shows {shown.text!r} instead of {text!r}")

    def close(self) -> None:
        self._link.close()
