"""Ground lights against a real pymodbus server and an E1.31 listener that decodes every packet by hand."""

from __future__ import annotations

import struct
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from actuators.emulators.modbus_lights import ModbusLightsEmulator
from actuators.emulators.sacn_node import E131Packet, SacnNodeEmulator, decode_e131
from actuators.hub import ActuatorHub
from edge.config.actuators import ActuatorsConfig
from edge.events import EventType
from edge.signal.types import SignalState
from tests.actuators.conftest import BASE_UTC, violation, wait_for

pytest.importorskip("pymodbus")
pytest.importorskip("sacn")

RED, GREEN = [True, False, False, False], [False, True, False, False]
RED_FLASH, GREEN_FLASH = [True, False, False, True], [False, True, False, True]
SEGMENTS = [
    {"name": "stripe", "address": 0},
    {"name": "north-line", "curb": "north", "address": 4},
    {"name": "south-line", "curb": "south", "address": 8},
]


@pytest.fixture
def modbus() -> Iterator[ModbusLightsEmulator]:
    emulator = ModbusLightsEmulator()
    yield emulator
    emulator.close()


@pytest.fixture
def node() -> Iterator[SacnNodeEmulator]:
    emulator = SacnNodeEmulator()
    yield emulator
    emulator.close()


def modbus_lights(port: int, **extra: object) -> dict[str, object]:
    return {"name": "lights", "type": "ground_lights", "protocol": "modbus", "port": port, "signal_group": "P1",
            "segments": SEGMENTS, **extra}  # fmt: skip


def looks(emulator: ModbusLightsEmulator) -> list[list[bool]]:
    bits = emulator.coils(0, 12)
    return [bits[0:4], bits[4:8], bits[8:12]]


def test_modbus_coils_follow_the_signal_and_unknown_is_never_green(make_hub, modbus) -> None:
    hub: ActuatorHub = make_hub([modbus_lights(modbus.port)])
    wait_for(lambda: looks(modbus) == [RED] * 3, what="safe state (red) before any signal")
    hub.on_signal("P1", SignalState.WALK, BASE_UTC)
    wait_for(lambda: looks(modbus) == [GREEN] * 3, what="green on WALK")
    hub.on_signal("P2", SignalState.DONT_WALK, BASE_UTC)  # another group: ignored
    hub.on_signal("P1", SignalState.CLEARANCE, BASE_UTC + 1)
    wait_for(lambda: looks(modbus) == [GREEN_FLASH] * 3, what="green flashing on CLEARANCE")
    hub.on_signal("P1", SignalState.UNKNOWN, BASE_UTC + 2)
    wait_for(lambda: looks(modbus) == [RED] * 3, what="safe state on UNKNOWN")
    # byte level: the last request is Write Multiple Coils (0x0F) of four coils for the south line, red only
    frame = modbus.frames[-1][1]
    _transaction, protocol, length, unit, function, address, count, nbytes, value = struct.unpack(">HHHBBHHBB", frame)
    assert (protocol, length, unit, function, address, count, nbytes, value) == (0, 8, 1, 0x0F, 8, 4, 1, 0b0001)


def test_safe_state_off_and_amber_clearance_in_registers(make_hub, modbus) -> None:
    hub = make_hub([modbus_lights(modbus.port, table="registers", level=1000, safe_state="off", clearance="amber")])
    hub.on_signal("P1", SignalState.CLEARANCE, BASE_UTC)
    wait_for(lambda: modbus.registers(0, 4) == [0, 0, 1000, 0], what="amber register on CLEARANCE")
    hub.on_signal("P1", SignalState.UNKNOWN, BASE_UTC + 1)
    wait_for(lambda: modbus.registers(0, 12) == [0] * 12, what="all off on UNKNOWN")


def test_alert_at_one_curb_only_on_dont_walk_and_ends_on_walk(make_hub, modbus) -> None:
    hub = make_hub([modbus_lights(modbus.port, alert_s=30)])
    hub.on_signal("P1", SignalState.DONT_WALK, BASE_UTC)
    wait_for(lambda: looks(modbus) == [RED] * 3, what="red")
    hub.on_violation(violation())  # from the north curb
    wait_for(lambda: looks(modbus) == [RED_FLASH, RED_FLASH, RED], what="alert on the stripe and the north line")
    hub.on_signal("P1", SignalState.WALK, BASE_UTC + 3)
    wait_for(lambda: looks(modbus) == [GREEN] * 3, what="WALK ends the alert")
    hub.on_violation(violation(utc=BASE_UTC + 4))  # not DON'T WALK: no red flashing over green
    hub.on_signal("P1", SignalState.WALK, BASE_UTC + 4)
    wait_for(lambda: hub.health()["lights"].delivered >= 5, what="delivered")
    assert looks(modbus) == [GREEN] * 3


