"""An NTCIP 1202 signal controller's SNMP v2c agent on 127.0.0.1 (UDP): the phase control groups.

It answers ``maxPhaseGroups`` and holds the ``phaseControlGroupTable`` (each column a byte per
group of eight phases, 0..255). A ``pedCall`` bit that rises places a pedestrian call on its phase,
latched as controllers do until the phase is served (``serve``); the calls placed are kept in
order for tests.
"""

from __future__ import annotations

from typing import Any

from actuators import ntcip1202 as nt
from actuators.emulators.snmp_agent import Binds, Oid, SnmpAgent, plain


class SnmpControllerEmulator(SnmpAgent):
    def __init__(self, port: int = 0, *, community: str = "public", groups: int = 2) -> None:
        super().__init__(port, community=community, name="snmp-controller-emulator")
        self.groups = groups
        self.calls: list[int] = []  # phases, in the order their pedestrian calls were placed
        self.latched: set[int] = set()  # phases with a call waiting to be served
        self._values[nt.MAX_PHASE_GROUPS] = groups
        for group in range(1, groups + 1):
            for column in nt.ControlColumn:
                self._values[nt.control_oid(column, group)] = group if column is nt.ControlColumn.NUMBER else 0
        self.start()

    def ped_call_bits(self, group: int = 1) -> int:
        return int(self.value(nt.control_oid(nt.ControlColumn.PED_CALL, group)))

    def serve(self, phase: int) -> None:
        """The phase has shown WALK: its latched call is answered."""
        with self._lock:
            self.latched.discard(phase)

    def _stage(self, staged: dict[Oid, Any], oid: Oid, value: Any) -> str | None:
        if oid[: len(nt.CONTROL_ENTRY)] != nt.CONTROL_ENTRY or oid not in staged:
            return "notWritable"
        if oid[len(nt.CONTROL_ENTRY)] == nt.ControlColumn.NUMBER:
            return "notWritable"
        number = plain(value)
        if not isinstance(number, int):
            return "wrongType"
        if not 0 <= number <= 255:
            return "wrongValue"
        staged[oid] = number
        return None

    def _after_set(self, binds: Binds) -> tuple[str, int] | None:
        for oid, _ in binds:
            if oid[len(nt.CONTROL_ENTRY)] == nt.ControlColumn.PED_CALL:
                group = oid[-1]
                self._latch(nt.phases_of(group, self._values[oid]))
        return None

    def _latch(self, phases: list[int]) -> None:
        for phase in phases:
            if phase not in self.latched:
                self.latched.add(phase)
                self.calls.append(phase)
