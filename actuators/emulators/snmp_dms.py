"""An NTCIP 1203 sign's SNMP v2c agent on 127.0.0.1 (UDP), built on pysnmp's protocol API.

It holds the message table of changeable slots, enforces the status life cycle
(modifyReq -> modifying, validateReq -> valid/error with the MULTI checked), checks the
activation code against the slot's CRC, and keeps what it would display.
"""

from __future__ import annotations

from typing import Any

from actuators import ntcip1203 as nt
from actuators.emulators.snmp_agent import Binds, SnmpAgent, plain

_EDITABLE = {nt.Column.MULTI_STRING, nt.Column.OWNER, nt.Column.BEACON, nt.Column.PIXEL_SERVICE,
             nt.Column.RUN_TIME_PRIORITY}  # fmt: skip


class SnmpSignEmulator(SnmpAgent):
    def __init__(self, port: int = 0, *, community: str = "public", slots: int = 4, encoding: str = "ascii") -> None:
        super().__init__(port, community=community, name="snmp-dms-emulator")
        self.encoding = encoding  # the sign's MULTI character set (ascii, or gb2312 for a Chinese sign)
        self.short_error_status = 0  # tests set fault bits here
        self.displayed: nt.Rendered | None = None
        self.active_multi: str | None = None
        self.activate_error = nt.ActivateError.NONE
        for number in range(1, slots + 1):
            self._init_slot(number)
        self.start()

    def _init_slot(self, number: int) -> None:
        slot = (nt.MemoryType.CHANGEABLE, number)
        self._values.update({
            nt.entry_oid(nt.Column.MULTI_STRING, *slot): b"", nt.entry_oid(nt.Column.OWNER, *slot): b"",
            nt.entry_oid(nt.Column.CRC, *slot): 0, nt.entry_oid(nt.Column.BEACON, *slot): 0,
            nt.entry_oid(nt.Column.PIXEL_SERVICE, *slot): 0,
            nt.entry_oid(nt.Column.RUN_TIME_PRIORITY, *slot): 1,
            nt.entry_oid(nt.Column.STATUS, *slot): int(nt.MessageStatus.NOT_USED),
        })  # fmt: skip

    def _scalar(self, oid: tuple[int, ...]) -> Any:
        if oid == nt.DMS_ACTIVATE_MSG_ERROR:
            return int(self.activate_error)
        if oid == nt.SHORT_ERROR_STATUS:
            return self.short_error_status
        return self._values.get(oid)

    def _stage(self, staged: dict[tuple[int, ...], Any], oid: tuple[int, ...], value: Any) -> str | None:
        if oid == nt.DMS_ACTIVATE_MESSAGE:
            return None if isinstance(plain(value), bytes) else "wrongType"
        if oid[: len(nt.MESSAGE_ENTRY)] != nt.MESSAGE_ENTRY or oid not in staged:
            return "notWritable"
        column, slot = nt.Column(oid[len(nt.MESSAGE_ENTRY)]), oid[len(nt.MESSAGE_ENTRY) + 1 :]
        status_oid = nt.entry_oid(nt.Column.STATUS, *slot)  # type: ignore[arg-type]
        status = staged[status_oid]
        if column is nt.Column.STATUS:
            return self._status_request(staged, slot, int(value))
        if column not in _EDITABLE:
            return "notWritable"
        if status != nt.MessageStatus.MODIFYING:
            return "genErr"  # the slot must be in "modifying" to be edited
        staged[oid] = plain(value)
        return None

    def _status_request(self, staged: dict[tuple[int, ...], Any], slot: tuple[int, ...], request: int) -> str | None:
        status_oid = nt.entry_oid(nt.Column.STATUS, *slot)  # type: ignore[arg-type]
        multi_oid = nt.entry_oid(nt.Column.MULTI_STRING, *slot)  # type: ignore[arg-type]
        if request == nt.MessageStatus.MODIFY_REQ:
            staged[status_oid] = int(nt.MessageStatus.MODIFYING)
        elif request == nt.MessageStatus.VALIDATE_REQ:
            if staged[status_oid] != nt.MessageStatus.MODIFYING:
                return "genErr"
            multi = staged[multi_oid].decode(self.encoding, errors="replace")
            try:
                nt.render_multi(multi)
            except nt.MultiSyntaxError:
                staged[status_oid] = int(nt.MessageStatus.ERROR)
                return None
            staged[status_oid] = int(nt.MessageStatus.VALID)
            beacon = staged[nt.entry_oid(nt.Column.BEACON, *slot)]  # type: ignore[arg-type]
            pixel = staged[nt.entry_oid(nt.Column.PIXEL_SERVICE, *slot)]  # type: ignore[arg-type]
            staged[nt.entry_oid(nt.Column.CRC, *slot)] = nt.message_crc(multi, beacon, pixel, self.encoding)  # type: ignore[arg-type]
        elif request == nt.MessageStatus.NOT_USED_REQ:
            staged[status_oid] = int(nt.MessageStatus.NOT_USED)
            staged[multi_oid] = b""
        else:
            return "wrongValue"
        return None

    def _after_set(self, binds: Binds) -> tuple[str, int] | None:
        for oid, value in binds:
            if oid == nt.DMS_ACTIVATE_MESSAGE:
                return self._activate(bytes(value))
        return None

    def _activate(self, raw: bytes) -> tuple[str, int] | None:
        try:
            code = nt.ActivationCode.decode(raw)
        except ValueError:
            self.activate_error = nt.ActivateError.OTHER
            return "genErr", 1
        if code.memory is nt.MemoryType.BLANK:
            self.activate_error = nt.ActivateError.NONE
            self.active_multi, self.displayed = "", nt.Rendered("", None, False)
            return None
        slot = (code.memory, code.number)
        status = self._values.get(nt.entry_oid(nt.Column.STATUS, *slot))
        if status is None:
            self.activate_error = nt.ActivateError.MESSAGE_NUMBER
        elif status != nt.MessageStatus.VALID:
            self.activate_error = nt.ActivateError.MESSAGE_STATUS
        elif code.crc != self._values[nt.entry_oid(nt.Column.CRC, *slot)]:
            self.activate_error = nt.ActivateError.MESSAGE_CRC
        else:
            self.activate_error = nt.ActivateError.NONE
            self.active_multi = self._values[nt.entry_oid(nt.Column.MULTI_STRING, *slot)].decode(self.encoding)
            self.displayed = nt.render_multi(self.active_multi)
            return None
        return "genErr", 1
