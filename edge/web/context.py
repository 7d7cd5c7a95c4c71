"""What the web UI needs from whoever hosts it: the live service or ``crossguard ui``.

The UI never builds pipelines or devices itself; the host hands it callables. Anything
optional that is None switches its pages to a "not available on this box" notice.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

from edge.config.site import SiteConfig


class DeviceHub(Protocol):
    """The part of the actuator hub the device-test page uses."""

    @property
    def device_names(self) -> list[str]: ...

    def test(self, device: str | None = None) -> list[Any]: ...

    def virtual_board_texts(self) -> dict[str, str]: ...

    def health(self) -> dict[str, Any]: ...  # device name → actuators.base.DeviceHealth


@dataclass(frozen=True)
class SourceView:
    """One signal source's health as the dashboard shows it."""

    name: str
    health: str  # ok, degraded, down
    detail: str = ""


@dataclass(frozen=True)
class GroupSignal:
    """A signal group now: the state the box sees, since when (UTC), and the sources feeding it."""

    group: str
    state: str
    since_utc: float | None  # None: since before the box's signal history begins
    reason: str
    sources: list[SourceView] = field(default_factory=list)


@dataclass(frozen=True)
class DeviceView:
    """One warning device (speaker, LED board) and its health."""

    name: str
    type: str
    state: str  # ok, degraded, down
    detail: str = ""


@dataclass(frozen=True)
class StorageView:
    """The disk holding the evidence (or the state folder): alarm when free space is below the floor."""

    free_bytes: int
    used_fraction: float
    min_free_bytes: int

    @property
    def alarm(self) -> bool:
        return self.free_bytes < self.min_free_bytes


@dataclass(frozen=True)
class LiveReadings:
    """What only a running pipeline knows, beyond its status report; read at each dashboard request."""

    signals: dict[str, GroupSignal]  # by signal group
    inference_ms: float | None  # mean detector time per frame since start
    devices: list[DeviceView] = field(default_factory=list)
    outbox_depth: int | None = None  # MQTT reports waiting to be sent; None without MQTT
    storage: StorageView | None = None


@dataclass
class WebContext:
    """The host's side of the UI.

    Attributes:
        site_path: The site YAML file the zone editor reads and rewrites.
        users_db: SQLite file of accounts and sessions.
        snapshot: Latest annotated JPEG of the live picture, or None before the first frame.
        status: Current status (a dict or a dataclass) for the dashboard.
        apply_site: Hands a freshly saved site config to the running pipeline; raises on failure.
        evidence_root: Evidence folder for the review pages; None hides them.
        evidence_public_key: The device's Ed25519 public key (PEM) for integrity checks and export
            bundles; default ``keys/device_ed25519.pub`` under ``evidence_root``.
        raw_snapshot: Latest clean JPEG (no drawing) for the zone editor; falls back to ``snapshot``.
        devices: The actuator hub (``actuators.hub.ActuatorHub``) for device tests and LED board
            texts; None hides them.
        history_dir: Where saved site versions are kept; default ``site-history`` beside ``users_db``.
        https: True when the host serves the UI over TLS: cookies then carry ``Secure``.
        live: The running pipeline's signal states and device, MQTT and storage health for the
            dashboard; None when no pipeline is attached (``crossguard ui``).
        journal_dir: The event journal folder (``<data_dir>/events``) today's counts are read from;
            None or missing: no counts.
        cameras: The site's camera ids when it has several: ``snapshot``, ``raw_snapshot`` and
            ``live`` then take the camera id (None: the first); empty: one camera, called without.
        announcements: The spoken-announcement desk (``edge.announce.AnnouncementDesk``); None hides the form.
    """

    site_path: Path
    users_db: Path
    snapshot: Callable[[], bytes | None] = lambda: None
    status: Callable[[], Any] = lambda: {}
    apply_site: Callable[[SiteConfig], None] = lambda site: None
    evidence_root: Path | None = None
    evidence_public_key: Path | None = None
    raw_snapshot: Callable[[], bytes | None] | None = None
    devices: DeviceHub | None = None
    history_dir: Path | None = None
    https: bool = False
    live: Callable[[], LiveReadings] | None = None
    journal_dir: Path | None = None
    cameras: list[str] = dataclasses.field(default_factory=list)
    announcements: Any | None = None

    def for_camera(self, camera: str | None) -> str | None:
        """The camera a page asked for (``?camera=``), checked: None on a one-camera site or when not asked."""
        if camera is None or not self.cameras:
            return None
        if camera not in self.cameras:
            raise KeyError(f"no camera '{camera}'; cameras are {', '.join(self.cameras)}")
        return camera

    def picture(self, camera: str | None, raw: bool = False) -> bytes | None:
        """The latest picture of ``camera`` (checked with ``for_camera``): annotated, or clean for ``raw``."""
        source = (self.raw_snapshot or self.snapshot) if raw else self.snapshot
        chosen = self.for_camera(camera)
        return source() if chosen is None else source(chosen)  # type: ignore[call-arg]

    def site_history_dir(self) -> Path:
        """This site file's own history: keyed by the site's id and the file's resolved path, so two
        files both named ``site.yaml`` (or two sites sharing an accounts database) never share one."""
        if self.history_dir is not None:
            return self.history_dir
        resolved = str(self.site_path.resolve())
        key = hashlib.sha256(resolved.encode()).hexdigest()[:12]
        return self.users_db.parent / "site-history" / f"{_site_id(self.site_path)}-{key}"

    def status_dict(self) -> dict[str, Any]:
        """The host's status as plain JSON-ready data, whichever shape the host returns."""
        raw = self.status()
        if dataclasses.is_dataclass(raw) and not isinstance(raw, type):
            raw = dataclasses.asdict(raw)
        return jsonable(raw) if isinstance(raw, Mapping) else {"status": jsonable(raw)}


def _site_id(site_path: Path) -> str:
    """``site.id`` of the file, for naming its history; ``site`` when the file cannot say (yet)."""
    from edge.web.site_file import site_data

    try:
        ident = str((site_data(site_path.read_text(encoding="utf-8")).get("site") or {}).get("id") or "")
    except Exception:  # an unreadable file still gets a history; its path keeps it apart
        ident = ""
    return ident if ident.replace("-", "").replace("_", "").replace(".", "").isalnum() else "site"


def jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    if isinstance(value, Enum):  # before str: a str-valued enum would otherwise pass as itself
        return jsonable(value.value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
