"""MQTT topics: ``<prefix>/<site>/<camera>/<kind>``; ``<name>/set`` commands answered on ``<name>/state``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topics:
    prefix: str
    site_id: str
    camera_id: str

    @property
    def base(self) -> str:
        return f"{self.prefix}/{self.site_id}/{self.camera_id}"

    @property
    def events(self) -> str:
        return f"{self.base}/events"

    @property
    def evidence(self) -> str:
        return f"{self.base}/evidence"

    @property
    def availability(self) -> str:
        return f"{self.base}/availability"

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    @property
    def signal(self) -> str:
        return f"{self.base}/signal"

    @property
    def command_filter(self) -> str:
        """One subscription for every command, so unknown ones can be answered too."""
        return f"{self.base}/+/set"

    def command_set(self, name: str) -> str:
        return f"{self.base}/{name}/set"

    def command_state(self, name: str) -> str:
        return f"{self.base}/{name}/state"

    def command_name(self, topic: str) -> str | None:
        """The command in a ``.../<name>/set`` topic of this box, else None."""
        head, _, rest = topic.partition(self.base + "/")
        if head or not rest.endswith("/set"):
            return None
        name = rest[: -len("/set")]
        return name if name and "/" not in name else None


def collector_filters(prefix: str) -> dict[str, str]:
    """Subscriptions of the centre: every site's and camera's events, evidence, availability and status."""
    return {kind: f"{prefix}/+/+/{kind}" for kind in ("events", "evidence", "availability", "status")}


def split_site_topic(prefix: str, topic: str) -> tuple[str, str, str] | None:
    """``(site, camera, kind)`` of ``<prefix>/<site>/<camera>/<kind>``, else None."""
    if not topic.startswith(prefix + "/"):
        return None
    parts = topic[len(prefix) + 1 :].split("/")
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else None
