"""What every LED board shares: message lines, the operator test, hold time and idle text,
and the text it shows now for the virtual board. A board driver only implements ``show``."""

from __future__ import annotations

import threading
from abc import abstractmethod

from pydantic import Field

from actuators.base import Actuator, Command, DeviceConfig, DeviceContext


class BoardConfig(DeviceConfig):
    languages: list[str] = Field(["en"], min_length=1, description="Message languages shown, in this order")
    test_text: str = Field("TEST", min_length=1, description="Shown by the operator test")
    hold_s: float = Field(
        20.0,
        ge=0,
        le=3600,
        description="Seconds a warning stays up before idle_text returns; 0: until replaced",
    )
    idle_text: str = Field("", description="Shown when no warning is up; empty blanks the board")


class Board(Actuator):
    is_board = True
    config: BoardConfig

    def __init__(self, config: BoardConfig, context: DeviceContext) -> None:
        super().__init__(config, context)
        self._shown = ""
        self._lock = threading.Lock()

    @abstractmethod
    def show(self, lines: list[str], command: Command) -> str:
        """Put ``lines`` on the board (none: blank it); return the text as the board renders it."""

    def warn(self, command: Command) -> None:
        self._display(self.texts(self.config.languages), command)

    def test(self, command: Command) -> None:
        self._display([self.config.test_text], command)

    def clear(self, command: Command) -> None:
        self._display([self.config.idle_text] if self.config.idle_text else [], command)

    def revert_after_s(self) -> float | None:
        return self.config.hold_s or None

    def board_text(self) -> str | None:
        with self._lock:
            return self._shown

    def _display(self, lines: list[str], command: Command) -> None:
        shown = self.show(lines, command)
        with self._lock:
            self._shown = shown
