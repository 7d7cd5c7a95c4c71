"""Device-test page and API driving the real actuator hub against the HTTP board emulator on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from actuators.emulators.http_board import HttpBoardEmulator
from actuators.hub import ActuatorHub
from edge.config.actuators import ActuatorsConfig
from edge.users import Role
from tests.actuators.conftest import FAST, wait_for
from tests.edge.web.conftest import ARTIFACTS, Server, login_page


@pytest.fixture
def board() -> Iterator[HttpBoardEmulator]:
    emulator = HttpBoardEmulator()
    yield emulator
    emulator.stop()


@pytest.fixture
def hub(board: HttpBoardEmulator) -> Iterator[ActuatorHub]:
    config = ActuatorsConfig.model_validate(
        {"devices": [{**FAST, "name": "north", "type": "http_board", "url": board.url}], "cooldown_s": 0}
    )
    hub = ActuatorHub(config, "UTC")
    yield hub
    hub.close()


def test_without_actuators_the_api_says_so(server: Server) -> None:
    with server.login(Role.OPERATOR) as client:
        r = client.post("/api/devices/test", json={"device": "north"})
        assert r.status_code == 503 and "no actuators" in r.json()["detail"]
        assert client.get("/api/boards").json() == {"available": False, "boards": {}, "health": {}}


def test_device_test_reaches_the_board(server: Server, hub: ActuatorHub, board: HttpBoardEmulator) -> None:
    server.context.devices = hub
    with server.login(Role.OPERATOR) as client:
        assert client.get("/api/devices").json()["devices"] == ["north"]
        r = client.post("/api/devices/test", json={"device": "north"})
        assert r.status_code == 200, r.text
        (result,) = r.json()
        assert result["device"] == "north" and result["success"] is True and result["latency_s"] > 0
        assert client.post("/api/devices/test", json={"device": "siren"}).status_code == 404
        assert "north" in client.get("/devices").text
    wait_for(lambda: board.messages, what="the test message on the board")
    with server.login(Role.VIEWER) as viewer:
        boards = viewer.get("/api/boards").json()
        assert boards["available"] is True and "north" in boards["boards"]
        assert viewer.post("/api/devices/test", json={}).status_code == 403


def test_a_dead_board_is_reported_as_failed(server: Server, hub: ActuatorHub, board: HttpBoardEmulator) -> None:
    board.stop()
    server.context.devices = hub
    with server.login(Role.OPERATOR) as client:
        (result,) = client.post("/api/devices/test", json={"device": "north"}).json()
    assert result["success"] is False and result["detail"]


def test_device_test_button_in_the_browser(browser, server: Server, hub: ActuatorHub) -> None:  # type: ignore[no-untyped-def]
    server.context.devices = hub
    page = login_page(browser, server, "operator", "/devices")
    page.click("button[data-device=north]")
    page.wait_for_function("() => document.getElementById('result-north').textContent.startsWith('ok in ')")
    page.screenshot(path=ARTIFACTS / "devices.png")
    page.close()


def test_a_board_that_is_down_is_down_everywhere(server: Server, hub: ActuatorHub, board: HttpBoardEmulator) -> None:
    """The outputs line, the device list and the live view agree: a board that is down shows no text."""
    from edge.observers import WarningObserver

    server.context.devices = hub
    with server.login(Role.OPERATOR) as client:
        assert client.post("/api/devices/test", json={"device": "north"}).json()[0]["success"] is True
        wait_for(lambda: hub.virtual_board_texts()["north"], what="the board's text")
        board.stop()
        assert client.post("/api/devices/test", json={"device": "north"}).json()[0]["success"] is False
    assert hub.health()["north"].state.value == "down"
    health = WarningObserver(hub).health()
    assert health.ok is False and "devices down: north" in health.detail
    with server.login(Role.VIEWER) as viewer:
        boards = viewer.get("/api/boards").json()
        assert boards["boards"] == {"north": ""} and boards["health"]["north"]["state"] == "down"
        live = viewer.get("/live").text
        assert "health-down" in live and 'class="board"' not in live


def test_dashboard_outputs_agree_with_the_device_list(server: Server) -> None:
    """A status report claiming the actuators are fine does not outvote the devices' own health."""
    from tests.edge.web.conftest import service_status

    def status() -> dict[str, object]:
        report = service_status()
        report["adapters"] = {**report["adapters"], "actuators": {"ok": True, "detail": "2 device(s) ok"}}  # type: ignore[dict-item]
        return report

    server.context.status = status
    with server.login(Role.VIEWER) as viewer:
        box = viewer.get("/api/dashboard").json()["box"]
    actuators = next(o for o in box["outputs"] if o["name"] == "actuators")
    assert actuators == {"name": "actuators", "ok": False, "detail": "devices down: sign"}
    assert {d["name"]: d["state"] for d in box["devices"]}["sign"] == "down"
