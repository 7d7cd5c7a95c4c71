"""What the service reports about itself: one snapshot for /healthz, the status file, logs and MQTT."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from edge.operator import OperatorState


@dataclass(frozen=True)
class AdapterHealth:
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class SignalSourceHealth:
    """One signal source (or the hub's alarms) as ``edge.signal.source.SourceStatus`` reports it."""

    state: str  # ok, degraded, down
    detail: str = ""


@dataclass(frozen=True)
class CameraStatus:
    """One camera's part of /status: its source, frames and whether its crosswalks are enforced."""

    state: str
    source: str
    error: str
    frames_captured: int
    frames_dropped: int  # stale frames replaced by newer ones before the frame loop took them
    frames_processed: int
    reconnects: int
    fps: float
    picture: str
    enforcement_suspended: bool
    suspension_reason: str
    crosswalks: list[str]


@dataclass(frozen=True)
class ServiceStatus:
    """Liveness: the frame loop is turning. Readiness: it is also enforcing (camera live, picture good).

    An operator's switch-off is not a fault, so it leaves readiness alone; it shows in
    ``enforcement_suspended``/``suspension_reason`` and, with who and when, in ``operator``.
    A signal source that is down (its groups UNKNOWN) is a reason; alarms (sources disagreeing, a
    feed contradicting itself) leave readiness alone but show in ``signal_sources`` and the summary.
    """

    live: bool
    ready: bool
    reasons: list[str]  # why not ready, in words
    utc: float
    uptime_s: float
    model_id: str
    camera_state: str
    camera_source: str
    camera_error: str
    frames_captured: int
    frames_dropped: int
    frames_processed: int
    reconnects: int
    fps: float
    picture: str
    enforcement_suspended: bool  # entries are not enforced now: picture fault or operator switch-off
    suspension_reason: str
    crossings: int
    violations: int
    clock: dict[str, Any]
    adapters: dict[str, AdapterHealth] = field(default_factory=dict)
    operator: OperatorState = field(default_factory=OperatorState)
    signal_sources: dict[str, SignalSourceHealth] = field(default_factory=dict)
    cameras: dict[str, CameraStatus] = field(default_factory=dict)  # by camera id

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """One line for logs and systemd's STATUS=, naming every output that is down."""
        state = "ready" if self.ready else "NOT READY (" + "; ".join(self.reasons) + ")"
        switches = ""
        if not self.operator.enforcement.enabled:
            switches += f", enforcement OFF by {self.operator.enforcement.by or 'the operator'}"
        if self.operator.mute.muted:
            switches += ", speaker muted"
        for name, health in sorted(self.adapters.items()):  # e.g. the MQTT link: reports then wait in the outbox
            if not health.ok:
                switches += f", {name} DOWN" + (f" ({health.detail})" if health.detail else "")
        degraded = [name for name, h in self.signal_sources.items() if h.state == "degraded"]
        if degraded:
            switches += f", signal degraded: {', '.join(degraded)}"
        return (
            f"{state}: camera {self.camera_state}, {self.fps:.1f} fps, {self.frames_processed} frames"
            f" ({self.frames_dropped} dropped), {self.crossings} crossings, {self.violations} violations"
            + switches
        )
