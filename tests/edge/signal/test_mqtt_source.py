"""MQTT feed against a real mosquitto: good, malformed, unknown-group, out-of-order, stale messages."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator

import paho.mqtt.client as mqtt
import pytest

from edge.config.signal import MqttSourceConfig, RecordedFeedSourceConfig
from edge.signal.recording import FeedRecorder
from edge.signal.source import FrameClock, SourceHealth
from edge.signal.sources.mqtt import MqttSource
from edge.signal.sources.recorded_feed import RecordedFeedSource
from edge.signal.types import SignalState
from tests.edge.signal.conftest import (
    Broker,
    free_port,
    require_mosquitto,
    start_mosquitto,
    stop_mosquitto,
    wait_for,
)

TOPIC = "crossguard/test/spat"


@pytest.fixture
def publish(broker: Broker) -> Iterator[Callable[[object], None]]:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-pub-{time.time_ns()}")
    client.connect(broker.host, broker.port)
    client.loop_start()

    def send(payload: object) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        client.publish(TOPIC, text, qos=1).wait_for_publish(5)

    yield send
    client.disconnect()
    client.loop_stop()


@pytest.fixture
def source(broker: Broker) -> Iterator[MqttSource]:
    config = MqttSourceConfig(
        host=broker.host,
        port=broker.port,
        topic=TOPIC,
        stale_after_s=1.0,
        groups={"2": "p1", "4": "p2"},
        min_phase_s=0.0,  # the tests below run made-up cycles with 0.1 s phases
    )
    src = MqttSource(config)
    assert src.wait_connected(5), "source did not connect to the test broker"
    yield src
    src.close()


def test_messages_become_changes_and_bad_ones_are_counted(source: MqttSource, publish: Callable) -> None:
    now = time.time()
    publish({"ts": now - 0.5, "states": [{"signalGroup": 2, "eventState": 6}]})  # WALK
    publish({"group": "4", "state": "DONT_WALK", "ts": now - 0.5})
    publish("this is not json")
    publish({"states": "not a list"})
    publish({"ts": now, "states": [{"signalGroup": 2, "eventState": 12}]})  # outside 0..9
    publish({"ts": now, "states": [{"signalGroup": 9, "eventState": 3}]})  # group not configured
    publish(
        {
            "ts": now - 0.2,
            "intersections": [
                {"states": [{"signalGroup": 2, "state-time-speed": [{"eventState": "protected-clearance"}]}]}
            ],
        }
    )
    publish({"ts": now - 5.0, "states": [{"signalGroup": 2, "eventState": 3}]})  # older than what we have
    wait_for(lambda: source.inbox.counters.out_of_order == 1)

    changes = source.poll(FrameClock(now, now), None)
    got = [(c.group, c.state, round(c.t - now, 3)) for c in changes]
    assert got == [
        ("p1", SignalState.WALK, -0.5),
        ("p2", SignalState.DONT_WALK, -0.5),
        ("p1", SignalState.CLEARANCE, -0.2),
    ]
    counters = source.inbox.counters
    assert (counters.accepted, counters.malformed, counters.unknown_group, counters.out_of_order) == (
        3,
        3,
        1,
        1,
    )
    status = source.status()
    assert status.health is SourceHealth.OK
    assert "3 malformed" in status.detail and "1 unknown group" in status.detail


def test_silence_longer_than_staleness_gives_unknown(source: MqttSource, publish: Callable) -> None:
    sent = time.time()
    publish({"group": "2", "state": 3, "ts": sent})
    wait_for(lambda: source.inbox.counters.accepted == 1)
    received = time.time()  # staleness runs on the box's clock, from when the message arrived
    assert [c.state for c in source.poll(FrameClock(received, received), None)] == [SignalState.DONT_WALK]

    time.sleep(1.2)  # no message for longer than the 1 s staleness
    now = time.time()
    stale = source.poll(FrameClock(now, now), None)
    assert [(c.group, c.state) for c in stale] == [("p1", SignalState.UNKNOWN)]
    assert sent + 1.0 <= stale[0].t <= received + 1.0 and "stale" in stale[0].reason
    assert source.status().health is SourceHealth.DEGRADED

    publish({"group": "2", "state": "stop-And-Remain", "ts": time.time()})  # heard again: the state is back
    wait_for(lambda: source.inbox.counters.accepted == 2)
    now = time.time()
    assert [c.state for c in source.poll(FrameClock(now, now), None)] == [SignalState.DONT_WALK]


def test_recorded_feed_plays_back_what_the_live_source_saw(
    broker: Broker, source: MqttSource, publish: Callable, tmp_path
) -> None:
    path = tmp_path / "feed.jsonl"
    with path.open("w", encoding="utf-8") as out:
        recorder = FeedRecorder(broker.host, broker.port, TOPIC, out)
        assert recorder.subscribed.wait(5)
        sent = time.time()
        now = sent - 1.0  # dated before they arrive: a time ahead of arrival would count as the arrival
        messages = [{"group": "2", "state": s, "ts": now + i * 0.1} for i, s in enumerate([6, 8, 3, 3, 6])]
        for m in [*messages[:2], "garbage", *messages[2:]]:
            publish(m)
        wait_for(lambda: recorder.count == 6 and source.inbox.counters.accepted == 5)
        recorder.stop()

    end = sent + 0.8
    live = source.poll(FrameClock(end, end), None)
    played = RecordedFeedSource.from_config(
        RecordedFeedSourceConfig(path=path, stale_after_s=1.0, groups={"2": "p1", "4": "p2"}, min_phase_s=0.0)
    )
    replayed = [c for step in range(17) for c in played.poll(FrameClock(sent + step * 0.05, sent + step * 0.05), None)]
    replayed += played.poll(FrameClock(end, end), None)
    assert [(c.t, c.group, c.state) for c in replayed] == [(c.t, c.group, c.state) for c in live]
    assert played.inbox.counters.malformed == 1


def test_broker_loss_is_unknown_and_the_state_returns_after_reconnecting(tmp_path) -> None:
    require_mosquitto()
    port = free_port()
    process = start_mosquitto(port, tmp_path)
    src = MqttSource(MqttSourceConfig(port=port, topic=TOPIC, stale_after_s=60))
    try:
        assert src.wait_connected(5)
        send_once(port, {"group": "p1", "state": "WALK", "ts": time.time()})
        wait_for(lambda: src.inbox.counters.accepted == 1)
        now = time.time()
        assert [c.state for c in src.poll(FrameClock(now, now), None)] == [SignalState.WALK]

        stop_mosquitto(process)
        wait_for(lambda: not src.connected())
        now = time.time()
        lost = src.poll(FrameClock(now, now), None)
        assert [(c.group, c.state, c.reason) for c in lost] == [("p1", SignalState.UNKNOWN, "not connected")]
        assert src.status().health is SourceHealth.DOWN

        process = start_mosquitto(port, tmp_path)
        assert src.wait_connected(20), "source did not reconnect"
        send_once(port, {"group": "p1", "state": "WALK", "ts": time.time()})  # same state as before the loss
        wait_for(lambda: src.inbox.counters.accepted == 2)
        now = time.time()
        assert [c.state for c in src.poll(FrameClock(now, now), None)] == [SignalState.WALK]
    finally:
        src.close()
        stop_mosquitto(process)


def send_once(port: int, payload: object) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-once-{time.time_ns()}")
    client.connect("127.0.0.1", port)
    client.loop_start()
    client.publish(TOPIC, json.dumps(payload), qos=1).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def test_password_comes_from_the_environment(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_mosquitto()
    passwords = tmp_path / "passwords"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), "crossguard", "s3cret"], check=True)
    passwords.chmod(0o600)
    port = free_port()
    process = start_mosquitto(port, tmp_path, password_file=passwords)
    config = {"port": port, "topic": TOPIC, "username": "crossguard", "password_env": "SPAT_PASSWORD"}
    try:
        monkeypatch.setenv("SPAT_PASSWORD", "s3cret")
        good = MqttSource(MqttSourceConfig(**config, name="good"))
        monkeypatch.setenv("SPAT_PASSWORD", "wrong")
        bad = MqttSource(MqttSourceConfig(**config, name="bad"))
        try:
            assert good.wait_connected(5)
            assert not bad.wait_connected(1.5)
            assert bad.status().health is SourceHealth.DOWN
        finally:
            good.close()
            bad.close()
    finally:
        stop_mosquitto(process)
