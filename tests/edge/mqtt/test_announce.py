"""Remote announcements: a signed ``announce`` command through a real broker to the samples the speaker played.

The box side runs in a subprocess whose ALSA default PCM is the ``file`` plugin over ``null``
(as in tests/actuators/test_speaker.py), so the captured samples are compared with the text
rendered by espeak-ng at the configured volume.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from actuators.base import Message
from actuators.devices.speaker import apply_volume, read_wav, render_tts
from edge.mqtt.schemas import problems
from tests.actuators.test_speaker import SYSTEM_ALSA_CONF, assert_played
from tests.conftest import REPO
from tests.edge.mqtt.builders import COMMAND_KEY, Recorder, signed_command, site_dict, wait_for
from tests.mosquitto import Mosquitto

BASE = "crossguard/elm-5th/cam1"
TEXT = "Attention: the crossing closes at ten"

BOX = """
import json, sys, time
from pathlib import Path
from actuators.hub import ActuatorHub
from edge.announce import AnnouncementDesk
from edge.config.site import SiteConfig
from edge.mqtt.handlers import OperatorCommands
from edge.mqtt.reporter import Reporter
from edge.operator import OperatorControls
site = SiteConfig.model_validate(json.loads(Path(sys.argv[1]).read_text()))
data = Path(sys.argv[2])
hub = ActuatorHub.from_config(site)
reporter = Reporter.from_config(site, data)
desk = AnnouncementDesk(hub, data / "announcements.jsonl")
OperatorCommands(OperatorControls(data / "operator.json", hub), hub, announcements=desk).register(reporter)
reporter.start()
assert reporter.link.wait_connected(10), reporter.last_error
print("ready", flush=True)
deadline = time.monotonic() + 60
while time.monotonic() < deadline and not any(h.delivered or h.failed for h in hub.health().values()):
    time.sleep(0.02)
health = hub.health()["spk"]
reporter.stop()
hub.close()
print(json.dumps({"delivered": health.delivered, "error": health.last_error}), flush=True)
"""


@pytest.fixture
def recorder(mosquitto: Mosquitto):
    r = Recorder(mosquitto)
    yield r
    r.close()


def test_signed_announcement_plays_on_the_speaker_and_quiet_hours_need_urgent(mosquitto, recorder, tmp_path: Path):
    if not SYSTEM_ALSA_CONF.exists():
        pytest.fail(f"{SYSTEM_ALSA_CONF} missing: install alsa-utils/libasound2 (scripts/setup-test-env.sh)")
    captured, conf = tmp_path / "captured.raw", tmp_path / "asound.conf"
    conf.write_text(f'pcm.!default {{\n  type file\n  slave.pcm "null"\n  file "{captured}"\n  format "raw"\n}}\n')
    site = site_dict(mosquitto, command_key_env="CG_TEST_COMMAND_KEY")
    site["actuators"] = {
        "tts_cache": str(tmp_path / "tts"),
        "quiet_hours": [{"start": "00:00", "end": "12:00"}, {"start": "12:00", "end": "00:00"}],  # all day
        "devices": [{"name": "spk", "type": "speaker", "languages": ["en"], "volume": 0.8}],
    }
    (tmp_path / "site.json").write_text(json.dumps(site))
    env = {**os.environ, "ALSA_CONFIG_PATH": f"{SYSTEM_ALSA_CONF}:{conf}", "PYTHONPATH": str(REPO),
           "CG_TEST_COMMAND_KEY": COMMAND_KEY}  # fmt: skip
    box = subprocess.Popen([sys.executable, "-c", BOX, str(tmp_path / "site.json"), str(tmp_path)], cwd=REPO, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert box.stdout is not None and box.stdout.readline().strip() == "ready", box.stderr.read()[-2000:]
        topic = f"{BASE}/announce/set"
        recorder.publish(topic, signed_command("announce", {"text": TEXT, "request_id": "quiet"}))
        recorder.publish(topic, signed_command("announce", {"text": TEXT, "urgent": True, "by": "centre desk"}))
        recorder.publish(topic, signed_command("announce", {"wav": "../etc/passwd.wav"}))
        assert wait_for(lambda: len(recorder.payloads("/announce/state")) == 3)
        done = json.loads(box.communicate(timeout=90)[0].strip().splitlines()[-1])
    finally:
        if box.poll() is None:
            box.kill()
    answers = recorder.json("/announce/state")
    assert all(problems("command_state", a) == [] for a in answers)
    quiet, urgent, bad_wav = answers
    assert not quiet["ok"] and "quiet hours" in quiet["error"] and quiet["request_id"] == "quiet"
    assert urgent["ok"], urgent
    assert urgent["state"] == {"speakers": ["spk"], "urgent": True, "volume": 1.0, "by": "centre desk via mqtt"}
    assert not bad_wav["ok"] and "no recordings on this box" in bad_wav["error"]
    assert done == {"delivered": 1, "error": None}
    spoken = read_wav(render_tts(Message("en", TEXT), tmp_path / "tts", 10))
    assert np.abs(spoken).max() > 1000
    assert_played(captured, apply_volume(spoken, 0.8))
    audit = [json.loads(line) for line in (tmp_path / "announcements.jsonl").read_text().splitlines()]
    assert [(a["ok"], a["urgent"], a["channel"]) for a in audit] == [(False, False, "mqtt"), (True, True, "mqtt"),
                                                                      (False, False, "mqtt")]  # fmt: skip
    assert audit[1]["text"] == TEXT and audit[1]["by"] == "centre desk via mqtt" and audit[1]["speakers"] == ["spk"]
