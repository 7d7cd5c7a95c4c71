"""NTCIP 1203 dynamic message sign over SNMP v2c (pysnmp).

Writes the warning into a changeable message slot (modifyReq, MULTI string, validateReq),
checks the slot came back ``valid``, activates it with ``dmsActivateMessage`` and reads back
``dmsActivateMsgError`` and ``shortErrorStatus``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from typing import Any, Literal

from pydantic import Field

from actuators import ntcip1203 as nt
from actuators.base import Command, DeviceContext, DeviceError, register
from actuators.board import Board, BoardConfig


class NtcipConfig(BoardConfig):
    type: Literal["ntcip"] = "ntcip"
    host: str = Field("127.0.0.1", description="Sign address")
    port: int = Field(161, ge=1, le=65535, description="SNMP UDP port")
    community: str = Field("public", min_length=1, description="SNMP v2c write community")
    message_number: int = Field(1, ge=1, le=65535, description="Changeable message slot used for the warning")
    priority: int = Field(255, ge=1, le=255, description="Activation and run-time priority")
    duration_min: int = Field(65535, ge=0, le=65535, description="Minutes shown; 65535 = until replaced")
    colour: Literal[tuple(nt.CLASSIC_COLOURS)] = Field("amber", description="MULTI classic colour")  # type: ignore[valid-type]
    flash: bool = Field(False, description="Flash the message (MULTI [flt5o5])")
    source_address: str = Field(
        "0.0.0.0", description="This box's IPv4 address, sent in the activation code as the requester"
    )
    owner: str = Field("crossguard", max_length=127, description="dmsMessageOwner written with the message")
    encoding: Literal[nt.MULTI_ENCODINGS] = Field(  # type: ignore[valid-type]
        "ascii", description="Character set of the MULTI text: ascii (the standard; other characters show as '?'),"
        " gb2312 (Chinese signs, GB/T 23828: Hanzi in GB 2312, for zh messages)",
    )  # fmt: skip


@register("ntcip", NtcipConfig)
class NtcipSign(Board):
    config: NtcipConfig

    def __init__(self, config: NtcipConfig, context: DeviceContext) -> None:
        super().__init__(config, context)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._engine: Any = None
        self._target: Any = None
        self._condition: str | None = None

    def open(self) -> None:
        try:
            from pysnmp.hlapi.v3arch.asyncio import SnmpEngine, UdpTransportTarget
        except ImportError:
            raise DeviceError("pysnmp is missing; install crossguard[boards]") from None
        cfg = self.config
        self.close()
        self._loop = asyncio.new_event_loop()
        self._engine = SnmpEngine()
        self._target = self._run(UdpTransportTarget.create((cfg.host, cfg.port), timeout=cfg.timeout_s, retries=0))
        # SNMP has no connection: reading the fault bits proves the sign answers, and warms
        # pysnmp up so the first warning does not pay for it.
        (short,) = self._get(nt.SHORT_ERROR_STATUS)
        self._note_faults(int(short))

    def show(self, lines: list[str], command: Command) -> str:
        if not lines:
            self._activate(nt.MemoryType.BLANK, 1, 0)  # the standard way to blank a sign
            return ""
        cfg = self.config
        multi = nt.build_multi(lines, cfg.colour, cfg.flash, cfg.encoding)
        slot = (nt.MemoryType.CHANGEABLE, cfg.message_number)
        self._set((nt.entry_oid(nt.Column.STATUS, *slot), self._int(nt.MessageStatus.MODIFY_REQ)))
        self._set(
            (nt.entry_oid(nt.Column.MULTI_STRING, *slot), self._octets(multi.encode(cfg.encoding))),
            (nt.entry_oid(nt.Column.OWNER, *slot), self._octets(cfg.owner.encode("ascii", "replace"))),
            (nt.entry_oid(nt.Column.RUN_TIME_PRIORITY, *slot), self._int(cfg.priority)),
        )
        self._set((nt.entry_oid(nt.Column.STATUS, *slot), self._int(nt.MessageStatus.VALIDATE_REQ)))
        status, crc = self._get(nt.entry_oid(nt.Column.STATUS, *slot), nt.entry_oid(nt.Column.CRC, *slot))
        if int(status) != nt.MessageStatus.VALID:
            state = _status_name(int(status))
            raise DeviceError(f"message slot {cfg.message_number} is {state} after validation of {multi!r}")
        self._activate(nt.MemoryType.CHANGEABLE, cfg.message_number, int(crc))
        return nt.render_multi(multi).text

    def _activate(self, memory: nt.MemoryType, number: int, crc: int) -> None:
        """Set dmsActivateMessage, then read back the activation error and the sign's fault bits."""
        cfg = self.config
        code = nt.ActivationCode(cfg.duration_min, cfg.priority, memory, number, crc,
                                 _source_address(cfg.source_address))  # fmt: skip
        self._set((nt.DMS_ACTIVATE_MESSAGE, self._octets(code.encode())), tolerate_error=True)
        error, short = self._get(nt.DMS_ACTIVATE_MSG_ERROR, nt.SHORT_ERROR_STATUS)
        if int(error) != nt.ActivateError.NONE:
            raise DeviceError(f"activation refused: dmsActivateMsgError={_error_name(int(error))}")
        self._note_faults(int(short))

    def _note_faults(self, short_error_status: int) -> None:
        described = nt.describe_short_error(short_error_status)
        with self._lock:
            self._condition = f"sign reports shortErrorStatus {short_error_status} ({described})" if described else None

    def condition(self) -> str | None:
        with self._lock:
            return self._condition

    def close(self) -> None:
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

    # ---- SNMP --------------------------------------------------------------------------------

    def _run(self, coro: Any) -> Any:
        assert self._loop is not None
        try:
            return self._loop.run_until_complete(asyncio.wait_for(coro, self.config.timeout_s * 2))
        except asyncio.TimeoutError:
            raise DeviceError(f"SNMP to {self.config.host}:{self.config.port} timed out") from None

    @staticmethod
    def _int(value: int) -> Any:
        from pysnmp.proto.rfc1902 import Integer32

        return Integer32(int(value))

    @staticmethod
    def _octets(value: bytes) -> Any:
        from pysnmp.proto.rfc1902 import OctetString

        return OctetString(value)

    def _set(self, *bindings: tuple[tuple[int, ...], Any], tolerate_error: bool = False) -> None:
        from pysnmp.hlapi.v3arch.asyncio import (
            CommunityData,
            ContextData,
            ObjectIdentity,
            ObjectType,
            set_cmd,
        )

        if self._engine is None:
            raise DeviceError("not connected")
        var_binds = [ObjectType(ObjectIdentity(oid), value) for oid, value in bindings]
        indication, status, index, _ = self._run(set_cmd(
            self._engine, CommunityData(self.config.community, mpModel=1), self._target, ContextData(),
            *var_binds, lookupMib=False,
        ))  # fmt: skip
        self._check("set", bindings, indication, status, index, tolerate_error)

    def _get(self, *oids: tuple[int, ...]) -> list[Any]:
        from pysnmp.hlapi.v3arch.asyncio import (
            CommunityData,
            ContextData,
            ObjectIdentity,
            ObjectType,
            get_cmd,
        )

        if self._engine is None:
            raise DeviceError("not connected")
        indication, status, index, var_binds = self._run(get_cmd(
            self._engine, CommunityData(self.config.community, mpModel=1), self._target, ContextData(),
            *[ObjectType(ObjectIdentity(oid)) for oid in oids], lookupMib=False,
        ))  # fmt: skip
        self._check("get", [(oid, None) for oid in oids], indication, status, index, False)
        values = [value for _, value in var_binds]
        for oid, value in zip(oids, values, strict=False):
            if value.__class__.__name__ in ("NoSuchObject", "NoSuchInstance", "EndOfMibView"):
                raise DeviceError(f"the sign has no object {_dotted(oid)}")
        return values

    def _check(self, op: str, bindings: Any, indication: Any, status: Any, index: Any, tolerate: bool) -> None:
        if indication:
            raise DeviceError(f"SNMP {op} to {self.config.host}:{self.config.port} failed: {indication}")
        if status and not tolerate:
            where = _dotted(bindings[int(index) - 1][0]) if index and int(index) <= len(bindings) else "?"
            raise DeviceError(f"SNMP {op} refused: {status.prettyPrint()} at {where}")


def _dotted(oid: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in oid)


def _status_name(value: int) -> str:
    try:
        return nt.MessageStatus(value).name.lower()
    except ValueError:
        return str(value)


def _error_name(value: int) -> str:
    try:
        return nt.ActivateError(value).name.lower()
    except ValueError:
        return str(value)


def _source_address(host: str) -> tuple[int, int, int, int]:
    """The activation code names its requester by IPv4 address; a host name gives 0.0.0.0."""
    try:
        return tuple(ipaddress.IPv4Address(host).packed)  # type: ignore[return-value]
    except ValueError:
        return (0, 0, 0, 0)
