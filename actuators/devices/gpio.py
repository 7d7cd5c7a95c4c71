"""GPIO relay output (libgpiod v2 via the ``gpiod`` package): a flashing beacon or in-ground lights.

The line can follow a signal group (on while the group shows one of ``on_states``, e.g.
in-ground red lights during DON'T WALK) and/or pulse for ``pulse_s`` on each violation.
Output = following-state OR pulse-active, so the two never fight over the line.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any, Literal, Protocol

from pydantic import Field

from actuators.base import Actuator, Command, CommandKind, DeviceConfig, DeviceContext, DeviceError, register
from edge.signal.types import SignalState


class GpioConfig(DeviceConfig):
    type: Literal["gpio"] = "gpio"
    chip: str = Field("/dev/gpiochip0", description="GPIO character device")
    line: int = Field(..., ge=0, le=1023, description="Line offset on the chip")
    active_low: bool = Field(False, description="The relay closes on a low level")
    signal_group: str | None = Field(None, description="Follow this signal group; None: do not follow a signal")
    on_states: list[SignalState] = Field(
        [SignalState.DONT_WALK], description="Signal states during which the output is on"
    )
    pulse_s: float = Field(0.0, ge=0, le=600, description="On each violation, on for this long; 0: ignore violations")
    test_s: float = Field(1.0, gt=0, le=60, description="How long the operator test switches the output on")


class LineBackend(Protocol):
    def set(self, active: bool) -> None: ...
    def close(self) -> None: ...


class GpiodLine:
    """One output line requested from the kernel through libgpiod."""

    def __init__(self, chip: str, line: int, active_low: bool, consumer: str) -> None:
        try:
            import gpiod
            from gpiod.line import Direction, Value
        except ImportError:
            raise DeviceError("the gpiod package is missing; install crossguard[gpio]") from None
        self._line, self._value = line, Value
        settings = gpiod.LineSettings(direction=Direction.OUTPUT, active_low=active_low, output_value=Value.INACTIVE)
        try:
            self._request: Any = gpiod.request_lines(chip, consumer=consumer, config={line: settings})
        except (OSError, ValueError) as exc:
            raise DeviceError(f"cannot request line {line} on {chip}: {exc}") from None

    def set(self, active: bool) -> None:
        try:
            self._request.set_value(self._line, self._value.ACTIVE if active else self._value.INACTIVE)
        except OSError as exc:
            raise DeviceError(f"setting GPIO line {self._line} failed: {exc}") from None

    def close(self) -> None:
        self._request.release()


@register("gpio", GpioConfig)
class GpioOutput(Actuator):
    follows_signal = True
    config: GpioConfig

    def __init__(self, config: GpioConfig, context: DeviceContext) -> None:
        super().__init__(config, context)
        self._line: LineBackend | None = None
        self._following = False
        self._pulse_until = 0.0
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self.active = False  # last level written

    def make_line(self) -> LineBackend:
        """The hardware line; a seam so the switching logic can be tested where no GPIO chip exists."""
        cfg = self.config
        return GpiodLine(cfg.chip, cfg.line, cfg.active_low, consumer=f"crossguard-{cfg.name}")

    def open(self) -> None:
        self.close()
        self._line = self.make_line()
        self._apply()

    def signal(self, command: Command) -> None:
        if self.config.signal_group is None or command.signal_group != self.config.signal_group:
            return
        with self._lock:
            self._following = command.signal_state in self.config.on_states
        self._apply()

    def warn(self, command: Command) -> None:
        seconds = self.config.test_s if command.kind is CommandKind.TEST else self.config.pulse_s
        if seconds <= 0:
            return
        with self._lock:
            self._pulse_until = max(self._pulse_until, time.monotonic() + seconds)
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(seconds + 0.01, self._apply_quietly)  # just after the end
            self._timer.daemon = True
            self._timer.start()
        self._apply()

    def _apply_quietly(self) -> None:
        with contextlib.suppress(DeviceError):  # the next command reports it through the worker
            self._apply()

    def _apply(self) -> None:
        with self._lock:
            active = self._following or time.monotonic() < self._pulse_until
            if self._line is None:
                raise DeviceError("GPIO line is not open")
            self._line.set(active)
            self.active = active

    def close(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            if self._line is not None:
                with contextlib.suppress(Exception):
                    self._line.close()
            self._line = None
