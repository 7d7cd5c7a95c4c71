"""An SNMP v2c agent on 127.0.0.1 (UDP), built on pysnmp's protocol API: the part every emulated
NTCIP device shares. A device subclasses it with its objects (``_values``), what a GET answers
(``_scalar``) and what a SET may change (``_stage``, all bindings or none, then ``_after_set``).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api
from pysnmp.proto.rfc1902 import Integer32, OctetString

V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
Oid = tuple[int, ...]
Binds = list[tuple[Oid, Any]]


class SnmpAgent:
    def __init__(self, port: int = 0, *, community: str = "public", name: str = "snmp-agent") -> None:
        self.community = community
        self.sets: list[list[tuple[str, Any]]] = []  # every accepted SET, as (dotted oid, python value)
        self.datagrams: list[bytes] = []  # every request as received, for byte-level tests
        self._values: dict[Oid, Any] = {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port))
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)

    def start(self) -> None:
        """Answer requests from now on (subclasses call it once their objects exist)."""
        self._thread.start()

    def value(self, oid: Oid) -> Any:
        with self._lock:
            return self._scalar(oid)

    def _scalar(self, oid: Oid) -> Any:
        return self._values.get(oid)

    def _stage(self, staged: dict[Oid, Any], oid: Oid, value: Any) -> str | None:
        """Apply one binding to ``staged``; an SNMP error status name refuses the whole SET."""
        return "notWritable"

    def _after_set(self, binds: Binds) -> tuple[str, int] | None:
        """Act on an accepted SET (the device's effect); an error status and index to answer with."""
        return None

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
        self.datagrams.append(data)
        request, _ = decoder.decode(data, asn1Spec=V2C.Message())
        if str(V2C.apiMessage.get_community(request)) != self.community:
            return None  # wrong community: silence, as real agents do
        response = V2C.apiMessage.get_response(request)
        req_pdu, rsp_pdu = V2C.apiMessage.get_pdu(request), V2C.apiMessage.get_pdu(response)
        binds = [(tuple(oid), value) for oid, value in V2C.apiPDU.get_varbinds(req_pdu)]
        with self._lock:
            if req_pdu.isSameTypeWith(V2C.GetRequestPDU()):
                out, error = self._get(binds), None
            elif req_pdu.isSameTypeWith(V2C.SetRequestPDU()):
                error = self._set(binds)
                out = [(oid, value) for oid, value in binds]
            else:
                out, error = [(oid, V2C.null) for oid, _ in binds], ("genErr", 1)
        V2C.apiPDU.set_varbinds(rsp_pdu, out)
        if error is not None:
            V2C.apiPDU.set_error_status(rsp_pdu, error[0])
            V2C.apiPDU.set_error_index(rsp_pdu, error[1])
        return encoder.encode(response)

    def _get(self, binds: Binds) -> Binds:
        out = []
        for oid, _ in binds:
            value = self._scalar(oid)
            if value is None:
                out.append((oid, V2C.NoSuchInstance("")))
            elif isinstance(value, bytes):
                out.append((oid, OctetString(value)))
            else:
                out.append((oid, Integer32(value)))
        return out

    def _set(self, binds: Binds) -> tuple[str, int] | None:
        """Apply all bindings or none; returns (error status, 1-based index) on refusal."""
        staged = dict(self._values)
        for index, (oid, value) in enumerate(binds, start=1):
            error = self._stage(staged, oid, value)
            if error is not None:
                return error, index
        self._values = staged
        self.sets.append([(".".join(map(str, oid)), plain(value)) for oid, value in binds])
        return self._after_set(binds)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(2)
        self._sock.close()


def plain(value: Any) -> Any:
    """An SNMP value as Python: bytes for octet strings, int for integers."""
    if isinstance(value, OctetString) or value.__class__.__name__ == "OctetString":
        return bytes(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        return bytes(value)
