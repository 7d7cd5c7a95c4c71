"""A Modbus light controller on 127.0.0.1: a real pymodbus server (TCP, or RTU frames over TCP).

It holds 256 coils and 256 holding registers from address 0 and keeps every frame it receives
(``frames``), so tests can read the table back and check the bytes on the wire. ``stop()`` and
``start()`` on the same port emulate a controller that loses power and comes back.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

SIZE = 256


class ModbusLightsEmulator:
    def __init__(self, port: int = 0, *, framer: str = "socket", unit: int = 1) -> None:
        from pymodbus.simulator import DataType, SimData, SimDevice

        self.framer, self.unit = framer, unit
        self.frames: list[tuple[float, bytes]] = []  # (perf_counter, request bytes) as received
        self._lock = threading.Lock()
        self._device = SimDevice(id=unit, simdata=(
            [SimData(0, count=SIZE, values=False, datatype=DataType.BITS)],
            [SimData(0, count=SIZE, values=False, datatype=DataType.BITS)],
            [SimData(0, count=SIZE, values=0, datatype=DataType.REGISTERS)],
            [SimData(0, count=SIZE, values=0, datatype=DataType.REGISTERS)],
        ))  # fmt: skip
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, name="modbus-lights-emulator", daemon=True).start()
        self._server: Any = None
        self.port = port or _free_port()
        self.start()

    def _trace(self, sending: bool, data: bytes) -> bytes:
        if not sending:
            with self._lock:
                self.frames.append((time.perf_counter(), bytes(data)))
        return data

    def start(self) -> None:
        from pymodbus import FramerType
        from pymodbus.server import ModbusTcpServer

        async def serve() -> None:
            framer = FramerType.RTU if self.framer == "rtu" else FramerType.SOCKET
            self._server = ModbusTcpServer(self._device, address=("127.0.0.1", self.port), framer=framer,
                                           trace_packet=self._trace)  # fmt: skip
            await self._server.serve_forever(background=True)

        asyncio.run_coroutine_threadsafe(serve(), self._loop).result(5)

    def stop(self) -> None:
        """Close the listener and every connection (the controller loses power)."""
        if self._server is not None:
            asyncio.run_coroutine_threadsafe(self._server.shutdown(), self._loop).result(5)
            self._server = None

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)

    def coils(self, address: int, count: int) -> list[bool]:
        return [bool(v) for v in self._read(1, address, count)]

    def registers(self, address: int, count: int) -> list[int]:
        return [int(v) for v in self._read(3, address, count)]

    def _read(self, func: int, address: int, count: int) -> list[Any]:
        if self._server is None:
            raise RuntimeError("the emulator is stopped")
        coro = self._server.async_getValues(self.unit, func, address, count)
        return list(asyncio.run_coroutine_threadsafe(coro, self._loop).result(5))


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
