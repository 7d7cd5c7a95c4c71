"""The traffic centre's commands on a running box: ``crossguard run`` against a real mosquitto,
an Alpha sign emulator on 127.0.0.1 and a speaker played through ALSA into a file.

The clip loops without pacing; the signal is WALK for the first pass (media t < 13 s) and
DON'T WALK afterwards, so every pass from the second has violations (entries at about 4.4,
4.8, 9.6 and 11.0 s into each pass). Commands sent during the first pass therefore act
before anything could be enforced, whatever the machine's speed.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from actuators import alpha_protocol as ap
from actuators.emulators.alpha_sign import AlphaSignEmulator
from edge.mqtt.schemas import problems
from tests.edge.mqtt.builders import COMMAND_KEY, Recorder, signed_command
from tests.edge.service.sites import start_service, stop_service, write_site
from tests.edge.service.test_run import journal, status
from tests.edge.streams import free_port, wait_until
from tests.mosquitto import Mosquitto

pytestmark = pytest.mark.timeout(150)

PASS_S = 143 / 11.03  # one pass of the clip in media time
TIMELINE = f"t,group,state\n0.0,ped-main,WALK\n{PASS_S:.2f},ped-main,DONT_WALK\n"
BASE = "crossguard/demo-campus-01/cam1"
WARNING = "Red light - step back"
SIGN = {"name": "sign", "type": "alpha", "mode": "hold", "colour": "red", "hold_s": 0, "test_text": "BOARD TEST"}
SYSTEM_ALSA_CONF = Path("/usr/share/alsa/alsa.conf")


def sign_frame(text: str) -> bytes:
    return ap.write_text(text, mode="hold", colour="red")


class Centre:
    """The traffic centre's side: every message under the box's topics, and commands with answers."""

    def __init__(self, broker: Mosquitto) -> None:
        self.wire = Recorder(broker)

    def online(self, timeout: float = 60) -> None:
        wait_until(
            lambda: any(t.endswith("/availability") and p == b"online" for t, p, _ in list(self.wire.messages)),
            timeout,
            what="the box to come online",
        )

    def command(self, name: str, body: dict[str, Any], timeout: float = 20) -> dict[str, Any]:
        """Publish ``name`` and return its answer; re-sent every 2 s, since the box subscribes
        just after announcing itself online (the commands sent this way are idempotent)."""
        request_id = uuid.uuid4().hex
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.wire.publish(f"{BASE}/{name}/set", signed_command(name, {**body, "request_id": request_id}, BASE))
            resend = time.monotonic() + 2
            while time.monotonic() < min(resend, deadline):
                for answer in self.wire.json(f"/{name}/state"):
                    if answer["request_id"] == request_id:
                        assert problems("command_state", answer) == [], answer
                        return answer
                time.sleep(0.05)
        pytest.fail(f"no answer to {name} within {timeout} s")

    def events(self) -> list[dict[str, Any]]:
        return self.wire.json("/events")

    def last_status(self) -> dict[str, Any]:
        statuses = [json.loads(p) for t, p, _ in list(self.wire.messages) if t.endswith("/status")]
        assert statuses and problems("status", statuses[-1]) == []
        return statuses[-1]

    def close(self) -> None:
        self.wire.close()


def box_site(folder: Path, broker: Mosquitto, devices: list[dict[str, Any]], **sections: Any) -> Path:
    actuators = {
        "cooldown_s": 0,
        "tts_cache": str(folder / "tts"),
        "messages": [{"language": "en", "text": WARNING}],
        "devices": devices,
    }
    key_file = folder / "command.key"
    key_file.write_text(COMMAND_KEY + "\n")
    return write_site(
        folder,
        timeline=TIMELINE,
        service={"capture": {"realtime": False, "loop": True}},
        mqtt={
            "enabled": True,
            "host": "127.0.0.1",
            "port": broker.port,
            "fsync": False,
            "command_key_file": str(key_file),
        },
        actuators=actuators,
        **sections,
    )


def alsa_capture(folder: Path) -> tuple[dict[str, str], Path]:
    """Environment under which the default ALSA device writes what is played, raw, into a file."""
    if not SYSTEM_ALSA_CONF.exists():
        pytest.fail(f"{SYSTEM_ALSA_CONF} missing: install alsa-utils/libasound2 (scripts/setup-test-env.sh)")
    captured = folder / "captured.raw"
    conf = folder / "asound.conf"
    conf.write_text(f'pcm.!default {{\n  type file\n  slave.pcm "null"\n  file "{captured}"\n  format "raw"\n}}\n')
    return {"ALSA_CONFIG_PATH": f"{SYSTEM_ALSA_CONF}:{conf}"}, captured


def samples_played(captured: Path) -> int:
    if not captured.exists():
        return 0
    return int(np.count_nonzero(np.fromfile(captured, dtype="<i2")))


def beyond(state: Path, media_t: float) -> list[dict[str, Any]]:
    """The journal once the box has decided an event entered after ``media_t``."""
    events = journal(state) if (state / "events").is_dir() else []
    return events if any(e["entry_t"] > media_t for e in events) else []


def switched_at(log: str, word: str) -> float:
    found = re.search(rf"enforcement switched {word} by .* (?:from|at) t=([0-9.]+)", log)
    assert found, log[-3000:]
    return float(found.group(1))


def test_enforcement_off_reports_crossings_only_survives_a_restart_and_comes_back_on(tmp_path) -> None:
    sign = AlphaSignEmulator()
    state = tmp_path / "state"
    with Mosquitto(tmp_path / "broker") as broker:
        centre = Centre(broker)
        site = box_site(tmp_path, broker, [{**SIGN, "port": sign.port}])
        try:
            # Run 1: switched off during the first pass, then two passes that would have violations.
            port = free_port()
            proc = start_service(site, "--port", str(port))
            centre.online()
            answer = centre.command("enforcement", {"enabled": False, "by": "road works crew"})
            assert answer["ok"] and answer["error"] == ""
            assert answer["state"]["enabled"] is False and answer["state"]["applied"] is True
            assert answer["state"]["by"] == "road works crew via mqtt" and answer["state"]["persisted"] is True
            events = wait_until(lambda: beyond(state, 2 * PASS_S + 9), 90, what="two passes switched off")
            shown = wait_until(lambda: status(port), 10, what="/status")
            assert shown["enforcement_suspended"]
            assert "operator (road works crew via mqtt)" in shown["suspension_reason"]
            assert shown["operator"]["enforcement"]["enabled"] is False and shown["ready"] is True
            wait_until(lambda: centre.last_status().get("operator", {}).get("enforcement", {}).get("enabled") is False,
                       10, what="the MQTT status to show the switch-off")  # fmt: skip
            reported = centre.last_status()
            assert reported["enforcement_enabled"] is False
            assert reported["operator"]["enforcement"]["by"] == "road works crew via mqtt"
            code, _, log = stop_service(proc)
            assert code == 0, log[-2000:]
            off_t = switched_at(log, "OFF")
            assert off_t < PASS_S, "the box took the command too late for this test (after the first pass)"

            later = [e for e in events if e["entry_t"] >= PASS_S]
            assert later and all(e["type"] == "crossing" and not e["enforced"] for e in later)
            assert all("enforcement suspended: operator (road works crew via mqtt)" in e["reason"] for e in later)
            assert not [e for e in events if e["type"] == "violation"]
            wired = centre.events()
            assert {e["id"] for e in wired} >= {e["event_id"] for e in later}  # still reported as crossings
            assert not [e for e in wired if e["type"] == "violation"]
            assert sign.received == bytearray() and sign.connections >= 1  # connected, never written to
            assert not [p for p in (tmp_path / "evidence").glob("2*/*/*/*") if p.is_dir()]
            saved = json.loads((state / "operator.json").read_text())
            assert saved["enforcement"]["enabled"] is False

            # Run 2: the restarted box is still switched off from its first frame; switched on, it enforces.
            (state / "events").rename(tmp_path / "events-run1")
            proc = start_service(site, "--port", str(port))
            wait_until(lambda: beyond(state, PASS_S + 9), 90, what="a DON'T WALK pass after the restart")
            assert not [e for e in journal(state) if e["type"] == "violation"]
            assert sign.received == bytearray()
            answer = centre.command("enforcement", {"enabled": True})
            assert answer["ok"] and answer["state"]["enabled"] is True and answer["state"]["by"] == "mqtt"
            wait_until(lambda: [e for e in journal(state) if e["type"] == "violation"], 60, what="a violation")
            wait_until(lambda: bytes(sign.received).startswith(sign_frame(WARNING)), 10, what="the sign's warning")
            code, _, log = stop_service(proc)
            assert code == 0, log[-2000:]
        finally:
            if proc.poll() is None:
                stop_service(proc)
            centre.close()
            sign.stop()
    assert "enforcement stays OFF, as switched off by road works crew via mqtt" in log
    on_t = switched_at(log, "ON")
    violations = [e for e in journal(state) if e["type"] == "violation"]
    # An entry at the very frame enforcement came back on counts (times in the journal have 3 decimals).
    assert violations and all(v["entry_t"] >= round(on_t, 3) for v in violations), (on_t, violations)
    assert json.loads((state / "operator.json").read_text())["enforcement"]["enabled"] is True


def test_mute_silences_the_speaker_while_the_sign_warns_and_a_led_test_reaches_the_sign(tmp_path) -> None:
    env, captured = alsa_capture(tmp_path)
    sign = AlphaSignEmulator()
    state = tmp_path / "state"
    speaker = {"name": "spk", "type": "speaker", "languages": ["en"], "timeout_s": 10}
    with Mosquitto(tmp_path / "broker") as broker:
        centre = Centre(broker)
        site = box_site(tmp_path, broker, [{**SIGN, "port": sign.port}, speaker], evidence={"enabled": False})
        proc = start_service(site, env=env)
        try:
            centre.online()
            answer = centre.command("mute", {"muted": True})
            assert answer["ok"] and answer["state"]["muted"] is True and answer["state"]["speakers"] == ["spk"]
            answer = centre.command("test", {"target": "led"})
            assert answer["ok"], answer
            (result,) = answer["state"]["results"]
            assert (result["device"], result["type"], result["success"]) == ("sign", "alpha", True)
            assert result["latency_ms"] >= 0 and answer["state"]["target"] == "led"
            assert bytes(sign.received) == sign_frame("BOARD TEST")

            wait_until(lambda: [e for e in journal(state) if e["type"] == "violation"], 90, what="a violation")
            wait_until(lambda: len(sign.received) > len(sign_frame("BOARD TEST")), 10, what="the sign's warning")
            time.sleep(1.0)  # time for a warning the speaker should not have had to reach the file
            assert samples_played(captured) == 0
            warnings = bytes(sign.received)[len(sign_frame("BOARD TEST")) :]
            frame = sign_frame(WARNING)
            assert warnings == frame * (len(warnings) // len(frame)) and warnings  # whole warning frames only
            wait_until(lambda: centre.last_status()["operator"]["mute"]["muted"], 10, what="status to show mute")
            devices = {d["name"]: d for d in centre.last_status()["actuators"]}
            assert "muted" in devices["spk"]["detail"] and "muted" not in devices["sign"]["detail"]

            answer = centre.command("mute", {"muted": False})
            assert answer["ok"] and answer["state"]["muted"] is False
            wait_until(lambda: samples_played(captured) > 0, 60, what="the unmuted speaker to play a warning")
        finally:
            code, _, log = stop_service(proc)
            centre.close()
            sign.stop()
    assert code == 0, log[-2000:]
    assert json.loads((state / "operator.json").read_text())["mute"]["muted"] is False
