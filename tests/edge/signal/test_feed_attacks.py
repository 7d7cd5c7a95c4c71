"""Hostile controller feeds against a real mosquitto: poison, flood, spoofing; and the feed over TLS.

Each test publishes what an attacker on the broker could and asserts the safe outcome: the feed keeps
running, the frame path's work stays bounded, the log stays short, the real controller keeps its say
(or the group is UNKNOWN with an alarm), and only the controller's identity can publish at all.
"""

from __future__ import annotations

import json
import logging
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
import pytest

import edge.signal.sources.mqtt as mqtt_source
from detection.types import Detections
from edge.config.mqtt import MqttTlsConfig
from edge.config.signal import FeedSettings, MqttSourceConfig
from edge.mqtt.outbox import MessageKind
from edge.mqtt.reporter import Reporter
from edge.observers import ReportObserver
from edge.pipeline import Frame, FrameResult
from edge.signal.feed import FeedSource
from edge.signal.hub import SignalHub
from edge.signal.source import FrameClock, SourceHealth
from edge.signal.sources.mqtt import MqttSource
from edge.signal.types import SignalChange, SignalState
from tests.edge.mqtt.builders import site_config
from tests.edge.signal.conftest import wait_for
from tests.mosquitto import HOST, MOSQUITTO_PASSWD, Mosquitto, mosquitto  # noqa: F401  (fixture)

TOPIC = "city/intersections/1021/spat"
POISON = "[" * 100_000 + "]" * 100_000


class Publisher:
    """A plain paho client publishing on the feed topic: the controller, or an attacker."""

    def __init__(self, port: int, **auth: object) -> None:
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"pub-{time.time_ns()}")
        if "username" in auth:
            self.client.username_pw_set(str(auth["username"]), str(auth["password"]))
        if "tls" in auth:
            tls = auth["tls"]
            self.client.tls_set(ca_certs=str(tls.ca_file), certfile=str(tls.cert_file), keyfile=str(tls.key_file))  # type: ignore[attr-defined]
        self.client.connect(HOST, port)
        self.client.loop_start()

    def send(self, payload: object, topic: str = TOPIC) -> None:
        text = payload if isinstance(payload, (str, bytes)) else json.dumps(payload)
        self.client.publish(topic, text, qos=1).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def publisher(mosquitto: Mosquitto) -> Iterator[Publisher]:  # noqa: F811
    pub = Publisher(mosquitto.port)
    yield pub
    pub.close()


def feed(broker: Mosquitto, **settings: object) -> MqttSource:
    config = MqttSourceConfig(host=HOST, port=broker.port, topic=TOPIC, **settings)  # type: ignore[arg-type]
    source = MqttSource(config)
    assert source.wait_connected(5), "feed did not connect to the test broker"
    return source


def now_clock() -> FrameClock:
    now = time.time()
    return FrameClock(now, now)


# --- 2. one message must not stop the feed; a stopped feed shows and is restarted ------------------------


def test_deeply_nested_json_is_rejected_and_the_feed_keeps_running(mosquitto: Mosquitto, publisher: Publisher) -> None:  # noqa: F811
    roomy = feed(mosquitto, name="roomy", groups={"2": "p1"}, max_message_bytes=4 * 1024 * 1024)
    default = feed(mosquitto, name="default", groups={"2": "p1"})
    try:
        publisher.send(POISON)  # 200 kB: too deep for the roomy one, too long for the default one
        publisher.send("[" * 5_000 + "]" * 5_000)  # short enough for both, still far too deep
        wait_for(lambda: roomy.inbox.counters.oversized == 2 and default.inbox.counters.oversized == 2)

        publisher.send({"group": "2", "state": "DONT_WALK", "ts": time.time()})
        wait_for(lambda: roomy.inbox.counters.accepted == 1 and default.inbox.counters.accepted == 1)
        for source in (roomy, default):
            assert source.connected() and source.restarts == 0 and source.loop_failures == 0
            assert [c.state for c in source.poll(now_clock(), None)] == [SignalState.DONT_WALK]
            assert source.status().health is SourceHealth.OK
            assert "2 oversized" in source.status().detail
    finally:
        roomy.close()
        default.close()


