"""An NTCIP 1203 sign's SNMP v2c agent on 127.0.0.1 (UDP), built on pysnmp's protocol API.

It holds the message table of changeable slots, enforces the status life cycle
(modifyReq -> modifying, validateReq -> valid/error with the MULTI checked), checks the
activation code against the slot's CRC, and keeps what it would display.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api
from pysnmp.proto.rfc1902 import Integer32, OctetString

from actuators import ntcip1203 as nt

_V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
_EDITABLE = {nt.Column.MULTI_STRING, nt.Column.OWNER, nt.Column.BEACON, nt.Column.PIXEL_SERVICE,
             nt.Column.RUN_TIME_PRIORITY}  # fmt: skip


class SnmpSignEmulator:
    def __init__(self, port: int = 0, *, community: str = "public", slots: int = 4, encoding: str = "ascii") -> None:
        self.encoding = encoding  # the sign's MULTI character set (ascii, or gb2312 for a Chinese sign)
        self.community = community
        self.short_error_status = 0  # tests set fault bits here
        self.sets: list[list[tuple[str, Any]]] = []  # every accepted SET, as (dotted oid, python value)
        self.displayed: nt.Rendered | None = None
        self.active_multi: str | None = None
        self.activate_error = nt.ActivateError.NONE
        self._values: dict[tuple[int, ...], Any] = {}
        for number in range(1, slots + 1):
            self._init_slot(number)
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port))
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, name="snmp-dms-emulator", daemon=True)
        self._thread.start()

    def _init_slot(self, number: int) -> None:
        slot = (nt.MemoryType.CHANGEABLE, number)
        self._values.update({
            nt.entry_oid(nt.Column.MULTI_STRING, *slot): b"", nt.entry_oid(nt.Column.OWNER, *slot): b"",
            nt.entry_oid(nt.Column.CRC, *slot): 0, nt.entry_oid(nt.Column.BEACON, *slot): 0,
            nt.entry_oid(nt.Column.PIXEL_SERVICE, *slot): 0,
            nt.entry_oid(nt.Column.RUN_TIME_PRIORITY, *slot): 1,
            nt.entry_oid(nt.Column.STATUS, *slot): int(nt.MessageStatus.NOT_USED),
        })  # fmt: skip

    def value(self, oid: tuple[int, ...]) -> Any:
        with self._lock:
            return self._scalar(oid)

    def _scalar(self, oid: tuple[int, ...]) -> Any:
        if oid == nt.DMS_ACTIVATE_MSG_ERROR:
            return int(self.activate_error)
        if oid == nt.SHORT_ERROR_STATUS:
            return self.short_error_status
        return self._values.get(oid)

    def _serve(self) -> None:
        self._sock.settimeout(0.05)  # wake regularly so stop() takes effect at once
        while not self._stopped.is_set():
            try:
                data, peer = self._sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                reply = self._answer(data)
            except Exception:
                continue
            if reply is not None:
                with contextlib.suppress(OSError):
                    self._sock.sendto(reply, peer)

    def _answer(self, data: bytes) -> bytes | None:
        request, _ = decoder.decode(data, asn1Spec=_V2C.Message())
        if str(_V2C.apiMessage.get_community(request)) != self.community:
            return None  # wrong community: silence, as real agents do
        response = _V2C.apiMessage.get_response(request)
        req_pdu, rsp_pdu = _V2C.apiMessage.get_pdu(request), _V2C.apiMessage.get_pdu(response)
        binds = [(tuple(oid), value) for oid, value in _V2C.apiPDU.get_varbinds(req_pdu)]
        with self._lock:
            if req_pdu.isSameTypeWith(_V2C.GetRequestPDU()):
                out, error = self._get(binds), None
            elif req_pdu.isSameTypeWith(_V2C.SetRequestPDU()):
                error = self._set(binds)
                out = [(oid, value) for oid, value in binds]
            else:
                out, error = [(oid, _V2C.null) for oid, _ in binds], ("genErr", 1)
        _V2C.apiPDU.set_varbinds(rsp_pdu, out)
        if error is not None:
            _V2C.apiPDU.set_error_status(rsp_pdu, error[0])
            _V2C.apiPDU.set_error_index(rsp_pdu, error[1])
        return encoder.encode(response)

    def _get(self, binds: list[tuple[tuple[int, ...], Any]]) -> list[tuple[tuple[int, ...], Any]]:
        out = []
        for oid, _ in binds:
            value = self._scalar(oid)
            if value is None:
                out.append((oid, _V2C.NoSuchInstance("")))
            elif isinstance(value, bytes):
                out.append((oid, OctetString(value)))
            else:
                out.append((oid, Integer32(value)))
        return out

    def _set(self, binds: list[tuple[tuple[int, ...], Any]]) -> tuple[str, int] | None:
        """Apply all bindings or none; returns (error status, 1-based index) on refusal."""
        staged = dict(self._values)
        for index, (oid, value) in enumerate(binds, start=1):
            error = self._stage(staged, oid, value)
            if error is not None:
                return error, index
        self._values = staged
        self.sets.append([(".".join(map(str, oid)), _plain(value)) for oid, value in binds])
        for oid, value in binds:
            if oid == nt.DMS_ACTIVATE_MESSAGE:
                return self._activate(bytes(value))
        return None

    def _stage(self, staged: dict[tuple[int, ...], Any], oid: tuple[int, ...], value: Any) -> str | None:
        if oid == nt.DMS_ACTIVATE_MESSAGE:
            return None if isinstance(_plain(value), bytes) else "wrongType"
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
        staged[oid] = _plain(value)
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

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(2)
        self._sock.close()


def _plain(value: Any) -> Any:
    if isinstance(value, OctetString) or value.__class__.__name__ == "OctetString":
        return bytes(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        return bytes(value)
