"""Speaker through the real audio stack: PyAudio -> PortAudio -> ALSA, whose default PCM is the
``file`` plugin over ``null``, so what PortAudio plays lands in a raw file we can compare.

ALSA reads its configuration once per process, so each playback runs in a subprocess whose
ALSA_CONFIG_PATH adds our configuration after the system's alsa.conf.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from actuators.base import DeviceContext, DeviceError, Message
from actuators.devices.speaker import CHUNK, RATE, Speaker, SpeakerConfig, apply_volume, read_wav, render_tts
from tests.conftest import REPO

from .conftest import BASE_UTC, site_file

SYSTEM_ALSA_CONF = Path("/usr/share/alsa/alsa.conf")

PLAY_ONCE = """
import json, sys, time
from actuators.hub import ActuatorHub
from edge.config import load_site
from edge.events import EventType
from tests.actuators.conftest import violation
site = load_site(sys.argv[1])
hub = ActuatorHub.from_config(site)
if sys.argv[3:] == ["prewarn"]:
    hub.on_prewarning(violation(utc=float(sys.argv[2]), kind=EventType.PRE_WARNING))
else:
    hub.on_violation(violation(utc=float(sys.argv[2])))
deadline = time.monotonic() + 30
while time.monotonic() < deadline and not any(h.delivered or h.failed for h in hub.health().values()):
    time.sleep(0.02)
