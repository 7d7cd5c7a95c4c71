"""A blocking SNMP v2c manager session for drivers (pysnmp's asyncio API on a private event loop).

Drivers run on their own worker thread (``actuators.worker``), so each session owns one event
loop and runs every request to completion on it, bounded by the device's timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from actuators.base import DeviceError

Oid = tuple[int, ...]


class SnmpSession:
    """GET and SET against one agent; every failure is a ``DeviceError`` naming the agent and object."""

    def __init__(self, host: str, port: int, community: str, timeout_s: float, peer: str = "device") -> None:
        self.host, self.port, self.community, self.timeout_s, self.peer = host, port, community, timeout_s, peer
        self._loop: asyncio.AbstractEventLoop | None = None
        self._engine: Any = None
        self._target: Any = None

    def open(self) -> None:
        try:
            from pysnmp.hlapi.v3arch.asyncio import SnmpEngine, UdpTransportTarget
        except ImportError:
            raise DeviceError("pysnmp is missing; install crossguard[boards]") from None
        self.close()
        self._loop = asyncio.new_event_loop()
        self._engine = SnmpEngine()
        self._target = self._run(UdpTransportTarget.create((self.host, self.port), timeout=self.timeout_s, retries=0))

    def close(self) -> None:
        """Release the engine and the loop; never raises."""
        if self._engine is not None:
            with contextlib.suppress(Exception):
                self._engine.close_dispatcher()
        if self._loop is not None:
            pending = asyncio.all_tasks(self._loop)  # the dispatcher's timer task, cancelled cleanly
            for task in pending:
                task.cancel()
            if pending:  # gather() of nothing would look for a current loop this thread does not have
                self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self._loop.close()
        self._loop = self._engine = self._target = None

    @staticmethod
    def integer(value: int) -> Any:
        from pysnmp.proto.rfc1902 import Integer32

        return Integer32(int(value))

    @staticmethod
    def octets(value: bytes) -> Any:
        from pysnmp.proto.rfc1902 import OctetString

        return OctetString(value)

    def set(self, *bindings: tuple[Oid, Any], tolerate_error: bool = False) -> None:
        from pysnmp.hlapi.v3arch.asyncio import CommunityData, ContextData, ObjectIdentity, ObjectType, set_cmd

        if self._engine is None:
            raise DeviceError("not connected")
        var_binds = [ObjectType(ObjectIdentity(oid), value) for oid, value in bindings]
        indication, status, index, _ = self._run(set_cmd(
            self._engine, CommunityData(self.community, mpModel=1), self._target, ContextData(),
            *var_binds, lookupMib=False,
        ))  # fmt: skip
        self._check("set", bindings, indication, status, index, tolerate_error)

    def get(self, *oids: Oid) -> list[Any]:
        from pysnmp.hlapi.v3arch.asyncio import CommunityData, ContextData, ObjectIdentity, ObjectType, get_cmd

        if self._engine is None:
            raise DeviceError("not connected")
        indication, status, index, var_binds = self._run(get_cmd(
            self._engine, CommunityData(self.community, mpModel=1), self._target, ContextData(),
            *[ObjectType(ObjectIdentity(oid)) for oid in oids], lookupMib=False,
        ))  # fmt: skip
        self._check("get", [(oid, None) for oid in oids], indication, status, index, False)
        values = [value for _, value in var_binds]
        for oid, value in zip(oids, values, strict=False):
            if value.__class__.__name__ in ("NoSuchObject", "NoSuchInstance", "EndOfMibView"):
                raise DeviceError(f"the {self.peer} has no object {dotted(oid)}")
        return values

    def _run(self, coro: Any) -> Any:
        assert self._loop is not None
        try:
            return self._loop.run_until_complete(asyncio.wait_for(coro, self.timeout_s * 2))
        except asyncio.TimeoutError:
            raise DeviceError(f"SNMP to {self.host}:{self.port} timed out") from None

    def _check(self, op: str, bindings: Any, indication: Any, status: Any, index: Any, tolerate: bool) -> None:
        if indication:
            raise DeviceError(f"SNMP {op} to {self.host}:{self.port} failed: {indication}")
        if status and not tolerate:
            where = dotted(bindings[int(index) - 1][0]) if index and int(index) <= len(bindings) else "?"
            raise DeviceError(f"SNMP {op} refused: {status.prettyPrint()} at {where}")


def dotted(oid: Oid) -> str:
    return ".".join(str(part) for part in oid)
