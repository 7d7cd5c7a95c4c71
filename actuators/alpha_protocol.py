"""Alpha Sign Communications Protocol (Adaptive Micro Systems): frames and a byte-wise parser.

A transmission is: five or more NULs (lets the sign detect the baud rate), SOH, a type code
('Z' = all sign types, '0' = a sign's reply), a two-character hex address ("00" = broadcast),
then packets of STX, a command code, the data field and ETX followed by a four-character
uppercase hex checksum (16-bit sum of every byte from STX through ETX), and finally EOT.
Write TEXT (command 'A') data is: file label, ESC, display position, mode code, then the
text, in which 0x1C plus one character selects the colour. The protocol's text is 7-bit ASCII;
signs with Chinese firmware take GB 2312 (each Hanzi two bytes 0xA1-0xFE, ASCII unchanged), which
never collides with the control codes. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

NUL, SOH, STX, ETX, EOT, ESC = 0x00, 0x01, 0x02, 0x03, 0x04, 0x1B
SELECT_COLOUR = 0x1C
SELECT_FONT = 0x1A
SYNC = bytes(5)

WRITE_TEXT = ord("A")
READ_TEXT = ord("B")
ALL_SIGNS = "Z"
REPLY = "0"

POSITIONS = {"middle": 0x20, "top": 0x22, "bottom": 0x26, "fill": 0x30, "left": 0x31, "right": 0x32}
MODES = {
    "rotate": "a", "hold": "b", "flash": "c", "roll_up": "e", "roll_down": "f", "roll_left": "g",
    "roll_right": "h", "wipe_up": "i", "wipe_down": "j", "wipe_left": "k", "wipe_right": "l",
    "scroll": "m", "automode": "o", "roll_in": "p", "roll_out": "q", "wipe_in": "r", "wipe_out": "s",
    "compressed_rotate": "t",
}  # fmt: skip
COLOURS = {
    "red": "1", "green": "2", "amber": "3", "dim_red": "4", "dim_green": "5", "brown": "6",
    "orange": "7", "yellow": "8", "rainbow1": "9", "rainbow2": "A", "colour_mix": "B", "autocolour": "C",
}  # fmt: skip
MODE_NAMES = {v: k for k, v in MODES.items()}
COLOUR_NAMES = {v: k for k, v in COLOURS.items()}


def checksum(packet: bytes) -> bytes:
    """Four uppercase hex digits of the 16-bit sum of STX..ETX inclusive."""
    return f"{sum(packet) & 0xFFFF:04X}".encode("ascii")


TEXT_ENCODINGS = ("ascii", "gb2312")


def encode_text(text: str, encoding: str = "ascii") -> bytes:
    """The text in the sign's character set (``ascii``, or ``gb2312`` for Chinese firmware);
    a character it lacks, or a control character, becomes '?'."""
    return bytes(b if 0x20 <= b != 0x7F else ord("?") for b in text.encode(encoding, errors="replace"))


def frame(type_code: str, address: str, packet: bytes) -> bytes:
    """One transmission carrying one packet (STX..ETX), with its checksum."""
    if len(address) != 2:
        raise ValueError(f"sign address must be two hex characters, got {address!r}")
    return SYNC + bytes([SOH]) + (type_code + address).encode("ascii") + packet + checksum(packet) + bytes([EOT])


def write_text(
    text: str, *, label: str = "A", mode: str = "rotate", position: str = "middle", colour: str = "red",
    type_code: str = ALL_SIGNS, address: str = "00", encoding: str = "ascii",
) -> bytes:  # fmt: skip
    """Write TEXT file ``label`` so the sign shows ``text`` in ``colour`` with display ``mode``."""
    data = (
        bytes([ESC, POSITIONS[position]]) + MODES[mode].encode("ascii")
        + bytes([SELECT_COLOUR]) + COLOURS[colour].encode("ascii") + encode_text(text, encoding)
    )  # fmt: skip
    packet = bytes([STX, WRITE_TEXT]) + label.encode("ascii") + data + bytes([ETX])
    return frame(type_code, address, packet)


def read_text(label: str = "A", *, type_code: str = ALL_SIGNS, address: str = "00") -> bytes:
    """Ask the sign to send back TEXT file ``label``."""
    return frame(type_code, address, bytes([STX, READ_TEXT]) + label.encode("ascii") + bytes([ETX]))


@dataclass(frozen=True)
class Packet:
    type_code: str
    address: str
    command: str
    data: bytes  # everything between the command code and ETX (the file label comes first)
    checksum_ok: bool | None  # None: the sender left the optional checksum out


@dataclass(frozen=True)
class TextFile:
    """A decoded TEXT file: what a sign would display."""

    label: str
    text: str
    mode: str
    position: str
    colour: str | None


def decode_text_file(data: bytes, encoding: str = "ascii") -> TextFile:
    """Decode Write TEXT / Read TEXT reply data (label, ESC position mode, text with colour codes)."""
    label, rest = chr(data[0]), data[1:]
    mode = position = ""
    colour, text, i = None, bytearray(), 0
    while i < len(rest):
        b = rest[i]
        if b == ESC and i + 2 < len(rest):
            position = next((k for k, v in POSITIONS.items() if v == rest[i + 1]), f"0x{rest[i + 1]:02X}")
            mode = MODE_NAMES.get(chr(rest[i + 2]), chr(rest[i + 2]))
            i += 4 if rest[i + 2] == ord("n") else 3  # special modes carry one more character
        elif b in (SELECT_COLOUR, SELECT_FONT) and i + 1 < len(rest):
            if b == SELECT_COLOUR:
                colour = COLOUR_NAMES.get(chr(rest[i + 1]), chr(rest[i + 1]))
            i += 2
        else:
            text.append(b)
            i += 1
    return TextFile(label, text.decode(encoding, errors="replace"), mode, position, colour)


class _State(Enum):
    IDLE = 0
    HEADER = 1
    EXPECT_STX = 2
    COMMAND = 3
    DATA = 4
    CHECKSUM = 5
    AFTER_PACKET = 6


@dataclass
class FrameParser:
    """Feed bytes in any chunking; complete packets come out in order. Garbage resyncs on SOH."""

    _state: _State = _State.IDLE
    _header: bytearray = field(default_factory=bytearray)
    _command: str = ""
    _data: bytearray = field(default_factory=bytearray)
    _sum: bytearray = field(default_factory=bytearray)
    errors: int = 0

    def feed(self, chunk: bytes) -> list[Packet]:
        out: list[Packet] = []
        for b in chunk:
            packet = self._step(b)
            if packet is not None:
                out.append(packet)
        return out

    def _step(self, b: int) -> Packet | None:
        if b == SOH:  # a new transmission always starts over
            self._state, self._header = _State.HEADER, bytearray()
            return None
        st = self._state
        if st is _State.IDLE:
            return None
        if st is _State.HEADER:
            self._header.append(b)
            if len(self._header) == 3:
                self._state = _State.EXPECT_STX
            return None
        if st in (_State.EXPECT_STX, _State.AFTER_PACKET):
            if b == STX:
                self._state, self._data, self._sum = _State.COMMAND, bytearray(), bytearray()
            elif b != EOT:
                self._resync()
            else:
                self._state = _State.IDLE
            return None
        if st is _State.COMMAND:
            self._command, self._state = chr(b), _State.DATA
            return None
        if st is _State.DATA:
            if b == ETX:
                self._state = _State.CHECKSUM
            elif b == EOT:  # packet without ETX/checksum
                self._state = _State.IDLE
                return self._packet(None)
            else:
                self._data.append(b)
            return None
        # CHECKSUM: four hex digits, or EOT/STX straight away when the sender left it out
        if b in (EOT, STX) and not self._sum:
            packet = self._packet(None)
            self._state = _State.IDLE if b == EOT else _State.COMMAND
            self._data, self._sum = bytearray(), bytearray()
            return packet
        self._sum.append(b)
        if len(self._sum) < 4:
            return None
        self._state = _State.AFTER_PACKET
        body = bytes([STX, ord(self._command)]) + bytes(self._data) + bytes([ETX])
        return self._packet(bytes(self._sum) == checksum(body))

    def _packet(self, checksum_ok: bool | None) -> Packet:
        header = self._header.decode("ascii", errors="replace")
        if checksum_ok is False:
            self.errors += 1
        return Packet(header[:1], header[1:], self._command, bytes(self._data), checksum_ok)

    def _resync(self) -> None:
        self.errors += 1
        self._state = _State.IDLE
