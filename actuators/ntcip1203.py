"""NTCIP 1203 dynamic message sign objects, MULTI markup and the activation code. Pure: no I/O.

Object identifiers below ``dms`` = 1.3.6.1.4.1.1206.4.2.3 (NEMA devices, DMS):
``dmsMessageEntry`` is dms.5.8.1 with columns multiString(3), owner(4), CRC(5), beacon(6),
pixelService(7), runTimePriority(8), status(9), indexed by memory type and message number;
``dmsActivateMessage`` is dms.6.3.0, ``dmsActivateMsgError`` dms.6.17.0 and
``shortErrorStatus`` dms.9.7.1.0.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from enum import IntEnum

DMS = (1, 3, 6, 1, 4, 1, 1206, 4, 2, 3)
MESSAGE_ENTRY = (*DMS, 5, 8, 1)
DMS_ACTIVATE_MESSAGE = (*DMS, 6, 3, 0)
DMS_ACTIVATE_MSG_ERROR = (*DMS, 6, 17, 0)
SHORT_ERROR_STATUS = (*DMS, 9, 7, 1, 0)


class Column(IntEnum):
    MULTI_STRING = 3
    OWNER = 4
    CRC = 5
    BEACON = 6
    PIXEL_SERVICE = 7
    RUN_TIME_PRIORITY = 8
    STATUS = 9


class MemoryType(IntEnum):
    PERMANENT = 2
    CHANGEABLE = 3
    VOLATILE = 4
    CURRENT_BUFFER = 5
    SCHEDULE = 6
    BLANK = 7


class MessageStatus(IntEnum):
    NOT_USED = 1
    MODIFYING = 2
    VALIDATING = 3
    VALID = 4
    ERROR = 5
    MODIFY_REQ = 6
    VALIDATE_REQ = 7
    NOT_USED_REQ = 8


class ActivateError(IntEnum):
    OTHER = 1
    NONE = 2
    PRIORITY = 3
    MESSAGE_STATUS = 4
    MEMORY_TYPE = 5
    MESSAGE_NUMBER = 6
    MESSAGE_CRC = 7
    SYNTAX_MULTI = 8
    LOCAL_MODE = 9


# shortErrorStatus bits, lowest first (NTCIP 1203 v2)
SHORT_ERROR_BITS = (
    "reserved", "communications", "power", "attached device", "lamp", "pixel", "photocell", "message",
    "controller", "temperature", "climate control", "critical temperature", "drum rotor", "door open",
    "humidity",
)  # fmt: skip


def entry_oid(column: Column, memory: MemoryType, number: int) -> tuple[int, ...]:
    return (*MESSAGE_ENTRY, int(column), int(memory), number)


def describe_short_error(status: int) -> str:
    """Names of the set bits, e.g. 'pixel, door open'; '' when the sign reports no error."""
    return ", ".join(name for bit, name in enumerate(SHORT_ERROR_BITS) if status & (1 << bit))


def crc16(data: bytes) -> int:
    """CRC-16 of ISO/IEC 3309 (HDLC/X.25: reflected 0x1021, initial and final 0xFFFF)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc ^ 0xFFFF


def message_crc(multi: str, beacon: int = 0, pixel_service: int = 0, encoding: str = "ascii") -> int:
    """dmsMessageCRC over the MULTI string's octets (in the sign's character set), beacon and pixel-service octets.

    The 16-bit value is stored byte-swapped, as deployed central systems and signs agree on.
    """
    crc = crc16(multi.encode(encoding) + bytes([beacon, pixel_service]))
    return ((crc & 0xFF) << 8) | (crc >> 8)


@dataclass(frozen=True)
class ActivationCode:
    """The 12-octet dmsActivateMessage value (OER, NTCIP 1102)."""

    duration_min: int  # 65535: until replaced
    priority: int
    memory: MemoryType
    number: int
    crc: int
    source: tuple[int, int, int, int]

    def encode(self) -> bytes:
        return struct.pack(">HBBHH4B", self.duration_min, self.priority, int(self.memory), self.number,
                           self.crc, *self.source)  # fmt: skip

    @classmethod
    def decode(cls, data: bytes) -> ActivationCode:
        if len(data) != 12:
            raise ValueError(f"activation code must be 12 octets, got {len(data)}")
        duration, priority, memory, number, crc, *source = struct.unpack(">HBBHH4B", data)
        return cls(duration, priority, MemoryType(memory), number, crc, tuple(source))  # type: ignore[arg-type]


# Classic colour indices of the [cf] tag
CLASSIC_COLOURS = {"black": 0, "red": 1, "yellow": 2, "green": 3, "cyan": 4, "blue": 5, "magenta": 6,
                   "white": 7, "orange": 8, "amber": 9}  # fmt: skip
COLOUR_NAMES = {v: k for k, v in CLASSIC_COLOURS.items()}


MULTI_ENCODINGS = ("ascii", "gb2312")  # MULTI is ASCII; Chinese signs (GB/T 23828) take GB 2312 octets


def _shows(c: str, encoding: str) -> bool:
    if 0x20 <= ord(c) < 0x7F:
        return True
    if encoding == "ascii" or not c.isprintable():
        return False
    try:
        c.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def escape(text: str, encoding: str = "ascii") -> str:
    """Literal brackets are doubled in MULTI; characters the sign's character set lacks become '?'."""
    shown = "".join(c if _shows(c, encoding) else "?" for c in text)
    return shown.replace("[", "[[").replace("]", "]]")


def build_multi(lines: list[str], colour: str = "amber", flash: bool = False, encoding: str = "ascii") -> str:
    """Centred lines in a classic colour, optionally flashing (0.5 s on, 0.5 s off)."""
    body = "[nl]".join(escape(line, encoding) for line in lines)
    if flash:
        body = f"[flt5o5]{body}[/fl]"
    return f"[cf{CLASSIC_COLOURS[colour]}][jl3]{body}"


_TAG = re.compile(r"\[([^\[\]]*)\]")
_KNOWN_TAGS = re.compile(r"^(cf\d{1,3}(,\d{1,3},\d{1,3})?|jl[1-5]|jp[1-4]|nl\d?|np|flt\d+o\d+|fl|/fl|pt\d+o\d+)$")


class MultiSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class Rendered:
    text: str  # lines joined with "\n"
    colour: str | None
    flashing: bool


def render_multi(multi: str) -> Rendered:
    """What a sign shows for a MULTI string; raises MultiSyntaxError for a tag it does not support."""
    colour: str | None = None
    flashing = False
    out: list[str] = []
    i = 0
    while i < len(multi):
        if multi.startswith("[[", i) or multi.startswith("]]", i):
            out.append(multi[i])
            i += 2
            continue
        if multi[i] == "[":
            match = _TAG.match(multi, i)
            if match is None or not _KNOWN_TAGS.match(match.group(1)):
                raise MultiSyntaxError(f"unsupported or malformed tag at {i}: {multi[i : i + 12]!r}")
            tag = match.group(1)
            if tag.startswith("cf") and "," not in tag:
                colour = COLOUR_NAMES.get(int(tag[2:]), tag[2:])
            elif tag.startswith("nl"):
                out.append("\n")
            elif tag.startswith("flt"):
                flashing = True
            i = match.end()
            continue
        if multi[i] == "]":
            raise MultiSyntaxError(f"unmatched ']' at {i}")
        out.append(multi[i])
        i += 1
    return Rendered("".join(out), colour, flashing)
