"""NTCIP 1203 dynamic message sign over SNMP v2c (pysnmp).

Writes the warning into a changeable message slot (modifyReq, MULTI string, validateReq),
checks the slot came back ``valid``, activates it with ``dmsActivateMessage`` and reads back
``dmsActivateMsgError`` and ``shortErrorStatus``.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Literal

from pydantic import Field

from actuators import ntcip1203 as nt
from actuators.base import Command, DeviceContext, DeviceError, register
from actuators.board import Board, BoardConfig
from actuators.snmp import SnmpSession


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
        self._snmp: SnmpSession | None = None
        self._condition: str | None = None

    def open(self) -> None:
        cfg = self.config
        self.close()
        self._snmp = SnmpSession(cfg.host, cfg.port, cfg.community, cfg.timeout_s, peer="sign")
        self._snmp.open()
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
        if self._snmp is not None:
            self._snmp.close()
        self._snmp = None

    # ---- SNMP --------------------------------------------------------------------------------

    _int, _octets = staticmethod(SnmpSession.integer), staticmethod(SnmpSession.octets)

    def _set(self, *bindings: tuple[tuple[int, ...], Any], tolerate_error: bool = False) -> None:
        if self._snmp is None:
            raise DeviceError("not connected")
        self._snmp.set(*bindings, tolerate_error=tolerate_error)

    def _get(self, *oids: tuple[int, ...]) -> list[Any]:
        if self._snmp is None:
            raise DeviceError("not connected")
        return self._snmp.get(*oids)


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