def test_link_loss_is_in_health_and_reconnect_sends_the_current_state(make_hub, modbus) -> None:
    hub = make_hub([modbus_lights(modbus.port, refresh_s=0.1)])
    hub.on_signal("P1", SignalState.WALK, BASE_UTC)
    wait_for(lambda: looks(modbus) == [GREEN] * 3, what="green")
    modbus.stop()
    wait_for(lambda: hub.health()["lights"].state.value in ("degraded", "down"), what="link loss in health")
    assert "lights" in hub.health()["lights"].name and hub.health()["lights"].last_error
    hub.on_signal("P1", SignalState.DONT_WALK, BASE_UTC + 5)  # changes while the controller is away
    modbus.start()  # comes back blank, as after a power cut
    wait_for(lambda: looks(modbus) == [RED] * 3, what="current state written at once on reconnect")
    wait_for(lambda: hub.health()["lights"].state.value == "ok", what="healthy again")


def test_rtu_frames_over_tcp(make_hub) -> None:
    emulator = ModbusLightsEmulator(framer="rtu")
    try:
        hub = make_hub([modbus_lights(emulator.port, framer="rtu")])
        hub.on_signal("P1", SignalState.WALK, BASE_UTC)
        wait_for(lambda: looks(emulator) == [GREEN] * 3, what="green over RTU framing")
        frame = emulator.frames[-1][1]
        assert frame[:2] == bytes([1, 0x0F])  # unit, Write Multiple Coils; no MBAP header
        assert len(frame) == 10  # unit, fc, addr(2), count(2), nbytes, value, CRC(2)
    finally:
        emulator.close()


def sacn_lights(host: str, **extra: object) -> dict[str, object]:
    return {"name": "dmx", "type": "ground_lights", "protocol": "sacn", "host": host, "universe": 7,
            "signal_group": "P1", "segments": [{"name": "stripe", "address": 1},
            {"name": "north-line", "curb": "north", "address": 5}], **extra}  # fmt: skip


def channels(packet: E131Packet) -> list[int]:
    return list(packet.slots[:8])


def test_sacn_packets_carry_the_look_and_unknown_is_never_green(make_hub, node) -> None:
    hub = make_hub([sacn_lights(node.host, flash_value=200)])
    red = [255, 0, 0, 0]
    assert node.wait_for(7, lambda p: channels(p) == red * 2), "safe state (red) before any signal"
    hub.on_signal("P1", SignalState.WALK, BASE_UTC)
    packet = node.wait_for(7, lambda p: channels(p) == [0, 255, 0, 0] * 2)
    assert packet is not None, "green on WALK"
    assert packet.start_code == 0 and packet.priority == 100 and packet.source_name == "crossguard dmx"
    assert len(packet.slots) == 512 and set(packet.slots[8:]) == {0}
    hub.on_signal("P1", SignalState.DONT_WALK, BASE_UTC + 1)
    hub.on_violation(violation())
    assert node.wait_for(7, lambda p: channels(p) == [255, 0, 0, 200] * 2), "red flashing on a violation"
    hub.on_signal("P1", SignalState.UNKNOWN, BASE_UTC + 2)
    assert node.wait_for(7, lambda p: channels(p) == red * 2), "safe state on UNKNOWN"
    assert not node.errors
    # never green while anything but WALK was reported: every packet with green lit came between WALK and DON'T WALK
    greens = [i for i, (_, p) in enumerate(node.packets) if p.channel(2) or p.channel(6)]
    reds = [i for i, (_, p) in enumerate(node.packets) if p.channel(1)]
    assert greens and max(greens) < min(r for r in reds if r > min(greens))


def test_decoder_rejects_a_wrong_packet() -> None:
    with pytest.raises(ValueError, match="shorter"):
        decode_e131(b"\x00\x10")
    with pytest.raises(ValueError, match="root layer"):
        decode_e131(b"\x00" * 638)


def test_config_errors_name_the_problem() -> None:
    base = {"name": "x", "type": "ground_lights", "protocol": "sacn", "signal_group": "P1"}
    with pytest.raises(ValidationError, match="not a DMX channel"):
        ActuatorsConfig.model_validate({"devices": [{**base, "segments": [{"name": "a", "address": 510}]}]})
    with pytest.raises(ValidationError, match="overlap at address 3"):
        ActuatorsConfig.model_validate(
            {"devices": [{**base, "segments": [{"name": "a", "address": 1}, {"name": "b", "address": 3}]}]}
        )


def test_operator_test_of_the_lights_target(make_hub, modbus) -> None:
    hub = make_hub([modbus_lights(modbus.port)])
    assert hub.devices_for("lights") == ["lights"]
    [result] = hub.test(target="lights")
    assert result.success, result.detail
    assert looks(modbus) == [RED_FLASH] * 3
    assert EventType.PRE_WARNING.value == "pre_warning"


def test_a_prewarning_flashes_only_its_curb_and_the_stripe(make_hub, modbus) -> None:
    hub = make_hub([modbus_lights(modbus.port, alert_s=30)])
    hub.on_signal("P1", SignalState.DONT_WALK, BASE_UTC)
    hub.on_prewarning(violation(kind=EventType.PRE_WARNING))  # at the north curb
    wait_for(lambda: looks(modbus) == [RED_FLASH, RED_FLASH, RED], what="alert at the north curb")
    hub.on_prewarning(violation(kind=EventType.VIOLATION))  # not a pre-warning: ignored by this path
    hub.on_signal("P1", SignalState.UNKNOWN, BASE_UTC + 2)
    wait_for(lambda: looks(modbus) == [RED] * 3, what="a lost signal ends the alert: safe state")
