"""Alpha-protocol board driver against the loopback sign emulator: bytes, display, recovery, hangs."""

from __future__ import annotations

import time

from actuators import alpha_protocol as ap
from actuators.base import HealthState
from actuators.emulators.alpha_sign import AlphaSignEmulator

from .conftest import BASE_UTC, violation, wait_for

EN = "Red light - please step back to the curb"


def test_warning_is_written_as_one_exact_frame_and_displayed(make_hub, alpha_sign) -> None:
    hub = make_hub([{"name": "board", "type": "alpha", "port": alpha_sign.port, "mode": "rotate",
                     "colour": "amber", "languages": ["en", "zh"]}])  # fmt: skip
    hub.on_violation(violation())
    wait_for(lambda: alpha_sign.displayed, what="the sign to show the warning")
    # the Chinese line cannot be shown by an ASCII sign: each character becomes '?'
    text = f"{EN} / ????????"
    assert bytes(alpha_sign.received) == ap.write_text(text, mode="rotate", colour="amber")
    assert alpha_sign.displayed == ap.TextFile("A", text, "rotate", "middle", "amber")
    assert hub.virtual_board_texts() == {"board": text}
    assert hub.health()["board"].state is HealthState.OK


def test_serial_transport_through_pyserial_url(make_hub, alpha_sign) -> None:
    # A serial line behind a serial-device server: pyserial's socket:// transport reaches the sign.
    url = f"socket://127.0.0.1:{alpha_sign.port}"
    hub = make_hub([{"name": "board", "type": "alpha", "transport": "serial", "serial_port": url,
                     "mode": "scroll", "colour": "green", "verify": True}])  # fmt: skip
    hub.on_violation(violation())
    wait_for(lambda: hub.health()["board"].delivered == 1, what="delivery")
    assert alpha_sign.displayed == ap.TextFile("A", EN, "scroll", "middle", "green")
    assert [p.command for p in alpha_sign.packets] == ["A", "B"]  # the write, then the read-back


def test_operator_test_shows_test_text(make_hub, alpha_sign) -> None:
    hub = make_hub([{"name": "board", "type": "alpha", "port": alpha_sign.port, "test_text": "TEST 1 2"}])
    (result,) = hub.test("board")
    assert result.success and result.latency_s is not None
    wait_for(lambda: alpha_sign.displayed and alpha_sign.displayed.text == "TEST 1 2", what="the test text")


def test_reconnects_after_the_sign_is_power_cycled(make_hub) -> None:
    sign = AlphaSignEmulator()
    port = sign.port
    hub = make_hub([{"name": "board", "type": "alpha", "port": port, "verify": True}])
    hub.on_violation(violation(utc=BASE_UTC))
    wait_for(lambda: sign.displayed, what="first warning")
    sign.stop()

    hub.on_violation(violation(utc=BASE_UTC + 20))
    wait_for(lambda: hub.health()["board"].state is not HealthState.OK, what="the hub to notice the sign is gone")
    assert hub.health()["board"].last_error

    sign = AlphaSignEmulator(port)  # back on the same port
    try:
        hub.on_violation(violation(utc=BASE_UTC + 40))
        wait_for(lambda: sign.displayed, what="warning after the restart")
        wait_for(lambda: hub.health()["board"].state is HealthState.OK, what="health to recover")
        assert sign.connections == 1
        assert sign.displayed.text == EN
    finally:
        sign.stop()


def test_hung_sign_costs_the_caller_nothing(make_hub, http_board) -> None:
    hung = AlphaSignEmulator(hung=True)  # accepts the connection, never reads or answers
    try:
        hub = make_hub([
            {"name": "hung", "type": "alpha", "port": hung.port, "verify": True, "timeout_s": 1.0},
            {"name": "gateway", "type": "http_board", "url": http_board.url, "queue_size": 10},
        ])  # fmt: skip
        started = time.perf_counter()
        for i in range(5):
            hub.on_violation(violation(crosswalk=f"cw{i}"))
        spent = time.perf_counter() - started
        assert spent < 0.25, f"on_violation blocked for {spent:.3f} s"  # the hung sign's timeout is 1 s
        wait_for(lambda: len(http_board.messages) == 5, what="the other board to get every warning")
        wait_for(lambda: hub.health()["hung"].failed >= 1, timeout_s=5, what="the read-back to time out")
        health = hub.health()["hung"]
        assert health.state is HealthState.DOWN
        assert "did not answer" in health.last_error
        assert health.dropped >= 1  # queue of 4 behind a command stuck in its timeout
    finally:
        hung.stop()


def test_board_returns_to_idle_text_after_the_hold(make_hub, alpha_sign) -> None:
    hub = make_hub([{"name": "board", "type": "alpha", "port": alpha_sign.port, "hold_s": 0.2,
                     "idle_text": "WAIT FOR GREEN", "mode": "hold"}])  # fmt: skip
    hub.on_violation(violation())
    wait_for(lambda: alpha_sign.displayed and alpha_sign.displayed.text == EN, what="the warning")
    wait_for(lambda: alpha_sign.displayed.text == "WAIT FOR GREEN", what="the idle text after the hold")
    wait_for(lambda: hub.virtual_board_texts() == {"board": "WAIT FOR GREEN"}, what="the virtual board")
    assert hub.latency_summary("board").count == 1  # only the warning counts as decision-to-driver


ZH = "红灯，请退回路边"  # the default zh warning
ZH_GB2312 = bytes.fromhex("BAEC B5C6 A3AC C7EB CDCB BBD8 C2B7 B1DF")  # the same in GB 2312, read off its code chart


def test_chinese_firmware_gets_the_zh_warning_in_gb2312_bytes(make_hub) -> None:
    sign = AlphaSignEmulator(encoding="gb2312")
    try:
        hub = make_hub([{"name": "board", "type": "alpha", "port": sign.port, "mode": "scroll", "colour": "red",
                         "languages": ["zh", "en"], "encoding": "gb2312", "verify": True}])  # fmt: skip
        hub.on_violation(violation())
        wait_for(lambda: hub.health()["board"].delivered == 1, what="delivery")
        text = ZH_GB2312 + b" / " + EN.encode()
        data = bytes([ap.ESC, 0x20]) + b"m" + bytes([ap.SELECT_COLOUR]) + b"1" + text
        packet = bytes([ap.STX]) + b"AA" + data + bytes([ap.ETX])
        write = ap.SYNC + b"\x01Z00" + packet + f"{sum(packet) & 0xFFFF:04X}".encode() + b"\x04"
        assert bytes(sign.received).startswith(write)  # then the read-back request
        assert sign.displayed == ap.TextFile("A", f"{ZH} / {EN}", "scroll", "middle", "red")
        assert hub.virtual_board_texts() == {"board": f"{ZH} / {EN}"}
        assert hub.health()["board"].state is HealthState.OK  # the read-back matched
    finally:
        sign.stop()


def test_gb2312_keeps_the_protocol_bytes_clear() -> None:
    # Hanzi bytes are 0xA1-0xFE: never a control code; what GB 2312 lacks, and control characters, become '?'
    assert ap.encode_text("红灯 OK", "gb2312") == bytes.fromhex("BAEC B5C6") + b" OK"
    assert ap.encode_text("€\x03红", "gb2312") == b"??" + bytes.fromhex("BAEC")
    assert ap.encode_text("红灯", "ascii") == b"??"
