"""Pedestrian calls over NTCIP 1202 (SNMP v2c): the driver against the controller emulator, byte level."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from actuators import ntcip1202 as nt
from actuators.base import HealthState
from actuators.emulators.snmp_controller import SnmpControllerEmulator
from edge.ped_call import CallReason, PedCall

from .conftest import BASE_UTC, violation, wait_for

# phaseControlGroupPedCall.1 := 2 (phase 2), as BER: the varbind SEQUENCE of the OID and the INTEGER
PED_CALL_GROUP_1_PHASE_2 = bytes.fromhex("3014" "060f2b060104018936040201010501" "0701" "020102")


@pytest.fixture
def controller() -> Iterator[SnmpControllerEmulator]:
    emulator = SnmpControllerEmulator()
    yield emulator
    emulator.stop()


def call(crosswalk: str = "cw1") -> PedCall:
    return PedCall(crosswalk, "P1", "north", CallReason.CROWD, 3, 4.0, 10.0, BASE_UTC)


def device(controller: SnmpControllerEmulator, **extra: object) -> dict:
    return {"name": "tsc", "type": "ntcip_ped_call", "port": controller.port, "phases": {"cw1": 2, "cw2": 12},
            "hold_s": 0.3, **extra}  # fmt: skip


@pytest.mark.parametrize(
    ("phase", "group", "bit"), [(1, 1, 0b1), (2, 1, 0b10), (8, 1, 0x80), (9, 2, 0b1), (12, 2, 0b1000)]
)
def test_phase_numbers_map_to_group_bits(phase: int, group: int, bit: int) -> None:
    assert nt.group_and_bit(phase) == (group, bit)
    assert nt.phases_of(group, bit) == [phase]


def test_a_call_sets_the_phase_bit_holds_it_and_clears_it(make_hub, controller) -> None:
    hub = make_hub([device(controller)])
    wait_for(lambda: hub.health()["tsc"].state is HealthState.OK, what="the controller answering")
    hub.on_ped_call(call())
    wait_for(lambda: controller.calls == [2], what="the call")
    assert controller.ped_call_bits(1) == 0b10
    assert any(PED_CALL_GROUP_1_PHASE_2 in d for d in controller.datagrams), "the SET on the wire"
    wait_for(lambda: controller.ped_call_bits(1) == 0, what="the call bit released after hold_s")
    group_1 = ".".join(map(str, nt.control_oid(nt.ControlColumn.PED_CALL, 1)))
    assert controller.sets == [[(group_1, 0b10)], [(group_1, 0)]]
    assert hub.health()["tsc"].delivered == 2  # the call and its release


def test_bits_other_systems_hold_are_kept(make_hub, controller) -> None:
    controller._values[nt.control_oid(nt.ControlColumn.PED_CALL, 2)] = 0b1  # phase 9, called by someone else
    hub = make_hub([device(controller)])
    hub.on_ped_call(call("cw2"))  # phase 12: group 2, bit 3
    wait_for(lambda: 12 in controller.calls, what="the call")
    assert controller.ped_call_bits(2) == 0b1001
    wait_for(lambda: controller.ped_call_bits(2) == 0b1, what="only our bit released")


def test_warnings_never_reach_the_controller_and_the_operator_test_places_no_call(make_hub, controller) -> None:
    hub = make_hub([device(controller)])
    hub.on_violation(violation())
    hub.on_ped_call(call("cw9"))  # a crosswalk the controller has no phase for
    results = hub.test(target="controller")
    assert [(r.device, r.success) for r in results] == [("tsc", True)]
    assert controller.sets == [] and controller.calls == []


def test_a_phase_the_controller_does_not_have_is_named(make_hub, controller) -> None:
    hub = make_hub([device(controller, phases={"cw1": 17})])  # two groups: phases 1..16
    health = wait_for(lambda: hub.health()["tsc"].last_error and hub.health()["tsc"], what="the refusal")
    assert health.state is HealthState.DOWN
    assert "2 phase group(s), 16 phases: no phase for {'cw1': 17}" in health.last_error


def test_link_loss_is_health_and_a_held_call_is_released_on_reconnect(make_hub) -> None:
    first = SnmpControllerEmulator()
    port = first.port
    hub = make_hub([device(first, hold_s=0.5)])
    hub.on_ped_call(call())
    wait_for(lambda: first.ped_call_bits(1) == 0b10, what="the call")
    first.stop()  # the controller goes away with our bit set; releasing it fails
    health = wait_for(lambda: hub.health()["tsc"].state is HealthState.DOWN and hub.health()["tsc"], what="down")
    assert "no snmp response" in health.last_error.lower()
    second = SnmpControllerEmulator(port)  # back, still holding the bit it had
    second._values[nt.control_oid(nt.ControlColumn.PED_CALL, 1)] = 0b10
    try:
        wait_for(lambda: second.ped_call_bits(1) == 0, timeout_s=10, what="the stale call released on reconnect")
        hub.on_ped_call(call())  # a delivery proves health again
        wait_for(lambda: second.calls == [2], what="a new call")
        wait_for(lambda: hub.health()["tsc"].state is HealthState.OK, what="healthy again")
    finally:
        second.stop()
