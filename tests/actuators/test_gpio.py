"""GPIO relay output.

No gpio-sim or gpio-mockup kernel module is available on the build machines, so the switching
logic is tested through the driver's ``make_line`` seam with a recording line; the real
libgpiod path is exercised only as far as refusing a chip that does not exist.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import ClassVar

from actuators.base import Command, CommandKind, DeviceContext, HealthState
from actuators.devices.gpio import GpioConfig, GpioOutput
from edge.signal.types import SignalState

from .conftest import wait_for


class RecordingLine:
    instances: ClassVar[list[RecordingLine]] = []

    def __init__(self) -> None:
        self.levels: list[bool] = []
        self.closed = False
        RecordingLine.instances.append(self)

    def set(self, active: bool) -> None:
        self.levels.append(active)

    def close(self) -> None:
        self.closed = True


@contextlib.contextmanager
def recording_gpio() -> Iterator[None]:
    original = GpioOutput.make_line
    GpioOutput.make_line = lambda self: RecordingLine()  # type: ignore[method-assign]
    try:
        yield
    finally:
        GpioOutput.make_line = original  # type: ignore[method-assign]


def driver(**fields) -> GpioOutput:
    out = GpioOutput(GpioConfig(name="g", line=1, **fields), DeviceContext(()))
    with recording_gpio():
        out.open()
    return out


def signal(group: str, state: SignalState) -> Command:
    return Command(CommandKind.SIGNAL, 0.0, signal_group=group, signal_state=state)


def test_follows_its_signal_group_only() -> None:
    out = driver(signal_group="P1", on_states=[SignalState.DONT_WALK, SignalState.CLEARANCE])
    for group, state in [("P1", SignalState.WALK), ("P1", SignalState.CLEARANCE), ("P2", SignalState.WALK),
                         ("P1", SignalState.DONT_WALK), ("P1", SignalState.UNKNOWN)]:  # fmt: skip
        out.signal(signal(group, state))
    assert out._line.levels == [False, False, True, True, False]  # opened off, then per P1 change


def test_violation_pulse_turns_off_by_itself_and_ors_with_the_signal() -> None:
    out = driver(signal_group="P1", pulse_s=0.1)
    out.warn(Command(CommandKind.WARN, 0.0))
    assert out.active
    wait_for(lambda: not out.active, timeout_s=2, what="the pulse to end")
    out.signal(signal("P1", SignalState.DONT_WALK))
    out.warn(Command(CommandKind.WARN, 0.0))
    time.sleep(0.2)
    assert out.active  # the signal still holds it on after the pulse
    out.close()
    assert out._line is None


def test_without_pulse_violations_leave_the_line_alone() -> None:
    out = driver(signal_group="P1")
    out.warn(Command(CommandKind.WARN, 0.0))
    assert out._line.levels == [False]


def test_missing_chip_is_a_clear_device_error(make_hub) -> None:
    hub = make_hub([{"name": "beacon", "type": "gpio", "chip": "/dev/gpiochip-missing", "line": 0}])
    wait_for(lambda: hub.health()["beacon"].last_error, what="the open attempt")
    health = hub.health()["beacon"]
    assert health.state is HealthState.DOWN
    assert "/dev/gpiochip-missing" in health.last_error
