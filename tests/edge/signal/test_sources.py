"""Every registered signal source: its config type, its registration, and config errors naming the key."""

from __future__ import annotations

import subprocess
import sys
import time
import typing

import paho.mqtt.client as mqtt
import pytest
from pydantic import TypeAdapter, ValidationError

from edge.config.signal import SignalConfig, SignalSourceConfig
from edge.signal.recording import read_recording
from edge.signal.sources import SOURCE_MODULES, source_class
from tests.conftest import REPO
from tests.edge.signal.conftest import Broker

CONFIG_TYPES = {
    typing.get_args(cls.model_fields["type"].annotation)[0]: cls
    for cls in typing.get_args(typing.get_args(SignalSourceConfig)[0])
}


@pytest.mark.parametrize("key", sorted(SOURCE_MODULES))
def test_every_source_has_a_config_and_registers_under_its_key(key: str) -> None:
    assert key in CONFIG_TYPES, f"no config class with type '{key}' in SignalSourceConfig"
    cls = source_class(key)
    assert cls.key == key
    assert hasattr(cls, "from_config")


def test_every_config_type_has_a_source() -> None:
    assert set(CONFIG_TYPES) == set(SOURCE_MODULES)


def test_unknown_type_is_named() -> None:
    with pytest.raises(KeyError, match="unknown signal source type 'semaphore'"):
        source_class("semaphore")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"type": "vision", "heads": [{"group": "p1", "region": [0.5, 0.1, 0.4, 0.2]}]}, "x1 < x2"),
        ({"type": "vision", "heads": []}, "at least 1 item"),
        (
            {"type": "vision", "heads": [{"group": "p1", "region": [0, 0, 1, 1]}], "flash_min_hz": 3.0},
            "flash_min_hz must be below flash_max_hz",
        ),
        (
            {"type": "vision", "heads": [{"group": "p1", "region": [0, 0, 0.1, 0.1]}] * 2},
            "one head per group",
        ),
        ({"type": "http_push", "name": "a/b"}, "should match pattern"),
        ({"type": "mqtt"}, "Field required"),
        ({"type": "mqtt", "topic": "x", "stale_after_s": 0}, "greater than 0"),
        ({"type": "mqtt", "topic": "x", "groups": {"2": "bad name"}}, "may only use letters"),
        (
            {"type": "fixed_time", "plans": {"p": {"cycle_s": 60, "groups": {"p1": {"walk_s": 10}}}}},
            "Field required",
        ),
        ({"type": "trafficlight"}, "does not match any of the expected tags"),
    ],
)
def test_bad_source_config_is_named(source: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SignalConfig.model_validate({"sources": [source]})


def test_source_union_parses_each_type() -> None:
    adapter = TypeAdapter(SignalSourceConfig)
    assert adapter.validate_python({"type": "recorded_feed", "path": "f.jsonl"}).type == "recorded_feed"


def test_record_command_writes_json_lines(broker: Broker, tmp_path) -> None:
    out = tmp_path / "feed.jsonl"
    driver = "import sys, edge.cli as c; c.COMMAND_MODULES = ['edge.commands.signal']; sys.exit(c.main())"
    recorder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            driver,
            "signal",
            "record",
            "--broker",
            f"{broker.host}:{broker.port}",
            "--topic",
            "spat/#",
            "-o",
            str(out),
            "--count",
            "3",
            "--duration",
            "20",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert recorder.stdout is not None
        assert "recording spat/#" in recorder.stdout.readline()  # subscribed: nothing sent now is missed
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-rec-{time.time_ns()}")
        client.connect(broker.host, broker.port)
        client.loop_start()
        for payload in ('{"group": "p1", "state": 3}', "not json", '{"group": "p1", "state": 6}'):
            client.publish("spat/main", payload, qos=1).wait_for_publish(5)
        client.disconnect()
        client.loop_stop()
        stdout, stderr = recorder.communicate(timeout=20)
    finally:
        if recorder.poll() is None:
            recorder.kill()
    assert recorder.returncode == 0, stderr
    assert "3 message(s) recorded" in stdout
    messages, bad = read_recording(out)
    assert [m.payload for m in messages] == [
        '{"group": "p1", "state": 3}',
        "not json",
        '{"group": "p1", "state": 6}',
    ]
    assert bad == 0 and all(m.topic == "spat/main" for m in messages)


def test_source_names_must_be_unique() -> None:
    mqtt_source = {"type": "mqtt", "topic": "a", "name": "feed"}
    with pytest.raises(ValidationError, match=r"sources\[\]\.name must be unique.*repeated: feed"):
        SignalConfig.model_validate({"sources": [mqtt_source, {**mqtt_source, "topic": "b"}]})
