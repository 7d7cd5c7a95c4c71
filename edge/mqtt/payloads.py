"""What the box sends to the traffic centre: typed records and their versioned JSON payloads.

Every payload carries ``schema`` (``crossguard.<kind>.v<N>``); the matching JSON Schema is
``edge/mqtt/schemas/<kind>.json``. Times are UTC ISO 8601 with milliseconds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any

from edge.events import CrossingEvent
from edge.operator import OperatorState
from edge.signal.types import SignalChange, SignalState

EVENT_SCHEMA = "crossguard.event.v1"
STATUS_SCHEMA = "crossguard.status.v1"
SIGNAL_SCHEMA = "crossguard.signal.v1"
COMMAND_STATE_SCHEMA = "crossguard.command_state.v1"
EVIDENCE_SCHEMA = "crossguard.evidence.v1"


def iso_utc(epoch_s: float) -> str:
    """``2026-11-23T16:47:36.123Z``: UTC with milliseconds, the one time format on the wire."""
    return (
        datetime.fromtimestamp(epoch_s, timezone.utc)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def dumps(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


class EvidenceKind(str, Enum):
    CLIP = "clip"
    SNAPSHOT = "snapshot"
    SHEET = "sheet"
    MANIFEST = "manifest"
    OTHER = "other"


@dataclass(frozen=True)
class EvidenceFile:
    """One evidence file kept on the box; the centre fetches it through the box's API by ``path``."""

    path: str  # relative to the box's evidence folder, '/'-separated
    sha256: str
    size: int
    kind: EvidenceKind = EvidenceKind.OTHER

    def __post_init__(self) -> None:
        # Checked here, at the source: the centre rejects an event whose file list breaks the schema.
        parts = self.path.split("/")
        if not self.path or self.path.startswith("/") or "\\" in self.path or ".." in parts:
            raise ValueError(f"evidence path '{self.path}' must be relative, '/'-separated, without '..'")
        if len(self.sha256) != 64 or any(c not in "0123456789abcdef" for c in self.sha256):
            raise ValueError(f"evidence sha256 for '{self.path}' must be 64 lower-case hex digits")
        if self.size < 0:
            raise ValueError(f"evidence size for '{self.path}' is negative")
        object.__setattr__(self, "kind", EvidenceKind(self.kind))

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "size": self.size,
            "kind": self.kind.value,
        }


@dataclass(frozen=True)
class ChainHead:
    """The box's evidence chain just after one manifest: its sequence number and SHA-256.

    Sent in each violation's evidence message (``sequence``, ``manifest_sha256``) so the chain head
    is also known outside the box: the centre keeps the newest per box, and ``crossguard evidence
    verify`` compares it with the folder (a deleted tail leaves no gap inside the folder itself)."""

    seq: int
    manifest_sha256: str

    @classmethod
    def parse(cls, text: str) -> ChainHead:
        """``SEQ:SHA256`` (as ``evidence verify --expect-head`` takes it); ValueError naming the problem."""
        match = re.fullmatch(r"(\d+):([0-9a-f]{64})", text.strip().lower())
        if match is None or int(match[1]) < 1:
            raise ValueError(f"chain head '{text}' is not SEQ:SHA256 (a sequence from 1 and 64 hex digits)")
        return cls(int(match[1]), match[2])

    def __str__(self) -> str:
        return f"{self.seq}:{self.manifest_sha256}"


@dataclass(frozen=True)
class ComponentHealth:
    """Health of one signal source or actuator."""

    name: str
    ok: bool
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True)
class StatusReport:
    """The box's periodic health report; published retained, so the centre always sees the latest."""

    utc: float
    fps: float
    inference_ms: float
    frames_dropped: int
    signal_states: Mapping[str, SignalState] = field(default_factory=dict)  # signal group -> state
    signal_sources: Sequence[ComponentHealth] = ()
    actuators: Sequence[ComponentHealth] = ()
    storage_free_bytes: int | None = None
    storage_used_fraction: float | None = None
    clock_offset_s: float | None = None  # local clock minus reference (NTP/PTP); None when unknown
    enforcement_enabled: bool = True  # False while entries are not enforced, for any reason
    outbox_depth: int | None = None  # filled in by the reporter when None
    operator: OperatorState | None = None  # the operator's switches, with who set them and when
    waiting: Mapping[str, int] = field(default_factory=dict)  # "<crosswalk>/<curb>" → people waiting on DON'T WALK


@dataclass(frozen=True)
class CommandResult:
    """What a command handler answers; published on the command's ``state`` topic."""

    ok: bool
    state: Mapping[str, Any] = field(default_factory=dict)
    error: str = ""


@dataclass(frozen=True)
class Origin:
    """Who is reporting: the parts of every payload that identify the box."""

    site_id: str
    camera_id: str
    device_id: str


