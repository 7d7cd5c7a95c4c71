"""Only the centre commands a box: signed, fresh, never replayed; hostile command payloads are answered.

A real mosquitto, a real reporter with the live service's handlers and operator switches; the
attacker is a plain MQTT client on the same broker.
"""

from __future__ import annotations

import json
import logging
import threading
import time

import pytest

from edge.mqtt.commands import CommandVerifier
from edge.mqtt.handlers import OperatorCommands
from edge.mqtt.reporter import Reporter
from edge.mqtt.schemas import problems
from edge.operator import OPERATOR_FILE, OperatorControls
from tests.edge.mqtt.builders import (
    CAMERA_ID,
    COMMAND_KEY,
    SITE_ID,
    Recorder,
    signed_command,
    site_config,
    wait_for,
)
from tests.mosquitto import Mosquitto

BASE = f"crossguard/{SITE_ID}/{CAMERA_ID}"
KEY_ENV = "CG_TEST_COMMAND_KEY"


class Box:
    """A reporter with the live handlers, and the centre's (or an attacker's) client on the same broker."""

    def __init__(self, broker: Mosquitto, tmp_path, **mqtt) -> None:  # type: ignore[no-untyped-def]
        self.controls = OperatorControls(tmp_path / OPERATOR_FILE)
        self.reporter = Reporter.from_config(site_config(broker, **mqtt), tmp_path)
        OperatorCommands(self.controls, None, apply_wait_s=0.05).register(self.reporter)
        self.reporter.start()
        assert self.reporter.link.wait_connected(10), self.reporter.last_error
        self.wire = Recorder(broker, f"{BASE}/#")

    def send(self, name: str, payload: bytes) -> dict:
        """Publish on ``…/<name>/set`` and return the box's answer to it (the next one on ``…/state``)."""
        before = len(self.wire.payloads(f"/{name}/state"))
        self.wire.publish(f"{BASE}/{name}/set", payload)
        assert wait_for(lambda: len(self.wire.payloads(f"/{name}/state")) > before, timeout=10), "no answer"
        return self.wire.json(f"/{name}/state")[before]

    def close(self) -> None:
        self.wire.close()
        self.reporter.stop()


@pytest.fixture
def box(mosquitto, tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, COMMAND_KEY)
    box = Box(mosquitto, tmp_path, command_key_env=KEY_ENV)
    yield box
    box.close()


def test_anyone_but_the_centre_is_refused_and_a_captured_command_cannot_be_replayed(box, tmp_path):
    forged = [
        (json.dumps({"enabled": False, "by": "anyone"}).encode(), "unsigned command"),
        (signed_command("enforcement", {"enabled": False}, key="a-guessed-key-long-enough-0000000"), "bad signature"),
        # the centre's own signature, for another box and for another command, moved here
        (signed_command("enforcement", {"enabled": False}, base=f"crossguard/other-site/{CAMERA_ID}"), "bad signature"),
        (signed_command("mute", {"enabled": False}), "bad signature"),
        (signed_command("enforcement", {"enabled": False}, now=time.time() - 3600), "accepted within"),
    ]
    for payload, error in forged:
        answer = box.send("enforcement", payload)
        assert answer["ok"] is False and error in answer["error"], answer
    assert box.controls.state.enforcement.enabled and not (tmp_path / OPERATOR_FILE).exists()

    captured = signed_command("enforcement", {"enabled": False, "by": "road works"})
    assert problems("command", json.loads(captured)) == []
    assert box.send("enforcement", captured)["ok"]
    assert not box.controls.state.enforcement.enabled
    assert box.send("enforcement", signed_command("enforcement", {"enabled": True}))["state"]["enabled"] is True

    replayed = box.send("enforcement", captured)
    assert replayed["ok"] is False and "replayed command" in replayed["error"]
    assert box.controls.state.enforcement.enabled
    assert json.loads((tmp_path / OPERATOR_FILE).read_text())["enforcement"]["enabled"] is True


def test_a_restarted_box_refuses_a_command_captured_before_it_started() -> None:
    clock = [1_000.0]
    before = CommandVerifier(COMMAND_KEY.encode(), BASE, clock=lambda: clock[0])
    captured = json.loads(signed_command("enforcement", {"enabled": False}, now=1_010.0))
    clock[0] = 1_010.0
    assert before.check("enforcement", dict(captured)) == ""
    assert "replayed" in before.check("enforcement", dict(captured))
    clock[0] = 1_020.0  # the box restarts: its nonces are gone
    after = CommandVerifier(COMMAND_KEY.encode(), BASE, clock=lambda: clock[0])
    assert "before this box started" in after.check("enforcement", dict(captured))
    fresh = json.loads(signed_command("enforcement", {"enabled": False}, now=1_021.0))
    clock[0] = 1_021.0
    assert after.check("enforcement", fresh) == ""


