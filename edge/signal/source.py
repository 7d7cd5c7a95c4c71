"""The signal-source interface: timestamped state changes per group, plus health."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar

import numpy as np

from edge.signal.types import SignalChange


class SignalSourceError(ValueError):
    """A source that cannot be built from its config (bad file, no token, port in use); names the problem."""


class SourceHealth(str, Enum):
    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"


@dataclass(frozen=True)
class SourceStatus:
    name: str
    health: SourceHealth
    detail: str = ""


@dataclass(frozen=True)
class SignalAlarm:
    """An active alarm about ``group`` since ``since`` (pipeline time): sources disagreeing, a feed
    contradicting itself (two publishers), or a feed clock running ahead of the box's."""

    group: str
    kind: str
    since: float
    detail: str


@dataclass(frozen=True)
class FrameClock:
    """Maps between pipeline time ``t`` and UTC for one frame (sources that speak UTC need it)."""

    t: float
    utc: float

    def to_t(self, utc: float) -> float:
        return utc - (self.utc - self.t)


class SignalSource(ABC):
    """Yields state changes for its groups; polled once per frame by the signal hub.

    ``poll`` receives the frame's clock and, for sources that read the picture, the image.
    Sources fed from outside (MQTT, HTTP) queue changes on their own threads and hand
    them over here, so the decision core only ever sees them on the frame path.
    """

    key: ClassVar[str]
    #: Every change is known before it happens (a timeline file): none arrives late, so each one
    #: keeps its own time, even one dated before the first frame.
    prerecorded: ClassVar[bool] = False

    def __init__(self, name: str) -> None:
        self.name = name

    @abstractmethod
    def poll(self, clock: FrameClock, image: np.ndarray | None) -> list[SignalChange]:
        """Changes that became known since the last poll (may lie in the past)."""

    def groups(self) -> list[str]:
        """Groups this source reports, when known up front (the hub marks them UNKNOWN until heard)."""
        return []

    def max_delay_s(self) -> float:
        """How far in the past this source may still date a change it has not reported yet."""
        return 0.0

    def status(self) -> SourceStatus:
        return SourceStatus(self.name, SourceHealth.OK)

    def alarms(self) -> list[SignalAlarm]:
        """Alarms the source raises itself (the hub adds them to its own)."""
        return []

    def close(self) -> None:  # noqa: B027 - most sources hold nothing to release
        """Release threads, sockets and files."""
