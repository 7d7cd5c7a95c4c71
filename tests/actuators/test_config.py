"""The ``actuators`` section of a site file."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from edge.config import ConfigError, load_site

from .conftest import site_file


def issues(tmp_path: Path, actuators: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_site(site_file(tmp_path, actuators))
    return [f"{i.key}: {i.message}" for i in caught.value.issues]


def test_existing_site_files_stay_valid_with_no_devices(tmp_path: Path) -> None:
    site = load_site(site_file(tmp_path))
    assert site.actuators.devices == [] and site.actuators.cooldown_s == 8.0
    assert [m.language for m in site.actuators.messages] == ["zh", "en"]


def test_every_device_type_parses_with_its_own_fields(tmp_path: Path) -> None:
    from actuators.devices import DEVICE_CONFIGS

    devices = [
        {"name": "spk", "type": "speaker", "volume": 0.7},
        {
            "name": "alpha",
            "type": "alpha",
            "transport": "serial",
            "serial_port": "/dev/ttyS0",
            "mode": "scroll",
        },
        {"name": "dms", "type": "ntcip", "host": "127.0.0.1", "message_number": 3},
        {"name": "gw", "type": "http_board", "url": "http://127.0.0.1:8080/board"},
        {"name": "lights", "type": "gpio", "line": 17, "signal_group": "P1", "crosswalks": ["cw1"]},
        {"name": "ground", "type": "ground_lights", "protocol": "modbus", "signal_group": "P1",
         "segments": [{"name": "stripe", "address": 0}]},
        {"name": "tsc", "type": "ntcip_ped_call", "host": "10.0.0.9", "phases": {"cw1": 2}},
    ]
    assert {d["type"] for d in devices} == set(DEVICE_CONFIGS)  # a new driver needs a row here
    site = load_site(site_file(tmp_path, {"devices": devices, "quiet_hours": [{"start": "22:30", "end": "06:00"}]}))
    assert [type(d).__name__ for d in site.actuators.devices] == [
        "SpeakerConfig", "AlphaConfig", "NtcipConfig", "HttpBoardConfig", "GpioConfig",
        "GroundLightsConfig", "NtcipPedCallConfig"]  # fmt: skip
    assert site.actuators.quiet_hours[0].start == time(22, 30)


@pytest.mark.parametrize(
    ("actuators", "expected"),
    [
        ({"devices": [{"name": "b", "type": "alpha", "colour": "purple"}]},
         "actuators.devices[0].alpha.colour"),
        ({"devices": [{"name": "b", "type": "alpha", "prot": 5}]},
         "actuators.devices[0].alpha.prot: unknown key; did you mean 'port'?"),
        ({"devices": [{"name": "b", "type": "beeper"}]}, "does not match any of the expected tags"),
        ({"schedule": [{"start": 1320}]}, 'actuators.schedule[0].start: expected a local time as "HH:MM"'),
        ({"quiet_hours": [{"start": "24:00", "end": "06:00"}]}, "actuators.quiet_hours[0].start"),
        ({"schedule": [{"start": "07:00", "volume": 1.5}]}, "actuators.schedule[0].volume"),
        ({"cooldwn_s": 3}, "actuators.cooldwn_s: unknown key; did you mean 'cooldown_s'?"),
        ({"devices": [{"name": "a", "type": "gpio", "line": 1}, {"name": "a", "type": "gpio", "line": 2}]},
         "devices[].name must be unique; repeated: a"),
        ({"devices": [{"name": "a", "type": "http_board", "url": "ftp://x"}]}, "url must be http://"),
        ({"devices": [{"name": "a", "type": "gpio", "line": 1, "crosswalks": ["cw9"]}]},
         "'a' crosswalks names unknown crosswalk(s) cw9; crosswalks[].id are cw1"),
        ({"devices": [{"name": "tsc", "type": "ntcip_ped_call", "phases": {"cw9": 2}}]},
         "'tsc' phases names unknown crosswalk(s) cw9; crosswalks[].id are cw1"),
        ({"devices": [{"name": "tsc", "type": "ntcip_ped_call", "phases": {"cw1": 0}}]},
         "phase numbers must be 1..255: {'cw1': 0}"),
        ({"ped_call": {"enabled": True, "min_waiting": 0}}, "actuators.ped_call.min_waiting"),
    ],
)  # fmt: skip
def test_errors_name_the_key(tmp_path: Path, actuators: dict, expected: str) -> None:
    assert any(expected in issue for issue in issues(tmp_path, actuators)), issues(tmp_path, actuators)


def test_relative_wav_is_relative_to_the_site_file(tmp_path: Path) -> None:
    site = load_site(site_file(tmp_path, {"messages": [{"language": "en", "text": "Back", "wav": "audio/en.wav"}]}))
    assert site.actuators.messages[0].wav == (tmp_path / "audio" / "en.wav").resolve()