def test_a_box_without_a_command_key_refuses_every_command(mosquitto, tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    box = Box(mosquitto, tmp_path)
    try:
        answer = box.send("enforcement", signed_command("enforcement", {"enabled": False}))
    finally:
        box.close()
    assert answer["ok"] is False and "no command key configured" in answer["error"]
    assert box.controls.state.enforcement.enabled
    assert "every command from the centre will be refused: no command key configured" in caplog.text


def test_hostile_command_payloads_are_answered_and_logged_on_one_line(box, caplog):
    caplog.set_level(logging.INFO)
    nested = b"[" * 2000 + b"]" * 2000  # fits the 4 KiB command limit; json.loads alone would recurse out
    assert "nested deeper" in box.send("enforcement", nested)["error"]
    assert "too large" in box.send("enforcement", b"[" * 100_000 + b"]" * 100_000)["error"]
    # mosquitto drops topics with C0 controls; a Unicode line separator gets through to the box
    assert "unknown command" in box.send("reboot\u2028ERROR forged line", b"{}")["error"]

    by = "crew\nERROR enforcement switched ON by mayor"
    answer = box.send("enforcement", signed_command("enforcement", {"enabled": False, "by": by}))
    assert answer["ok"] and "\n" not in answer["state"]["by"]
    assert box.controls.state.enforcement.by == "crew\\nERROR enforcement switched ON by mayor via mqtt"
    assert all("\n" not in r.getMessage() and "\u2028" not in r.getMessage() for r in caplog.records)
    assert box.send("enforcement", signed_command("enforcement", {"enabled": True}))["ok"]  # still served


def test_crossguard_command_signs_sends_and_prints_the_answer(box, mosquitto, capsys, tmp_path):
    from edge.cli import CommandError, main

    broker = ["--broker", mosquitto.url, "--command-key-env", KEY_ENV]
    assert main(["command", f"{SITE_ID}/{CAMERA_ID}", "enforcement", "off", "--by", "road works", *broker]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["ok"] and answer["state"]["by"] == "road works via mqtt"
    assert not box.controls.state.enforcement.enabled

    key_file = tmp_path / "wrong.key"
    key_file.write_text("not-the-box-key-but-long-enough-0123456789\n")
    wrong = ["--broker", mosquitto.url, "--command-key-file", str(key_file)]
    assert main(["command", f"{SITE_ID}/{CAMERA_ID}", "enforcement", "on", *wrong]) == 1
    assert "bad signature" in json.loads(capsys.readouterr().out)["error"]
    assert not box.controls.state.enforcement.enabled

    assert main(["command", f"{SITE_ID}/{CAMERA_ID}", "enforcement", "maybe", *broker]) == 2
    assert "enforcement takes one of on, off" in capsys.readouterr().err
    with pytest.raises(CommandError, match="no answer from crossguard/ghost/cam1"):
        from edge.commands import command

        command.exchange(command.broker_from_args(_args(mosquitto)), command.Topics("crossguard", "ghost", "cam1"),
                         "mute", {"request_id": "r"}, timeout=1)  # fmt: skip


def _args(broker: Mosquitto):  # type: ignore[no-untyped-def]
    import argparse

    return argparse.Namespace(broker=broker.url, client_id="t", protocol="5", ca=None, cert=None, key=None)


def test_a_command_flood_is_dropped_beyond_a_bounded_queue_and_the_box_answers_after_it(box, monkeypatch):
    from edge.mqtt.reporter import MAX_PENDING_COMMANDS

    handle, gate = box.reporter.commands.handle, threading.Event()

    def slow_handle(name: str, payload: bytes):  # the worker stuck on the first command of the flood
        gate.wait(30)
        return handle(name, payload)

    monkeypatch.setattr(box.reporter.commands, "handle", slow_handle)
    flood = 100
    for _ in range(flood):
        box.wire.publish(f"{BASE}/enforcement/set", b'{"enabled": false}')
    assert wait_for(lambda: box.reporter.commands_dropped == flood - MAX_PENDING_COMMANDS, timeout=15)
    gate.set()  # what was queued is answered (refused: unsigned); then the centre is heard again
    assert wait_for(lambda: len(box.wire.payloads("/enforcement/state")) == MAX_PENDING_COMMANDS, timeout=15)
    answer = box.send("enforcement", signed_command("enforcement", {"enabled": False, "by": "crew"}))
    assert answer["ok"] and not box.controls.state.enforcement.enabled
