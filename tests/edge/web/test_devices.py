"""Device-test page and API against the hub's interface (test, device_names, virtual_board_texts)."""

from __future__ import annotations

from dataclasses import dataclass, field

from edge.users import Role
from tests.edge.web.conftest import Server


@dataclass
class DeviceResult:
    device: str
    success: bool
    latency_s: float | None
    detail: str


@dataclass
class RecordingHub:
    """Stands in for ``actuators.hub.ActuatorHub`` (another package) at its interface: records the calls."""

    tested: list[str | None] = field(default_factory=list)

    def device_names(self) -> list[str]:
        return ["speaker", "board-north"]

    def test(self, device: str | None = None) -> list[DeviceResult]:
        self.tested.append(device)
        return [DeviceResult(device or "speaker", True, 0.12, "ok")]

    def virtual_board_texts(self) -> dict[str, str]:
        return {"board-north": "DON'T WALK"}


def test_without_actuators_the_api_says_so(server: Server) -> None:
    with server.login(Role.OPERATOR) as client:
        r = client.post("/api/devices/test", json={"device": "speaker"})
        assert r.status_code == 503 and "no actuators" in r.json()["detail"]
        assert client.get("/api/boards").json() == {"available": False, "boards": {}}


def test_device_test_runs_through_the_hub(server: Server) -> None:
    hub = RecordingHub()
    server.context.devices = hub
    with server.login(Role.OPERATOR) as client:
        assert client.get("/api/devices").json()["devices"] == ["speaker", "board-north"]
        r = client.post("/api/devices/test", json={"device": "speaker"})
        assert r.status_code == 200
        assert r.json() == [{"device": "speaker", "success": True, "latency_s": 0.12, "detail": "ok"}]
        assert client.post("/api/devices/test", json={"device": "siren"}).status_code == 404
        assert "speaker" in client.get("/devices").text
    with server.login(Role.VIEWER) as viewer:
        assert viewer.get("/api/boards").json()["boards"] == {"board-north": "DON'T WALK"}
        assert viewer.post("/api/devices/test", json={}).status_code == 403
    assert hub.tested == ["speaker"]
