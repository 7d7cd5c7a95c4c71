"""NTCIP 1203 sign over SNMP: MULTI, CRC, activation code, and the driver against the pysnmp agent."""

from __future__ import annotations

import pytest

from actuators import ntcip1203 as nt
from actuators.base import HealthState
from actuators.emulators.snmp_dms import SnmpSignEmulator

from .conftest import BASE_UTC, violation, wait_for

EN = "Red light - please step back to the curb"
PREFIX = "1.3.6.1.4.1.1206.4.2.3"


def test_crc16_is_the_iso_3309_crc() -> None:
    assert nt.crc16(b"123456789") == 0x906E  # the published check value of CRC-16/X-25


@pytest.mark.parametrize(
    ("lines", "colour", "flash", "multi"),
    [
        (["STOP"], "amber", False, "[cf9][jl3]STOP"),
        (["RED LIGHT", "STEP BACK"], "red", False, "[cf1][jl3]RED LIGHT[nl]STEP BACK"),
        (["WAIT"], "yellow", True, "[cf2][jl3][flt5o5]WAIT[/fl]"),
        (["a[b]"], "white", False, "[cf7][jl3]a[[b]]"),
        (["红灯"], "amber", False, "[cf9][jl3]??"),
    ],
)
def test_build_multi(lines: list[str], colour: str, flash: bool, multi: str) -> None:
    assert nt.build_multi(lines, colour, flash) == multi


@pytest.mark.parametrize(
    ("multi", "expected"),
    [
        ("[cf1][jl3]RED[nl]BACK", nt.Rendered("RED\nBACK", "red", False)),
        ("[cf9][flt5o5]WAIT[/fl]", nt.Rendered("WAIT", "amber", True)),
        ("a[[b]]", nt.Rendered("a[b]", None, False)),
    ],
)
def test_render_multi(multi: str, expected: nt.Rendered) -> None:
    assert nt.render_multi(multi) == expected


@pytest.mark.parametrize("multi", ["[xyz]TEXT", "[cf1", "TEXT]"])
def test_render_multi_rejects_bad_markup(multi: str) -> None:
    with pytest.raises(nt.MultiSyntaxError):
        nt.render_multi(multi)


def test_activation_code_round_trip() -> None:
    code = nt.ActivationCode(65535, 255, nt.MemoryType.CHANGEABLE, 1, 0xABCD, (127, 0, 0, 1))
    assert code.encode() == b"\xff\xff\xff\x03\x00\x01\xab\xcd\x7f\x00\x00\x01"
    assert nt.ActivationCode.decode(code.encode()) == code


def test_warning_goes_through_the_message_table_life_cycle(make_hub, dms) -> None:
    hub = make_hub([{"name": "dms", "type": "ntcip", "port": dms.port, "message_number": 2, "colour": "red",
                     "source_address": "127.0.0.1"}])  # fmt: skip
    hub.on_violation(violation())
    wait_for(lambda: hub.health()["dms"].delivered == 1, what="delivery")
    multi = f"[cf1][jl3]{EN}"
    crc = nt.message_crc(multi)
    activation = nt.ActivationCode(65535, 255, nt.MemoryType.CHANGEABLE, 2, crc, (127, 0, 0, 1)).encode()
    assert dms.sets == [
        [(f"{PREFIX}.5.8.1.9.3.2", 6)],  # status := modifyReq
        [(f"{PREFIX}.5.8.1.3.3.2", multi.encode()), (f"{PREFIX}.5.8.1.4.3.2", b"crossguard"),
         (f"{PREFIX}.5.8.1.8.3.2", 255)],  # MULTI string, owner, run-time priority
        [(f"{PREFIX}.5.8.1.9.3.2", 7)],  # status := validateReq
        [(f"{PREFIX}.6.3.0", activation)],  # dmsActivateMessage
    ]  # fmt: skip
    assert dms.displayed == nt.Rendered(EN, "red", False)
    assert hub.virtual_board_texts() == {"dms": EN}
    assert hub.health()["dms"].state is HealthState.OK


def test_sign_fault_bits_make_the_device_degraded(make_hub, dms) -> None:
    dms.short_error_status = (1 << 5) | (1 << 13)  # pixel error, door open
    hub = make_hub([{"name": "dms", "type": "ntcip", "port": dms.port}])
    (result,) = hub.test("dms")
    assert result.success
    assert dms.displayed.text == "TEST"
    health = hub.health()["dms"]
    assert health.state is HealthState.DEGRADED
    assert health.last_error == "sign reports shortErrorStatus 8224 (pixel, door open)"


