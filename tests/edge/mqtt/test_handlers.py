"""The command handlers a live box registers: checked bodies, resulting state, answers in schema.

Over a real broker and a running service: tests/edge/service/test_commands.py.
"""

from __future__ import annotations

import json
import threading

import pytest

from actuators.emulators.http_board import HttpBoardEmulator
from actuators.hub import ActuatorHub
from edge.config.actuators import ActuatorsConfig
from edge.mqtt.commands import CommandRouter, CommandVerifier
from edge.mqtt.handlers import OperatorCommands
from edge.mqtt.payloads import command_state_payload
from edge.mqtt.schemas import problems
from edge.operator import OPERATOR_FILE, OperatorControls
from tests.edge.mqtt.builders import CAMERA_ID, COMMAND_KEY, SITE_ID, signed_command

BASE = f"crossguard/{SITE_ID}/{CAMERA_ID}"


class Router:
    """The reporter's command table without a broker: what ``register`` fills in; commands signed by the centre."""

    def __init__(self) -> None:
        self.router = CommandRouter(CommandVerifier(COMMAND_KEY.encode(), BASE))

    def on_command(self, name, handler) -> None:  # type: ignore[no-untyped-def]
        self.router.register(name, handler)

    def send(self, name: str, raw: bytes) -> dict:
        answer = self.router.handle(name, signed_command(name, json.loads(raw)))
        payload = command_state_payload(answer.command, answer.result, 0.0, answer.request_id)
        assert problems("command_state", payload) == [], payload
        return payload


@pytest.fixture
def board():
    emulator = HttpBoardEmulator()
    yield emulator
    emulator.stop()


@pytest.fixture
def box(tmp_path, board):
    devices = [{"name": "gw", "type": "http_board", "url": board.url, "timeout_s": 0.5, "command_ttl_s": 1}]
    hub = ActuatorHub(ActuatorsConfig.model_validate({"devices": devices}))
    controls = OperatorControls(tmp_path / OPERATOR_FILE, hub)
    router = Router()
    OperatorCommands(controls, hub, apply_wait_s=0.1).register(router)
    yield router, controls, hub
    hub.close()


@pytest.mark.parametrize(
    ("name", "raw", "error"),
    [
        ("enforcement", b'{"enabled": "no"}', "'enabled' must be true or false; got 'no'"),
        ("enforcement", b"{}", "'enabled' must be true or false; got None"),
        ("enforcement", b'{"enabled": false, "muted": true}', "unknown key(s) muted; this command takes: enabled, by"),
        ("enforcement", b'{"enabled": false, "by": ""}', "'by' must be a non-empty string"),
        ("mute", b'{"muted": 1}', "'muted' must be true or false; got 1"),
        ("mute", b'{"muted": true, "by": "' + b"x" * 65 + b'"}', "at most 64 characters"),
        ("test", b'{"target": "lamp"}', "'target' must be one of led, speaker, lights, controller, all; got 'lamp'"),
        ("test", b'{"target": ["led"]}', "'target' must be one of led, speaker, lights, controller, all; got ['led']"),
        ("test", b'{"target": "led", "device": "gw"}', "unknown key(s) device"),
    ],
)
def test_bad_bodies_are_refused_with_the_reason_and_change_nothing(box, name, raw, error) -> None:
    router, controls, hub = box
    answer = router.send(name, raw)
    assert answer["ok"] is False and error in answer["error"] and answer["state"] == {}
    assert controls.state.enforcement.enabled and not hub.muted


class FrameLoop:
    """The service's side: ``apply`` on every frame (every 10 ms), into SuspendableSignals' switch calls."""

    def __init__(self, controls: OperatorControls) -> None:
        self.controls = controls
        self.calls: list[tuple[str, float]] = []
        self.t = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def switch_on(self, t: float) -> None:
        self.calls.append(("on", t))

    def switch_off(self, t: float, by: str) -> bool:
        self.calls.append((f"off by {by}", t))
        return True

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.t += 0.1
            self.controls.apply(self, self.t)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def test_enforcement_answer_says_whether_a_frame_has_applied_it(tmp_path) -> None:
    controls = OperatorControls(tmp_path / OPERATOR_FILE)
    router = Router()
    OperatorCommands(controls, None, apply_wait_s=0.05).register(router)
    answer = router.send("enforcement", b'{"enabled": false, "by": "j.smith", "request_id": "r1"}')
    assert answer["ok"] and answer["request_id"] == "r1"
    state = answer["state"]
    assert (state["enabled"], state["by"], state["applied"], state["persisted"]) == (
        False, "j.smith via mqtt", False, True)  # fmt: skip  # no frame came: not yet in force
    assert state["since"].endswith("Z") and controls.state.enforcement_pending

    router = Router()
    OperatorCommands(controls, None, apply_wait_s=10).register(router)
    frames = FrameLoop(controls)
    try:
        answer = router.send("enforcement", b'{"enabled": true}')
    finally:
        frames.stop()
    assert answer["state"]["enabled"] is True and answer["state"]["applied"] is True
    # The pending switch-off may or may not meet a frame before the switch-on arrives; on is last.
    assert frames.calls[-1][0] == "on" and len(frames.calls) <= 2
    assert not controls.state.enforcement_pending


def test_mute_and_test_answer_with_the_resulting_state(box, board) -> None:
    router, controls, hub = box
    answer = router.send("mute", b'{"muted": true}')
    assert answer["ok"] and answer["state"]["muted"] is True and answer["state"]["speakers"] == []
    assert hub.muted and controls.state.mute.by == "mqtt"

    answer = router.send("test", b'{"target": "led"}')
    assert answer["ok"], answer
    (result,) = answer["state"]["results"]
    assert (result["device"], result["type"], result["success"]) == ("gw", "http_board", True)
    assert board.messages[-1]["kind"] == "test"

    answer = router.send("test", b'{"target": "speaker"}')
    assert not answer["ok"] and answer["error"] == "no enabled speaker on this box"


def test_a_failing_device_fails_the_test_and_is_named(tmp_path) -> None:
    devices = [{"name": "dead", "type": "http_board", "url": "http://127.0.0.1:9/board", "command_ttl_s": 0.3}]
    hub = ActuatorHub(ActuatorsConfig.model_validate({"devices": devices}))
    router = Router()
    OperatorCommands(OperatorControls(tmp_path / OPERATOR_FILE, hub), hub).register(router)
    try:
        answer = router.send("test", b'{"target": "all"}')
    finally:
        hub.close()
    assert not answer["ok"] and answer["error"].startswith("test failed on dead: ")
    assert answer["state"]["results"][0]["success"] is False


def test_a_box_without_outputs_still_takes_the_switches(tmp_path) -> None:
    router = Router()
    controls = OperatorControls(tmp_path / OPERATOR_FILE)
    OperatorCommands(controls, None).register(router)
    assert router.send("mute", b'{"muted": true}')["state"]["muted"] is True and controls.state.mute.muted
    answer = router.send("test", b'{"target": "all"}')
    assert not answer["ok"] and answer["error"] == "no enabled output device on this box"