health = hub.health()["spk"]
hub.close()
print(json.dumps({"state": health.state.value, "delivered": health.delivered, "error": health.last_error}))
"""


def play_in_subprocess(tmp_path: Path, actuators: dict, utc: float = BASE_UTC, *extra: str) -> tuple[dict, Path]:
    if not SYSTEM_ALSA_CONF.exists():
        pytest.fail(f"{SYSTEM_ALSA_CONF} missing: install alsa-utils/libasound2 (scripts/setup-test-env.sh)")
    captured = tmp_path / "captured.raw"
    conf = tmp_path / "asound.conf"
    conf.write_text(f'pcm.!default {{\n  type file\n  slave.pcm "null"\n  file "{captured}"\n  format "raw"\n}}\n')
    env = {**os.environ, "ALSA_CONFIG_PATH": f"{SYSTEM_ALSA_CONF}:{conf}", "PYTHONPATH": str(REPO)}
    site = site_file(tmp_path, actuators, timezone="Asia/Shanghai")
    done = subprocess.run([sys.executable, "-c", PLAY_ONCE, str(site), str(utc), *extra], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), captured


def expected_warning(actuators: dict, tmp_path: Path) -> np.ndarray:
    cfg = SpeakerConfig(**actuators["devices"][0])
    messages = tuple(Message(m["language"], m["text"], m.get("wav")) for m in actuators["messages"])
    speaker = Speaker(cfg, DeviceContext(messages, Path(actuators["tts_cache"])))
    return speaker._compose()


def section(tmp_path: Path, **speaker) -> dict:
    return {
        "cooldown_s": 0,
        "tts_cache": str(tmp_path / "tts"),
        "messages": [{"language": "en", "text": "Red light, step back"}, {"language": "zh", "text": "红灯"}],
        "schedule": [{"start": "07:00", "volume": 0.5}, {"start": "22:00", "volume": 0.25}],
        "quiet_hours": [{"start": "23:00", "end": "06:00"}],
        "devices": [{"name": "spk", "type": "speaker", "languages": ["en", "zh"], "volume": 0.8, **speaker}],
    }


def assert_played(captured: Path, expected: np.ndarray) -> None:
    samples = np.fromfile(captured, dtype="<i2")
    assert len(samples) >= len(expected)
    np.testing.assert_array_equal(samples[: len(expected)], expected)
    assert not samples[len(expected) :].any()  # at most trailing period padding of silence


def test_plays_both_languages_at_the_scheduled_volume(tmp_path: Path) -> None:
    actuators = section(tmp_path)
    result, captured = play_in_subprocess(tmp_path, actuators, utc=BASE_UTC)  # 18:00 in Shanghai: volume 0.5
    assert result == {"state": "ok", "delivered": 1, "error": None}
    warning = expected_warning(actuators, tmp_path)
    assert np.abs(warning).max() > 1000  # real speech, not silence
    assert_played(captured, apply_volume(warning, 0.8 * 0.5))


def test_evening_step_lowers_the_volume(tmp_path: Path) -> None:
    actuators = section(tmp_path)
    _, captured = play_in_subprocess(tmp_path, actuators, utc=BASE_UTC + 4.5 * 3600)  # 22:30 local
    assert_played(captured, apply_volume(expected_warning(actuators, tmp_path), 0.8 * 0.25))


def test_quiet_hours_play_nothing(tmp_path: Path) -> None:
    result, captured = play_in_subprocess(tmp_path, section(tmp_path), utc=BASE_UTC + 6 * 3600)  # 00:00 local
    assert result["delivered"] == 1  # handled: silence is the correct output
    assert not captured.exists() or not np.fromfile(captured, dtype="<i2").any()


def test_prewarning_plays_the_prompt_at_the_scheduled_volume_and_not_in_quiet_hours(tmp_path: Path) -> None:
    actuators = section(tmp_path)
    actuators["prewarn"] = {"messages": [{"language": "en", "text": "Red light, please wait"},
                                         {"language": "zh", "text": "红灯，请等待"}]}  # fmt: skip
    result, captured = play_in_subprocess(tmp_path, actuators, BASE_UTC, "prewarn")  # 18:00 local: volume 0.5
    assert result == {"state": "ok", "delivered": 1, "error": None}
    cfg = SpeakerConfig(**actuators["devices"][0])
    prompts = tuple(Message(m["language"], m["text"]) for m in actuators["prewarn"]["messages"])
    prompt = Speaker(cfg, DeviceContext((), Path(actuators["tts_cache"]), prompts))._compose(prompts)
    assert np.abs(prompt).max() > 1000
    assert_played(captured, apply_volume(prompt, 0.8 * 0.5))
    quiet = tmp_path / "quiet"
    quiet.mkdir()
    result, captured = play_in_subprocess(quiet, {**actuators, "tts_cache": str(quiet / "tts")},
                                          BASE_UTC + 6 * 3600, "prewarn")  # fmt: skip
    assert result["delivered"] == 1 and (not captured.exists() or not np.fromfile(captured, dtype="<i2").any())


def test_operator_wav_is_resampled_and_played(tmp_path: Path) -> None:
    t = np.arange(44100 // 2) / 44100
    tone = (np.sin(2 * np.pi * 440 * t) * 12000).astype("<i2")
    wav_path = tmp_path / "en.wav"
    with wave.open(str(wav_path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(44100)
        wav.writeframes(np.repeat(tone, 2).tobytes())  # stereo, both channels equal
    actuators = section(tmp_path, languages=["en"], volume=1.0)
    actuators["messages"][0]["wav"] = str(wav_path)
    actuators["schedule"] = []
    _, captured = play_in_subprocess(tmp_path, actuators)
    expected = read_wav(wav_path)
    assert len(expected) == RATE // 2
    assert_played(captured, expected)


@pytest.mark.parametrize(
    ("volume", "samples", "expected"),
    [
        (0.5, [1000, -1000, 3, -3, 32767], [500, -500, 2, -2, 16384]),  # halves round to even
        (1.0, [32767, -32768], [32767, -32768]),
        (0.0, [1234], [0]),
    ],
)
def test_apply_volume(volume: float, samples: list[int], expected: list[int]) -> None:
    assert apply_volume(np.array(samples, dtype="<i2"), volume).tolist() == expected


def test_tts_renders_once_and_then_uses_the_cache(tmp_path: Path, monkeypatch) -> None:
    message = Message("en", "Step back")
    first = render_tts(message, tmp_path, 30)
    stamp = first.stat().st_mtime_ns
    monkeypatch.setenv("PATH", "")  # espeak-ng unreachable: only the cache can answer
    assert render_tts(message, tmp_path, 30) == first and first.stat().st_mtime_ns == stamp
    with pytest.raises(DeviceError, match="espeak-ng is not installed"):
        render_tts(Message("en", "Another text"), tmp_path, 30)


def test_missing_language_is_named(tmp_path: Path) -> None:
    speaker = Speaker(SpeakerConfig(name="spk", languages=["fr"]), DeviceContext((Message("en", "x"),), tmp_path))
    with pytest.raises(DeviceError, match="no message for language"):
        speaker.open()


def test_a_stalled_output_is_given_up_after_its_allowance(tmp_path: Path) -> None:
    class StallingStream:  # a sound card whose buffer stops draining
        writes = 0

        def write(self, data: bytes) -> None:
            StallingStream.writes += 1
            time.sleep(0.2)

    speaker = Speaker(SpeakerConfig(name="spk", timeout_s=0.1), DeviceContext((), tmp_path))
    samples = np.zeros(10 * CHUNK, dtype="<i2")  # ~0.93 s of audio: allowance ~1.03 s
    with pytest.raises(DeviceError, match="audio output stalled"):
        speaker._write(StallingStream(), samples)
    assert 5 <= StallingStream.writes < 10
