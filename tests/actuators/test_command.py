"""``crossguard actuators test`` against loopback emulators."""

from __future__ import annotations

import argparse

import pytest

from edge.cli import COMMAND_MODULES, CommandError
from edge.commands import actuators as command

from .conftest import site_file


def run(*argv: str) -> int:
    # Only this command's parser: other subcommands are developed elsewhere.
    parser = argparse.ArgumentParser(prog="crossguard")
    command.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return args.func(args)


def test_is_listed_in_the_cli() -> None:
    assert "edge.commands.actuators" in COMMAND_MODULES


def test_reports_each_device(tmp_path, capsys, alpha_sign, http_board) -> None:
    site = site_file(tmp_path, {"devices": [
        {"name": "alpha", "type": "alpha", "port": alpha_sign.port, "verify": True, "timeout_s": 1},
        {"name": "gateway", "type": "http_board", "url": http_board.url},
        {"name": "dead", "type": "http_board", "url": "http://127.0.0.1:9/x", "command_ttl_s": 0.5},
    ]})  # fmt: skip
    assert run("actuators", "test", "--site", str(site)) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["alpha", "alpha", "OK"] and lines[0].split()[4] == "ms"
    assert lines[1].split()[:3] == ["gateway", "http_board", "OK"]
    assert lines[2].split()[:3] == ["dead", "http_board", "FAILED"] and "refused" in lines[2]
    assert lines[3] == "2/3 device(s) OK"
    assert alpha_sign.displayed.text == "TEST"

    assert run("actuators", "test", "--site", str(site), "--device", "gateway") == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1/1 device(s) OK"


@pytest.mark.parametrize(
    ("actuators", "message"),
    [
        (None, "no enabled device in actuators.devices"),
        ({"devices": [{"name": "b", "type": "alpha", "colour": "purple"}]}, "actuators.devices[0]"),
    ],
)
def test_bad_site_files_are_one_line_errors(tmp_path, actuators, message) -> None:
    with pytest.raises(CommandError, match=message.replace("[", r"\[").replace("]", r"\]")):
        run("actuators", "test", "--site", str(site_file(tmp_path, actuators)))


def test_unknown_device_names_the_known_ones(tmp_path, http_board, capsys) -> None:
    from edge.cli import main

    site = site_file(tmp_path, {"devices": [{"name": "gateway", "type": "http_board", "url": http_board.url}]})
    assert main(["actuators", "test", "--site", str(site), "--device", "nope"]) == 2
    error = capsys.readouterr().err.strip()
    assert error == f"crossguard actuators: error: {site}: no enabled device named 'nope' (enabled: gateway)"


def test_covers_the_ground_lights(tmp_path, capsys) -> None:
    from actuators.emulators.modbus_lights import ModbusLightsEmulator
    from actuators.emulators.sacn_node import SacnNodeEmulator

    modbus, node = ModbusLightsEmulator(), SacnNodeEmulator()
    try:
        segments = [{"name": "stripe", "address": 1}]
        site = site_file(tmp_path, {"devices": [
            {"name": "modbus-lights", "type": "ground_lights", "protocol": "modbus", "port": modbus.port,
             "signal_group": "P1", "segments": segments},
            {"name": "dmx-lights", "type": "ground_lights", "protocol": "sacn", "host": node.host,
             "signal_group": "P1", "segments": segments},
        ]})  # fmt: skip
        assert run("actuators", "test", "--site", str(site)) == 0
        lines = capsys.readouterr().out.splitlines()
        assert [line.split()[:3] for line in lines[:2]] == [
            ["modbus-lights", "ground_lights", "OK"], ["dmx-lights", "ground_lights", "OK"]]  # fmt: skip
        assert modbus.coils(1, 4) == [True, False, False, True]  # the test look: red flashing
        assert node.wait_for(1, lambda p: list(p.slots[:4]) == [255, 0, 0, 128]) is not None
    finally:
        modbus.close()
        node.close()
