"""Builders for actuator tests: violations, hubs over loopback emulators, and polling."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from actuators.emulators.alpha_sign import AlphaSignEmulator
from actuators.emulators.http_board import HttpBoardEmulator
from actuators.emulators.snmp_dms import SnmpSignEmulator
from actuators.hub import ActuatorHub
from edge.config.actuators import ActuatorsConfig
from edge.events import CrossingEvent, EventType, event_id
from edge.signal.types import SignalState

# 2026-11-23 10:00:00 UTC = 18:00 in Asia/Shanghai
BASE_UTC = 1795428000.0
FAST = {"timeout_s": 0.5, "backoff_initial_s": 0.05, "backoff_max_s": 0.2, "command_ttl_s": 3.0}


def violation(crosswalk: str = "cw1", utc: float = BASE_UTC, track: int = 1, kind: EventType = EventType.VIOLATION):
    return CrossingEvent(
        event_id=event_id("site1", "cam1", crosswalk, kind, utc - 1.0, track),
        type=kind, site_id="site1", camera_id="cam1", crosswalk_id=crosswalk, signal_group="P1",
        track_id=track, direction="north->south", from_curb="north", to_curb="south",
        entry_frame=10, entry_t=10.0, entry_utc=utc - 1.0, decided_frame=25, decided_t=11.0, decided_utc=utc,
        signal_state=SignalState.DONT_WALK, signal_since_t=0.0, since_dont_walk_s=10.0, enforced=True,
        entry_observed=True, reason="entered on DONT_WALK", foot_point=(100.0, 200.0),
        box=(80, 100, 120, 200), score=0.9,
    )  # fmt: skip


def wait_for(predicate: Callable[[], Any], timeout_s: float = 5.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


@pytest.fixture
def make_hub() -> Iterator[Callable[..., ActuatorHub]]:
    hubs: list[ActuatorHub] = []

    def build(devices: list[dict[str, Any]], timezone: str = "UTC", **section: Any) -> ActuatorHub:
        section.setdefault("cooldown_s", 0)
        config = ActuatorsConfig.model_validate({"devices": [{**FAST, **d} for d in devices], **section})
        hub = ActuatorHub(config, timezone)
        hubs.append(hub)
        return hub

    yield build
    for hub in hubs:
        hub.close()


@pytest.fixture
def alpha_sign() -> Iterator[AlphaSignEmulator]:
    sign = AlphaSignEmulator()
    yield sign
    sign.stop()


@pytest.fixture
def http_board() -> Iterator[HttpBoardEmulator]:
    board = HttpBoardEmulator()
    yield board
    board.stop()


@pytest.fixture
def dms() -> Iterator[SnmpSignEmulator]:
    sign = SnmpSignEmulator()
    yield sign
    sign.stop()


def site_file(folder, actuators: dict[str, Any] | None = None, timezone: str = "UTC"):
    """A minimal valid site file with one crosswalk ``cw1``; JSON is valid YAML."""
    import json

    strip = [[0.2, 0.4], [0.8, 0.4], [0.8, 0.6], [0.2, 0.6]]
    site: dict[str, Any] = {
        "site": {"id": "site1", "name": "Test crossing", "device_id": "box1", "timezone": timezone},
        "crosswalks": [{
            "id": "cw1", "signal_group": "P1", "polygon": strip,
            "curbs": [{"name": "north", "polygon": [[0.2, 0.3], [0.8, 0.3], [0.8, 0.4], [0.2, 0.4]]},
                      {"name": "south", "polygon": [[0.2, 0.6], [0.8, 0.6], [0.8, 0.7], [0.2, 0.7]]}],
        }],
    }  # fmt: skip
    if actuators is not None:
        site["actuators"] = actuators
    path = folder / "site.yaml"
    path.write_text(json.dumps(site, ensure_ascii=False, indent=1), encoding="utf-8")
    return path
