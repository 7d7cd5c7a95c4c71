"""The per-event manifest: what was stored, why, by which device and software, chained and signed."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from typing import Any
from zoneinfo import ZoneInfo

from edge.events import CrossingEvent
from edge.signal.types import SignalChange

FORMAT = "crossguard-evidence/1"
MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.sig"  # raw 64-byte Ed25519 signature over the exact bytes of manifest.json


def software_version() -> str:
    try:
        return metadata.version("crossguard")
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class DeviceContext:
    """Everything about the device and its configuration that goes into every manifest."""

    site_id: str
    site_name: str
    location: str
    timezone: str
    device_id: str
    config_sha256: str
    model_id: str
    model_sha256: str | None
    software_version: str
    public_key_sha256: str

    def site_dict(self) -> dict[str, Any]:
        return {
            "id": self.site_id,
            "name": self.site_name,
            "location": self.location,
            "timezone": self.timezone,
            "device_id": self.device_id,
            "config_sha256": self.config_sha256,
        }


def local_time(utc: float, tz_name: str) -> str:
    """'2026-11-23 17:02:03.456 +08:00 (Asia/Shanghai)': milliseconds and the site's zone."""
    dt = datetime.fromtimestamp(utc, tz=timezone.utc).astimezone(ZoneInfo(tz_name))
    offset = dt.strftime("%z")
    return f"{dt:%Y-%m-%d %H:%M:%S}.{dt.microsecond // 1000:03d} {offset[:3]}:{offset[3:]} ({tz_name})"


def utc_iso(utc: float) -> str:
    dt = datetime.fromtimestamp(utc, tz=timezone.utc)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{dt.microsecond // 1000:03d}Z"


def signal_history(changes: list[SignalChange]) -> list[dict[str, Any]]:
    return [
        {"t": round(c.t, 3), "group": c.group, "state": c.state.value, "source": c.source, "reason": c.reason}
        for c in sorted(changes, key=lambda c: c.t)
    ]


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """Canonical bytes: sorted keys, fixed separators, UTF-8 — the exact bytes that are hashed and signed."""
    return (json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_manifest(
    *,
    sequence: int,
    previous_sha256: str,
    folder: str,
    event: CrossingEvent,
    device: DeviceContext,
    files: list[dict[str, Any]],
    details: dict[str, Any],
    changes: list[SignalChange],
    clock: dict[str, Any],
    created_utc: float,
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "sequence": sequence,
        "previous_manifest_sha256": previous_sha256,
        "folder": folder,
        "created_utc": utc_iso(created_utc),
        "event": event.to_dict(),
        "entry_time_local": local_time(event.entry_utc, device.timezone),
        "site": device.site_dict(),
        "model": {"id": device.model_id, "sha256": device.model_sha256},
        "software": {"name": "crossguard", "version": device.software_version},
        "clock": clock,
        "signal_history": signal_history(changes),
        "signer": {"algorithm": "Ed25519", "public_key_sha256": device.public_key_sha256},
        "files": files,
        **details,
    }
