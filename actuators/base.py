"""The actuator interface: what a device driver implements and what the hub hands it.

A driver is one file under ``actuators/devices``: a ``key``, a config subclass of
``DeviceConfig`` whose ``type`` is ``Literal[key]``, and an ``Actuator`` subclass, added to
``DEVICE_TYPES`` by ``@register(key)``. Drivers are called only from their device's worker
thread (see ``actuators.worker``), so they may block, but every operation must time out.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import ClassVar, TypeVar

from pydantic import Field

from edge.config.base import StrictModel
from edge.signal.types import SignalState


class DeviceError(Exception):
    """A device operation failed; the message names what was tried and why it failed."""


class HealthState(str, Enum):
    OK = "ok"  # last operation succeeded
    DEGRADED = "degraded"  # reachable, but the last command failed or commands were dropped
    DOWN = "down"  # cannot connect


@dataclass(frozen=True)
class DeviceHealth:
    name: str
    type: str
    state: HealthState
    last_error: str | None
    last_error_utc: float | None
    last_success_utc: float | None
    delivered: int
    failed: int
    dropped: int  # pushed out of a full queue (oldest first)
    stale: int  # given up after ``command_ttl_s`` without reaching the device
    muted: bool = False  # an audio output the operator muted: warnings skip it

    def to_dict(self) -> dict[str, object]:
        """JSON-ready, for status reports and the web UI."""
        out = asdict(self)
        out["state"] = self.state.value
        return out


@dataclass(frozen=True)
class TestResult:
    device: str
    success: bool
    latency_s: float | None  # from the request to the driver's return
    detail: str


@dataclass(frozen=True)
class Level:
    """Output level chosen by the schedule for the event's local time."""

    volume: float = 1.0  # 0..1, applied in software by audio outputs
    brightness: int = 100  # percent, for boards that accept it
    audible: bool = True  # False during quiet hours: audio outputs stay silent


class CommandKind(str, Enum):
    WARN = "warn"
    SIGNAL = "signal"
    TEST = "test"
    CLEAR = "clear"  # a board's hold time is over: back to its idle text (a refreshing output: rewrite)
    PREWARN = "prewarn"  # someone at the curb edge on DON'T WALK, before stepping off
    ANNOUNCE = "announce"  # an operator's spoken announcement
    PED_CALL = "ped_call"  # a pedestrian call to the signal controller (edge/ped_call.py)


@dataclass(frozen=True)
class Command:
    """One thing for one device to do. ``entered`` is perf_counter() when the hub was called."""

    kind: CommandKind
    entered: float
    level: Level = field(default_factory=Level)
    crosswalk_id: str = ""
    event_id: str = ""
    event_utc: float = 0.0
    signal_group: str = ""
    signal_state: SignalState = SignalState.UNKNOWN
    curb: str = ""  # the curb the person is at (warnings and pre-warnings); "" when not known
    text: str = ""  # announcement text (ANNOUNCE)
    language: str = ""  # announcement language, for TTS
    wav: str | None = None  # announcement recording instead of TTS


class DeviceConfig(StrictModel):
    """Fields every device has; a driver's config subclasses this and adds ``type`` and its own."""

    name: str = Field(..., min_length=1, pattern=r"^[A-Za-z0-9_.-]+$", description="Device name, unique in the site")
    enabled: bool = Field(True, description="A disabled device is not started")
    crosswalks: list[str] = Field(
        default_factory=list, description="Crosswalk ids this device warns for; empty means all"
    )
    timeout_s: float = Field(2.0, gt=0, le=60, description="Limit for every single device operation")
    queue_size: int = Field(4, ge=1, le=1000, description="Pending commands kept; the oldest is dropped when full")
    command_ttl_s: float = Field(
        5.0, gt=0, le=600, description="A command not delivered within this many seconds is stale and dropped"
    )
    backoff_initial_s: float = Field(0.5, gt=0, le=60, description="First wait before reconnecting after a failure")
    backoff_max_s: float = Field(30.0, gt=0, le=3600, description="Longest wait between reconnect attempts")


