"""NTCIP 1202 actuated signal controller objects for pedestrian calls. Pure: no I/O.

Object identifiers below ``phase`` = 1.3.6.1.4.1.1206.4.2.1.1 (NEMA devices, ASC, phase):
``maxPhaseGroups`` is phase.3.0; ``phaseControlGroupEntry`` is phase.5.1 with columns
number(1), phaseOmit(2), pedOmit(3), hold(4), forceOff(5), vehCall(6) and pedCall(7), indexed
by group. Each control object is a byte for the eight phases of its group: bit 0 is phase
``group * 8 - 7``, bit 7 phase ``group * 8``. While a ``pedCall`` bit is 1 the controller places a
call for pedestrian service on that phase; a write also resets the controller's backup timer.
"""

from __future__ import annotations

from enum import IntEnum

PHASE = (1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1)
MAX_PHASE_GROUPS = (*PHASE, 3, 0)
CONTROL_ENTRY = (*PHASE, 5, 1)


class ControlColumn(IntEnum):
    NUMBER = 1
    PHASE_OMIT = 2
    PED_OMIT = 3
    HOLD = 4
    FORCE_OFF = 5
    VEH_CALL = 6
    PED_CALL = 7


def control_oid(column: ControlColumn, group: int) -> tuple[int, ...]:
    return (*CONTROL_ENTRY, int(column), group)


def group_and_bit(phase: int) -> tuple[int, int]:
    """The control group of a phase (1-based) and its bit mask in that group's byte."""
    if phase < 1:
        raise ValueError(f"phase numbers start at 1, not {phase}")
    return (phase - 1) // 8 + 1, 1 << ((phase - 1) % 8)


def phases_of(group: int, bits: int) -> list[int]:
    """The phases whose bits are set in a group's control byte."""
    return [(group - 1) * 8 + i + 1 for i in range(8) if bits >> i & 1]
