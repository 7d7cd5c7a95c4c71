"""Alpha Sign Communications Protocol frames, byte for byte, and the byte-wise parser."""

from __future__ import annotations

import pytest

from actuators import alpha_protocol as ap

# Write TEXT file A, middle line, rotate (the scrolling mode), red, "STOP": checksum is the
# 16-bit sum 0x02+'A'+'A'+ESC+0x20+'a'+0x1C+'1'+"STOP"+0x03 = 694 = 0x02B6.
STOP_FRAME = b"\x00\x00\x00\x00\x00\x01Z00\x02AA\x1b a\x1c1STOP\x0302B6\x04"


def test_write_text_frame_matches_the_specification_layout() -> None:
    assert ap.write_text("STOP") == STOP_FRAME


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"mode": "hold"}, b"\x1b b\x1c1"),
        ({"mode": "scroll", "colour": "amber"}, b"\x1b m\x1c3"),
        ({"position": "fill", "colour": "green"}, b"\x1b0a\x1c2"),
        ({"address": "1F", "type_code": "!"}, b"\x01!1F\x02"),
        ({"label": "B"}, b"\x02AB\x1b"),
    ],
)
def test_write_text_options_land_in_their_fields(kwargs: dict, fragment: bytes) -> None:
    assert fragment in ap.write_text("X", **kwargs)


def test_non_ascii_and_control_characters_become_question_marks() -> None:
    assert ap.encode_text("红灯 go\x03") == b"?? go?"


def test_read_text_frame() -> None:
    assert ap.read_text("A") == b"\x00" * 5 + b"\x01Z00\x02BA\x03" + ap.checksum(b"\x02BA\x03") + b"\x04"


def test_parser_byte_by_byte_and_in_one_chunk_agree() -> None:
    data = ap.write_text("STEP BACK", mode="rotate", colour="amber") + ap.read_text("A")
    parser = ap.FrameParser()
    one_by_one = [p for b in data for p in parser.feed(bytes([b]))]
    assert one_by_one == ap.FrameParser().feed(data)
    write, read = one_by_one
    assert (write.type_code, write.address, write.command, write.checksum_ok) == ("Z", "00", "A", True)
    assert ap.decode_text_file(write.data) == ap.TextFile("A", "STEP BACK", "rotate", "middle", "amber")
    assert (read.command, read.data) == ("B", b"A")


def test_parser_flags_a_bad_checksum_and_resyncs_after_garbage() -> None:
    damaged = STOP_FRAME.replace(b"02B6", b"02B7")
    parser = ap.FrameParser()
    packets = parser.feed(b"\xff\x02junk" + damaged + b"noise" + STOP_FRAME)
    assert [p.checksum_ok for p in packets] == [False, True]
    assert parser.errors == 1


def test_parser_accepts_a_packet_without_the_optional_checksum() -> None:
    (packet,) = ap.FrameParser().feed(b"\x00\x00\x00\x00\x00\x01Z00\x02AA\x1b a\x1c1HI\x04")
    assert packet.checksum_ok is None
    assert ap.decode_text_file(packet.data).text == "HI"