def test_wrong_community_times_out_and_reports_it(make_hub, dms) -> None:
    hub = make_hub([{"name": "dms", "type": "ntcip", "port": dms.port, "community": "wrong", "timeout_s": 0.3,
                     "command_ttl_s": 0.5}])  # fmt: skip
    (result,) = hub.test("dms", timeout_s=3)
    assert not result.success
    assert "timed out" in result.detail.lower() or "no snmp response" in result.detail.lower()
    assert dms.sets == []


def test_recovers_after_the_agent_restarts(make_hub) -> None:
    sign = SnmpSignEmulator()
    port = sign.port
    hub = make_hub([{"name": "dms", "type": "ntcip", "port": port, "timeout_s": 0.3}])
    hub.on_violation(violation(utc=BASE_UTC))
    wait_for(lambda: sign.displayed, what="first warning")
    sign.stop()
    hub.on_violation(violation(utc=BASE_UTC + 20))
    wait_for(lambda: hub.health()["dms"].failed >= 1, what="the failure to be noticed")
    sign = SnmpSignEmulator(port)
    try:
        hub.on_violation(violation(utc=BASE_UTC + 40))
        wait_for(lambda: sign.displayed, what="warning after restart")
        assert sign.displayed.text == EN
        wait_for(lambda: hub.health()["dms"].state is HealthState.OK, what="health to recover")
    finally:
        sign.stop()


def test_sign_is_blanked_after_the_hold(make_hub, dms) -> None:
    hub = make_hub([{"name": "dms", "type": "ntcip", "port": dms.port, "hold_s": 0.2}])
    hub.on_violation(violation())
    wait_for(lambda: dms.displayed and dms.displayed.text == EN, what="the warning")
    wait_for(lambda: dms.displayed.text == "", what="the blank message after the hold")
    blank = nt.ActivationCode(65535, 255, nt.MemoryType.BLANK, 1, 0, (0, 0, 0, 0)).encode()
    assert dms.sets[-1] == [(f"{PREFIX}.6.3.0", blank)]
    wait_for(lambda: hub.virtual_board_texts() == {"dms": ""}, what="the virtual board to follow")


ZH = "红灯，请退回路边"  # the default zh warning
ZH_GB2312 = bytes.fromhex("BAEC B5C6 A3AC C7EB CDCB BBD8 C2B7 B1DF")  # the same in GB 2312, read off its code chart


def test_chinese_sign_gets_the_zh_warning_as_gb2312_multi_octets(make_hub) -> None:
    dms = SnmpSignEmulator(encoding="gb2312")
    try:
        hub = make_hub([{"name": "dms", "type": "ntcip", "port": dms.port, "colour": "red", "encoding": "gb2312",
                         "languages": ["zh", "en"], "source_address": "127.0.0.1"}])  # fmt: skip
        hub.on_violation(violation())
        wait_for(lambda: hub.health()["dms"].delivered == 1, what="delivery")
        octets = b"[cf1][jl3]" + ZH_GB2312 + b"[nl]" + EN.encode()
        assert dms.sets[1][0] == (f"{PREFIX}.5.8.1.3.3.1", octets)  # the MULTI string, byte for byte
        crc = nt.crc16(octets + b"\x00\x00")  # over the octets as sent, beacon and pixel service
        activation = nt.ActivationCode(65535, 255, nt.MemoryType.CHANGEABLE, 1, ((crc & 0xFF) << 8) | (crc >> 8),
                                       (127, 0, 0, 1)).encode()  # fmt: skip
        assert dms.sets[-1] == [(f"{PREFIX}.6.3.0", activation)]
        assert dms.displayed == nt.Rendered(f"{ZH}\n{EN}", "red", False)
        assert hub.virtual_board_texts() == {"dms": f"{ZH}\n{EN}"}
    finally:
        dms.stop()


def test_multi_keeps_what_the_sign_can_show() -> None:
    assert nt.build_multi(["红灯[1]"], "amber", encoding="gb2312") == "[cf9][jl3]红灯[[1]]"
    assert nt.build_multi(["€红"], "amber", encoding="gb2312") == "[cf9][jl3]?红"  # no euro sign in GB 2312
    crc = nt.crc16(bytes.fromhex("BAEC") + b"\x00\x00")
    assert nt.message_crc("红", encoding="gb2312") == ((crc & 0xFF) << 8) | (crc >> 8)