@dataclass(frozen=True)
class Message:
    """The warning in one language; ``wav`` is an operator recording, else it is rendered by TTS."""

    language: str
    text: str
    wav: str | None = None
    voice: str | None = None


@dataclass(frozen=True)
class DeviceContext:
    """What the site gives every driver besides its own config."""

    messages: tuple[Message, ...]
    tts_cache: Path = Path("~/.cache/crossguard/tts")
    prewarn_messages: tuple[Message, ...] = ()  # the pre-warning prompt ("Red light - please wait")


class Actuator(ABC):
    """One output device. Subclasses set ``key`` and implement ``warn``."""

    key: ClassVar[str]
    follows_signal: ClassVar[bool] = False  # True: the hub forwards signal-state changes
    is_board: ClassVar[bool] = False  # True: board_text() is shown on the virtual board
    is_audio: ClassVar[bool] = False  # True: silenced while the operator has muted the speaker
    refreshes: ClassVar[bool] = False  # True: ``clear`` runs ``revert_after_s`` after every command (keep-alive)
    places_calls: ClassVar[bool] = False  # True: a signal controller; gets pedestrian calls and nothing else

    def __init__(self, config: DeviceConfig, context: DeviceContext) -> None:
        self.config = config
        self.context = context

    @property
    def name(self) -> str:
        return self.config.name

    def open(self) -> None:  # noqa: B027 - connectionless devices need nothing
        """Connect or prepare; raise DeviceError on failure. Called again after a failure."""

    @abstractmethod
    def warn(self, command: Command) -> None:
        """Show or play the warning; raise DeviceError on failure."""

    def signal(self, command: Command) -> None:  # noqa: B027 - only signal followers override
        """Follow a signal-state change (only called when ``follows_signal``)."""

    def prewarn(self, command: Command) -> None:  # noqa: B027 - only speakers and ground lights pre-warn
        """Warn someone at the curb edge before they step off (pre-warning)."""

    def announce(self, command: Command) -> None:  # noqa: B027 - only audio outputs speak
        """Speak an operator's announcement."""

    def ped_call(self, command: Command) -> None:  # noqa: B027 - only signal controllers take calls
        """Place a pedestrian call for the command's crosswalk."""

    def calls_for(self, crosswalk_id: str) -> bool:
        """True: this controller has a pedestrian phase for the crosswalk (only ``places_calls`` devices)."""
        return False

    def test(self, command: Command) -> None:
        """Operator test: trigger the output once. Default: the warning itself."""
        self.warn(command)

    def clear(self, command: Command) -> None:  # noqa: B027 - only boards hold a message
        """Return to the idle display after ``revert_after_s``."""

    def revert_after_s(self) -> float | None:
        """Seconds a warning stays up before ``clear``; None: it stays until replaced."""
        return None

    def close(self) -> None:  # noqa: B027 - connectionless devices hold nothing
        """Release connections; must not raise."""

    def condition(self) -> str | None:
        """A fault the device reports while still working (e.g. a failed pixel); None when fine."""
        return None

    def board_text(self) -> str | None:
        """The text the board shows now, for the virtual board (boards only)."""
        return None

    def texts(self, languages: list[str]) -> list[str]:
        """The warning text in each requested language, in that order (unknown languages skipped)."""
        by_language = {m.language: m.text for m in self.context.messages}
        return [by_language[lang] for lang in languages if lang in by_language]


A = TypeVar("A", bound=type[Actuator])
DEVICE_TYPES: dict[str, type[Actuator]] = {}
DEVICE_CONFIGS: dict[str, type[DeviceConfig]] = {}


def register(key: str, config: type[DeviceConfig]) -> Callable[[A], A]:
    """Class decorator: make a driver and its config selectable by ``type: key``."""

    def wrap(cls: A) -> A:
        if key in DEVICE_TYPES:
            raise ValueError(f"actuator type '{key}' registered twice")
        cls.key = key
        DEVICE_TYPES[key] = cls
        DEVICE_CONFIGS[key] = config
        return cls

    return wrap
