"""A DMX node on a loopback address that takes sACN (ANSI E1.31) over UDP and decodes every packet by hand.

The decoder is written from the standard's packet layout, independent of the sending library,
so tests check the bytes on the wire: root layer (preamble, ACN packet identifier, vector),
framing layer (source name, priority, sequence, universe) and DMP layer (start code, slots).
"""

from __future__ import annotations

import random
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

SACN_PORT = 5568
ACN_ID = b"ASC-E1.17\x00\x00\x00"
VECTOR_ROOT_E131_DATA = 0x00000004
VECTOR_E131_DATA_PACKET = 0x00000002
VECTOR_DMP_SET_PROPERTY = 0x02


class E131Error(ValueError):
    pass


@dataclass(frozen=True)
class E131Packet:
    cid: bytes
    source_name: str
    priority: int
    sequence: int
    options: int
    universe: int
    start_code: int
    slots: bytes  # DMX slots 1..n: slots[0] is channel 1

    def channel(self, number: int) -> int:
        return self.slots[number - 1]


def decode_e131(data: bytes) -> E131Packet:
    """One E1.31 data packet; raises E131Error naming the first field that is wrong."""
    if len(data) < 126:
        raise E131Error(f"packet of {len(data)} bytes is shorter than an E1.31 data packet (126)")
    preamble, postamble = struct.unpack_from("!HH", data, 0)
    if (preamble, postamble) != (0x0010, 0x0000) or data[4:16] != ACN_ID:
        raise E131Error("not an ACN root layer (preamble or packet identifier)")
    flags_len, vector = struct.unpack_from("!HI", data, 16)
    if flags_len & 0xF000 != 0x7000 or (flags_len & 0x0FFF) != len(data) - 16:
        raise E131Error(f"root layer length {flags_len & 0x0FFF} does not match the packet ({len(data) - 16})")
    if vector != VECTOR_ROOT_E131_DATA:
        raise E131Error(f"root vector {vector:#x} is not E1.31 data")
    cid = data[22:38]
    flags_len, vector = struct.unpack_from("!HI", data, 38)
    if (flags_len & 0x0FFF) != len(data) - 38 or vector != VECTOR_E131_DATA_PACKET:
        raise E131Error("framing layer length or vector is wrong")
    source_name = data[44:108].split(b"\x00", 1)[0].decode("utf-8")
    priority, _sync, sequence, options, universe = struct.unpack_from("!BHBBH", data, 108)
    flags_len, dmp_vector, addr_type, first, increment, count = struct.unpack_from("!HBBHHH", data, 115)
    if (flags_len & 0x0FFF) != len(data) - 115 or dmp_vector != VECTOR_DMP_SET_PROPERTY or addr_type != 0xA1:
        raise E131Error("DMP layer length, vector or address type is wrong")
    if first != 0 or increment != 1 or count != len(data) - 125 or not 1 <= count <= 513:
        raise E131Error(f"DMP property count {count} does not match the packet")
    return E131Packet(cid, source_name, priority, sequence, options, universe, data[125], data[126:])


class SacnNodeEmulator:
    """Listens on ``host``:5568 (E1.31's fixed port) and keeps every decoded packet with its arrival time.

    ``host`` defaults to a random loopback address (127.x.y.z), so several nodes and test runs
    can listen on the standard port at once."""

    def __init__(self, host: str | None = None, port: int = SACN_PORT) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.host = host or f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
        self._sock.bind((self.host, port))
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self.packets: list[tuple[float, E131Packet]] = []  # (perf_counter at arrival, packet)
        self.errors: list[str] = []
        self._cond = threading.Condition()
        self._closed = False
        threading.Thread(target=self._run, name="sacn-node-emulator", daemon=True).start()

    def _run(self) -> None:
        while not self._closed:
            try:
                data = self._sock.recv(2048)
            except OSError:  # timeout (check closed) or the socket was closed
                continue
            now = time.perf_counter()
            try:
                packet = decode_e131(data)
            except E131Error as exc:
                with self._cond:
                    self.errors.append(str(exc))
                continue
            with self._cond:
                self.packets.append((now, packet))
                self._cond.notify_all()

    def latest(self, universe: int) -> E131Packet | None:
        with self._cond:
            found = [p for _, p in self.packets if p.universe == universe]
            return found[-1] if found else None

    def wait_for(
        self, universe: int, predicate: Callable[[E131Packet], bool], timeout_s: float = 5.0
    ) -> E131Packet | None:
        """The first packet for ``universe`` (from now on or already last) for which ``predicate`` holds."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                found = [p for _, p in self.packets if p.universe == universe]
                if found and predicate(found[-1]):
                    return found[-1]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)

    def close(self) -> None:
        self._closed = True
        self._sock.close()
