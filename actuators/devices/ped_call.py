"""Pedestrian calls to an NTCIP 1202 signal controller over SNMP v2c (pysnmp).

A call sets the crosswalk's phase bit in ``phaseControlGroupPedCall`` (read, OR, write: bits that
other systems hold are kept), holds it for ``hold_s`` and clears it again (read, AND NOT, write),
as a push button's contact would. The controller latches the call and decides whether and when
to serve the phase. Opening reads ``maxPhaseGroups``, which proves the controller answers and that
every configured phase exists; the operator test reads the call objects and places no call.
"""

from __future__ import annotations

import contextlib
from typing import Literal

from pydantic import Field, field_validator

from actuators import ntcip1202 as nt
from actuators.base import Actuator, Command, DeviceConfig, DeviceContext, DeviceError, register
from actuators.snmp import SnmpSession


class NtcipPedCallConfig(DeviceConfig):
    type: Literal["ntcip_ped_call"] = "ntcip_ped_call"
    host: str = Field("127.0.0.1", description="Signal controller address")
    port: int = Field(161, ge=1, le=65535, description="SNMP UDP port")
    community: str = Field("public", min_length=1, description="SNMP v2c write community")
    phases: dict[str, int] = Field(
        ..., min_length=1, description="Crosswalk id → the controller's pedestrian phase number (1..255) it calls"
    )
    hold_s: float = Field(1.0, gt=0, le=60, description="Seconds the call bit is held before it is cleared")

    @field_validator("phases")
    @classmethod
    def _phase_numbers(cls, phases: dict[str, int]) -> dict[str, int]:
        wrong = {cw: p for cw, p in phases.items() if not 1 <= p <= 255}
        if wrong:
            raise ValueError(f"phase numbers must be 1..255: {wrong}")
        return phases


@register("ntcip_ped_call", NtcipPedCallConfig)
class NtcipPedCall(Actuator):
    config: NtcipPedCallConfig
    places_calls = True

    def __init__(self, config: NtcipPedCallConfig, context: DeviceContext) -> None:
        super().__init__(config, context)
        self._snmp: SnmpSession | None = None
        self._held: set[int] = set()  # phases whose call bit this box has set and not yet cleared
        self._link_up = False  # the last request was answered (closing after a failure skips the release)

    def open(self) -> None:
        cfg = self.config
        self.close()
        self._link_up = False
        self._snmp = SnmpSession(cfg.host, cfg.port, cfg.community, cfg.timeout_s, peer="signal controller")
        self._snmp.open()
        (groups,) = self._session().get(nt.MAX_PHASE_GROUPS)
        beyond = {cw: p for cw, p in cfg.phases.items() if nt.group_and_bit(p)[0] > int(groups)}
        if beyond:
            raise DeviceError(f"the controller has {int(groups)} phase group(s), {8 * int(groups)} phases: "
                              f"no phase for {beyond}")  # fmt: skip
        self._link_up = True
        if self._held:  # a call cut off by a lost link: clear what the controller may still hold
            self._write(set(), set(self._held))

    def warn(self, command: Command) -> None:
        """A controller shows no warnings (the hub sends it calls only)."""

    def calls_for(self, crosswalk_id: str) -> bool:
        return crosswalk_id in self.config.phases

    def ped_call(self, command: Command) -> None:
        phase = self.config.phases.get(command.crosswalk_id)
        if phase is None:
            return
        self._write({phase}, set())

    def clear(self, command: Command) -> None:
        """The hold is over: release every call bit this box set."""
        if self._held:
            self._write(set(), set(self._held))

    def revert_after_s(self) -> float | None:
        return self.config.hold_s

    def test(self, command: Command) -> None:
        """Read the call objects of the configured phases: the controller answers; no call is placed."""
        groups = sorted({nt.group_and_bit(p)[0] for p in self.config.phases.values()})
        self._session().get(*(nt.control_oid(nt.ControlColumn.PED_CALL, g) for g in groups))

    def close(self) -> None:
        if self._snmp is not None:
            if self._held and self._link_up:  # shut down mid-hold: a bit left set keeps calling the phase
                with contextlib.suppress(DeviceError):
                    self._write(set(), set(self._held))
            self._snmp.close()
        self._snmp = None

    def _write(self, raise_phases: set[int], release_phases: set[int]) -> None:
        """Read-modify-write each group touched, so bits other systems hold are kept."""
        session = self._session()
        self._link_up = False
        for group in sorted({nt.group_and_bit(p)[0] for p in raise_phases | release_phases}):
            oid = nt.control_oid(nt.ControlColumn.PED_CALL, group)
            (current,) = session.get(oid)
            bits = (int(current) | _mask(raise_phases, group)) & ~_mask(release_phases, group) & 0xFF
            session.set((oid, SnmpSession.integer(bits)))
        self._link_up = True
        self._held = (self._held | raise_phases) - release_phases

    def _session(self) -> SnmpSession:
        if self._snmp is None:
            raise DeviceError("not connected")
        return self._snmp


def _mask(phases: set[int], group: int) -> int:
    """The bits of ``phases`` that lie in ``group``'s control byte."""
    return sum(bit for g, bit in map(nt.group_and_bit, phases) if g == group)