def event_payload(event: CrossingEvent, evidence: Sequence[EvidenceFile], origin: Origin) -> dict[str, Any]:
    """The event as sent; ``historical`` is decided at the first publish attempt (see ``mark_historical``)."""
    return {
        "schema": EVENT_SCHEMA,
        "id": event.event_id,
        "type": event.type.value,
        "site": event.site_id,
        "camera": event.camera_id,
        "device": origin.device_id,
        "crosswalk": event.crosswalk_id,
        "track_id": event.track_id,
        "entry_time": iso_utc(event.entry_utc),
        "decided_time": iso_utc(event.decided_utc),
        "signal": {
            "group": event.signal_group,
            "state": event.signal_state.value,
            "since_dont_walk_s": _round(event.since_dont_walk_s),
        },
        "direction": {"label": event.direction, "from": event.from_curb, "to": event.to_curb},
        "enforced": event.enforced,
        "entry_observed": event.entry_observed,
        "reason": event.reason,
        "score": round(event.score, 3),
        "box": [round(v, 1) for v in event.box],
        "evidence": [f.to_dict() for f in evidence],
        "historical": False,
    }


@dataclass(frozen=True)
class EvidenceReport:
    """A violation's evidence outcome, sent after the violation itself: its files, or why there are none."""

    event_id: str
    utc: float  # when the outcome became known
    files: Sequence[EvidenceFile] = ()
    manifest_sha256: str | None = None
    sequence: int | None = None  # the manifest's place in the box's evidence chain
    lost_reason: str = ""  # set when no evidence exists for the violation

    @property
    def lost(self) -> bool:
        return bool(self.lost_reason)


def evidence_payload(report: EvidenceReport, origin: Origin) -> dict[str, Any]:
    return {
        "schema": EVIDENCE_SCHEMA,
        "event_id": report.event_id,
        "site": origin.site_id,
        "camera": origin.camera_id,
        "device": origin.device_id,
        "status": "lost" if report.lost else "recorded",
        "reason": report.lost_reason,
        "time": iso_utc(report.utc),
        "files": [f.to_dict() for f in report.files],
        "manifest_sha256": report.manifest_sha256,
        "sequence": report.sequence,
    }


def mark_historical(payload_json: str) -> str:
    """The same event payload with ``historical: true``."""
    payload = json.loads(payload_json)
    payload["historical"] = True
    return dumps(payload)


def status_payload(report: StatusReport, origin: Origin, outbox_depth: int) -> dict[str, Any]:
    depth = report.outbox_depth if report.outbox_depth is not None else outbox_depth
    return {
        "schema": STATUS_SCHEMA,
        "site": origin.site_id,
        "camera": origin.camera_id,
        "device": origin.device_id,
        "time": iso_utc(report.utc),
        "fps": round(report.fps, 2),
        "inference_ms": round(report.inference_ms, 2),
        "frames_dropped": report.frames_dropped,
        "signal": {
            "states": {group: SignalState(s).value for group, s in sorted(report.signal_states.items())},
            "sources": [h.to_dict() for h in report.signal_sources],
        },
        "actuators": [h.to_dict() for h in report.actuators],
        "storage": {
            "free_bytes": report.storage_free_bytes,
            "used_fraction": _round(report.storage_used_fraction),
        },
        "outbox_depth": depth,
        "clock_offset_s": _round(report.clock_offset_s),
        "enforcement_enabled": report.enforcement_enabled,
        **({"operator": operator_payload(report.operator)} if report.operator is not None else {}),
        **({"waiting": dict(sorted(report.waiting.items()))} if report.waiting else {}),
    }


def operator_payload(state: OperatorState) -> dict[str, Any]:
    """The operator's switches as the status reports them; ``by``/``since`` are null until first changed."""
    enforcement, mute = state.enforcement, state.mute
    return {
        "enforcement": {"enabled": enforcement.enabled, **_who(enforcement.by, enforcement.utc),
                        "pending": state.enforcement_pending},
        "mute": {"muted": mute.muted, **_who(mute.by, mute.utc)},
    }  # fmt: skip


def _who(by: str, utc: float | None) -> dict[str, Any]:
    return {"by": by or None, "since": iso_utc(utc) if utc is not None else None}


def signal_payload(change: SignalChange, utc: float, origin: Origin) -> dict[str, Any]:
    return {
        "schema": SIGNAL_SCHEMA,
        "site": origin.site_id,
        "camera": origin.camera_id,
        "group": change.group,
        "state": change.state.value,
        "time": iso_utc(utc),
        "source": change.source,
        "reason": change.reason,
    }


def command_state_payload(
    command: str, result: CommandResult, utc: float, request_id: str | None = None
) -> dict[str, Any]:
    return {
        "schema": COMMAND_STATE_SCHEMA,
        "command": command,
        "ok": result.ok,
        "state": dict(result.state),
        "error": result.error,
        "request_id": request_id,
        "time": iso_utc(utc),
    }


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)