def test_a_number_too_long_for_python_is_a_malformed_message(mosquitto: Mosquitto, publisher: Publisher) -> None:  # noqa: F811
    source = feed(mosquitto, name="digits", groups={"2": "p1"})
    try:  # json.loads raises a plain ValueError for an integer beyond 4300 digits
        publisher.send('{"ts": 1, "states": [{"signalGroup": 2, "eventState": ' + "9" * 5000 + "}]}")
        publisher.send({"group": "2", "state": "DONT_WALK", "ts": time.time()})
        wait_for(lambda: source.inbox.counters.accepted == 1)
        counters = source.inbox.counters
        assert (counters.malformed, counters.failed) == (1, 0)
        assert [c.state for c in source.poll(now_clock(), None)] == [SignalState.DONT_WALK]
    finally:
        source.close()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_stopped_network_thread_is_down_then_restarted(
    mosquitto: Mosquitto,  # noqa: F811
    publisher: Publisher,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = feed(mosquitto, groups={"2": "p1"}, stale_after_s=60)
    hub = SignalHub([source])
    utc0 = time.time()

    def tick() -> float:
        t = time.time() - utc0
        hub.update(FrameClock(t, utc0 + t))
        return t

    try:
        tick()
        publisher.send({"group": "2", "state": "DONT_WALK", "ts": time.time()})
        wait_for(lambda: source.inbox.counters.accepted == 1)
        assert hub.state_at("p1", tick()).state is SignalState.DONT_WALK

        # Something no catch-all stops (SystemExit is not an Exception) ends paho's thread, as the
        # RecursionError did before messages were bounded.
        monkeypatch.setattr(mqtt_source, "RESTART_AFTER_S", 3600.0)
        submit = source.inbox.submit

        def die(*args: object, **kwargs: object) -> int:
            raise SystemExit("network thread killed by the test")

        monkeypatch.setattr(source.inbox, "submit", die)
        publisher.send({"group": "2", "state": "WALK", "ts": time.time()})
        wait_for(lambda: not source._alive())

        t = tick()
        status = source.status()
        assert status.health is SourceHealth.DOWN and "network thread stopped" in status.detail
        reading = hub.state_at("p1", t)
        assert reading.state is SignalState.UNKNOWN and "network thread stopped" in reading.reason

        monkeypatch.setattr(source.inbox, "submit", submit)
        monkeypatch.setattr(mqtt_source, "RESTART_AFTER_S", 0.0)
        tick()  # the frame path's watchdog starts the thread again
        assert source.restarts == 1 and source.wait_connected(10)
        publisher.send({"group": "2", "state": "WALK", "ts": time.time()})
        wait_for(lambda: source.inbox.counters.accepted == 2)
        assert hub.state_at("p1", tick()).state is SignalState.WALK
        assert source.status().health is SourceHealth.OK
    finally:
        hub.close()


# --- 3. a flood is bounded: message size, groups, queue, log lines and signal reports -------------------


def spat(groups: range, state: int, ts: float) -> dict[str, object]:
    return {"ts": ts, "states": [{"signalGroup": g, "eventState": state} for g in groups]}


def frame_result(t: float, utc: float, changes: list) -> FrameResult:
    frame = Frame(0, t, utc, np.zeros((2, 2, 3), np.uint8))
    return FrameResult(frame, Detections.empty(), Detections.empty(), [], changes, {}, {})


def test_feed_flood_is_bounded_everywhere(
    mosquitto: Mosquitto,  # noqa: F811
    publisher: Publisher,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="edge")
    # Feed ids used as our group names (no `groups` map): the configuration the flood hit.
    source = feed(mosquitto, stale_after_s=60)
    hub = SignalHub([source])
    reporter = Reporter.from_config(site_config(None), tmp_path)  # not started: the outbox keeps every report
    observer = ReportObserver(reporter)
    try:
        start = time.time()
        huge = json.dumps(spat(range(200_000), 6, start))
        assert len(huge) > 7_000_000
        publisher.send(huge)
        for batch in range(40):  # 2,400 distinct ids, 60 per message: each message within bounds
            publisher.send(spat(range(batch * 60, batch * 60 + 60), 6, start))
        for i in range(300):  # and one group flapping as fast as the broker delivers
            publisher.send({"group": "0", "state": "WALK" if i % 2 else "DONT_WALK", "ts": time.time()})
        counters = source.inbox.counters
        # 64 ids learnt (the most a feed without a `groups` map may have), the other 2,336 dropped.
        wait_for(lambda: counters.accepted + counters.out_of_order == 64 + 300 and counters.unknown_group == 2336, 30)
        assert counters.oversized == 1  # the 7.8 MB message, rejected unparsed
        queued = sum(len(updates) for updates in source.inbox._queue.values())
        assert len(source.inbox._queue) <= 64 and queued <= 64 * 8  # bounded before the frame path looks

        reports = 0
        utc0 = time.time()
        for k in range(30):  # three seconds of frames at 10 fps
            t = k * 0.1
            changes = hub.update(FrameClock(t, utc0 + t))
            assert len(changes) <= 64 * 8
            before = reporter.outbox_depth
            observer.on_frame(frame_result(t, utc0 + t, changes))
            reports += reporter.outbox_depth - before
        assert len(source._heard) <= 64 and len(hub.history.groups) <= 64
        assert reports <= 64 * 2 * 4  # at most 2 per group per second

        # Group 0 flapped: two publishers on the feed, so UNKNOWN with an alarm rather than either's word.
        assert hub.state_at("0", 2.9).state is SignalState.UNKNOWN
        assert any(a.kind == "contradiction" and a.group == "0" for a in hub.alarms())

        feed_log = [r for r in caplog.records if r.name.startswith("edge.signal")]
        assert len(feed_log) <= 30, [r.getMessage() for r in feed_log]  # 10 per kind at most, then summaries
        assert source.connected() and source.restarts == 0
    finally:
        hub.close()
        reporter.outbox.close() if reporter.outbox else None  # type: ignore[func-returns-value]


def test_signal_reports_are_rate_limited_and_the_last_state_gets_out(tmp_path: Path) -> None:
    reporter = Reporter.from_config(site_config(None), tmp_path)  # not started: the outbox keeps every report
    assert reporter.outbox is not None
    observer = ReportObserver(reporter)
    utc0 = time.time()
    states = [SignalState.WALK, SignalState.DONT_WALK]
    for k in range(30):  # three seconds at 10 fps, each frame bringing 200 changes of one group
        t = k * 0.1
        changes = [SignalChange(t, "P1", states[(k + i) % 2], "hub", f"flap {k}.{i}") for i in range(200)]
        observer.on_frame(frame_result(t, utc0 + t, changes))
    last = changes[-1]
    for k in range(30, 41):  # then quiet for a second
        observer.on_frame(frame_result(k * 0.1, utc0 + k * 0.1, []))

    rows = reporter.outbox.pending(0, 10_000)
    assert all(row.kind is MessageKind.SIGNAL for row in rows)
    assert len(rows) <= 2 * 4  # at most 2 a second for the group, not 6,000
    assert json.loads(rows[-1].payload)["reason"] == last.reason  # the latest state did go out
    assert observer.signal_limit.coalesced >= 6_000 - len(rows)
    reporter.outbox.close()


# --- 4. spoofing: future times, two publishers, TLS and the broker ACL ----------------------------------


def test_future_timestamps_cannot_lock_out_the_controller(mosquitto: Mosquitto, publisher: Publisher) -> None:  # noqa: F811
    source = feed(mosquitto, groups={"2": "p1"})
    try:
        controller = [{"group": "2", "state": "DONT_WALK", "ts": time.time() - 0.05}]
        publisher.send(controller[0])
        # The old attack: WALK stamped 1.9 s ahead (the old tolerance was 2 s) made every later
        # controller message "out of order".
        publisher.send({"group": "2", "state": "WALK", "ts": time.time() + 1.9})
        for _ in range(5):
            publisher.send({"group": "2", "state": "DONT_WALK", "ts": time.time() - 0.05})
        wait_for(lambda: source.inbox.counters.accepted == 6)
        counters = source.inbox.counters
        assert counters.ahead == 1 and counters.out_of_order == 0
        assert [c.state for c in source.poll(now_clock(), None)] == [SignalState.DONT_WALK]
        alarms = source.alarms()
        assert [a.kind for a in alarms] == ["clock_ahead"] and "ahead of the box's" in alarms[0].detail
        assert source.status().health is SourceHealth.DEGRADED and "ALARM" in source.status().detail
    finally:
        source.close()


def test_a_second_publisher_within_the_tolerance_raises_an_alarm(mosquitto: Mosquitto, publisher: Publisher) -> None:  # noqa: F811
    source = feed(mosquitto, groups={"2": "p1"}, alarm_hold_s=1.0)
    hub = SignalHub([source])
    utc0 = time.time()
    hub.update(FrameClock(0.0, utc0))
    try:
        for _ in range(3):
            publisher.send({"group": "2", "state": "DONT_WALK", "ts": time.time()})
        publisher.send({"group": "2", "state": "WALK", "ts": time.time() + 0.4})  # within the clock tolerance
        for _ in range(2):  # the controller goes on; its next message is not "out of order"
            time.sleep(0.1)
            publisher.send({"group": "2", "state": "DONT_WALK", "ts": time.time()})
        counters = source.inbox.counters
        wait_for(lambda: counters.accepted + counters.out_of_order == 6)
        assert counters.accepted >= 5  # the future time counted as its arrival, not 0.4 s later
        t = time.time() - utc0
        hub.update(FrameClock(t, utc0 + t))
        reading = hub.state_at("p1", t)
        assert reading.state is SignalState.UNKNOWN and "feed contradiction" in reading.reason
        (alarm,) = hub.alarms()
        assert alarm.kind == "contradiction" and "two publishers" in alarm.detail
        assert any(s.name == "hub" and s.health is SourceHealth.DEGRADED for s in hub.statuses())

        time.sleep(1.1)  # the hold passes without contradiction: the controller's state is used again
        accepted = counters.accepted
        publisher.send({"group": "2", "state": "DONT_WALK", "ts": time.time()})
        wait_for(lambda: counters.accepted == accepted + 1)
        hub.update(FrameClock(time.time() - utc0, time.time()))
        assert hub.state_at("p1", time.time() - utc0).state is SignalState.DONT_WALK
        assert hub.alarms() == []
    finally:
        hub.close()


def test_feed_over_tls_with_a_client_certificate(mosquitto: Mosquitto) -> None:  # noqa: F811
    certs = mosquitto.client
    tls = MqttTlsConfig(ca_file=certs.ca_file, cert_file=certs.cert_file, key_file=certs.key_file)
    source = MqttSource(MqttSourceConfig(host=HOST, port=mosquitto.mtls_port, topic=TOPIC, tls=tls, groups={"2": "p1"}))
    wrong_ca = MqttTlsConfig(ca_file=mosquitto.wrong_ca_file)
    untrusted = MqttSource(
        MqttSourceConfig(name="untrusted", host=HOST, port=mosquitto.mtls_port, topic=TOPIC, tls=wrong_ca)
    )
    controller = Publisher(mosquitto.mtls_port, tls=certs)
    try:
        assert source.wait_connected(10), "feed did not connect over TLS"
        controller.send({"group": "2", "state": "WALK", "ts": time.time()})
        wait_for(lambda: source.inbox.counters.accepted == 1)
        assert [c.state for c in source.poll(now_clock(), None)] == [SignalState.WALK]
        assert not untrusted.wait_connected(1.5) and untrusted.status().health is SourceHealth.DOWN
    finally:
        controller.close()
        source.close()
        untrusted.close()


class AclMosquitto(Mosquitto):
    """The test broker with the feed ACL of edge/signal/README.md on its TLS + password listener."""

    def __init__(self, folder: Path) -> None:
        self.acl_file = Path(folder) / "acl"
        self.acl_file.parent.mkdir(parents=True, exist_ok=True)
        self.acl_file.write_text(
            f"user controller\ntopic write {TOPIC}\n\nuser box\ntopic read {TOPIC}\n", encoding="utf-8"
        )
        super().__init__(folder)
        for user in ("controller", "intruder"):
            subprocess.run([MOSQUITTO_PASSWD, "-b", str(self.passwd_file), user, f"{user}-pass"], check=True)

    def _config(self) -> str:
        return super()._config().replace(
            f"password_file {self.passwd_file}\n", f"password_file {self.passwd_file}\nacl_file {self.acl_file}\n"
        )


def test_only_the_controller_identity_can_publish_on_the_feed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mqtt_source_broker = AclMosquitto(tmp_path / "broker")
    mqtt_source_broker.start()
    monkeypatch.setenv("SPAT_PASSWORD", Mosquitto.password)
    tls = MqttTlsConfig(ca_file=mqtt_source_broker.ca_file)
    config = MqttSourceConfig(
        host=HOST,
        port=mqtt_source_broker.tls_port,
        topic=TOPIC,
        tls=tls,
        username=Mosquitto.username,
        password_env="SPAT_PASSWORD",
        groups={"2": "p1"},
    )
    source = MqttSource(config)
    certs = mqtt_source_broker.client
    intruder = Publisher(mqtt_source_broker.tls_port, username="intruder", password="intruder-pass", tls=certs)
    controller = Publisher(mqtt_source_broker.tls_port, username="controller", password="controller-pass", tls=certs)
    try:
        assert source.wait_connected(10), "feed did not connect with TLS and a password"
        intruder.send({"group": "2", "state": "WALK", "ts": time.time()})
        controller.send({"group": "2", "state": "DONT_WALK", "ts": time.time()})
        wait_for(lambda: source.inbox.counters.accepted == 1)
        time.sleep(0.3)  # give a leaked intruder message time to arrive: none may
        assert source.inbox.counters.accepted == 1
        assert [c.state for c in source.poll(now_clock(), None)] == [SignalState.DONT_WALK]
    finally:
        intruder.close()
        controller.close()
        source.close()
        mqtt_source_broker.stop()


def test_a_contradicted_group_stays_unknown_until_the_publishers_agree_for_the_hold() -> None:
    source = FeedSource("feed", FeedSettings(groups={"2": "p1"}, alarm_hold_s=5.0, stale_after_s=3.0))
    t0 = 1_800_000_000.0

    def say(state: str, at: float) -> None:
        source.inbox.submit(json.dumps({"group": "2", "state": state, "ts": t0 + at}), t0 + at + 0.01)

    def poll(at: float) -> list[tuple[float, SignalState]]:
        return [(round(c.t - t0, 2), c.state) for c in source.poll(FrameClock(t0 + at, t0 + at), None)]

    for at in (0.0, 0.1, 0.2):
        say("DONT_WALK", at)
    say("WALK", 0.3)  # the intruder ...
    say("DONT_WALK", 0.4)  # ... and the controller 0.1 s later
    assert poll(1.0) == [(0.0, SignalState.DONT_WALK), (0.3, SignalState.WALK), (0.3, SignalState.UNKNOWN)]
    for at in (1.5, 2.0, 2.5):
        say("DONT_WALK", at)  # the controller alone, but within the hold: still UNKNOWN
    assert poll(5.0) == [] and source.inbox.alarms(FrameClock(t0 + 5.0, t0 + 5.0))
    say("DONT_WALK", 5.5)
    assert poll(5.6) == [(5.5, SignalState.DONT_WALK)]  # the hold ended 5 s after the last contradiction
    assert source.inbox.alarms(FrameClock(t0 + 5.6, t0 + 5.6)) == []

    for k in range(56, 271):  # the controller at 10 Hz: real phase changes raise no alarm
        say("DONT_WALK" if k < 200 else "WALK" if k < 270 else "CLEARANCE", k / 10)
    assert poll(27.1) == [(20.0, SignalState.WALK), (27.0, SignalState.CLEARANCE)]
    say("WALK", 27.05)  # a forged WALK during clearance, then silence: UNKNOWN, then no more
    assert poll(40.0) == [(27.0, SignalState.UNKNOWN)] and poll(60.0) == []


def test_late_changes_in_bulk_leave_ten_log_lines(caplog: pytest.LogCaptureFixture) -> None:
    # The frame loop stalled by the flood placed every change "late", one warning each: 47 MB of log.
    source = FeedSource("feed", FeedSettings(stale_after_s=60))
    hub = SignalHub([source])
    t0 = 1_800_000_000.0
    hub.update(FrameClock(0.0, t0))
    for g in range(64):
        source.inbox.submit(json.dumps({"group": f"g{g}", "state": "WALK", "ts": t0 + 1.0}), t0 + 30.0)
    with caplog.at_level(logging.WARNING, logger="edge.signal.hub"):
        hub.update(FrameClock(30.0, t0 + 30.0))
    assert hub.late_changes == 64
    assert len([r for r in caplog.records if "late" in r.getMessage()]) == 10
