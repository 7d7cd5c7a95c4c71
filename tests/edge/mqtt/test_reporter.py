"""The reporter against a real mosquitto: payloads on the wire, schemas, availability, commands, TLS."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from edge.events import EventType
from edge.mqtt.payloads import CommandResult, ComponentHealth, EvidenceReport, StatusReport
from edge.mqtt.reporter import Reporter
from edge.mqtt.schemas import problems
from edge.signal.types import SignalChange, SignalState
from tests.edge.mqtt.builders import (
    CAMERA_ID,
    COMMAND_KEY,
    SITE_ID,
    Recorder,
    evidence_for,
    make_event,
    signed_command,
    site_config,
    start_collector,
    wait_for,
)
from tests.mosquitto import Mosquitto

BASE = f"crossguard/{SITE_ID}/{CAMERA_ID}"


@pytest.fixture
def recorder(mosquitto: Mosquitto):
    rec = Recorder(mosquitto, f"{BASE}/#")
    yield rec
    rec.close()


def status_report() -> StatusReport:
    return StatusReport(
        utc=time.time(),
        fps=14.8,
        inference_ms=21.4,
        frames_dropped=3,
        signal_states={"P1": SignalState.DONT_WALK},
        signal_sources=[ComponentHealth("timeline", True)],
        actuators=[
            ComponentHealth("speaker", True),
            ComponentHealth("led", False, "no reply on /dev/ttyUSB0"),
        ],
        storage_free_bytes=12_000_000_000,
        storage_used_fraction=0.41,
        clock_offset_s=-0.012,
    )


def running_reporter(config, data: Path) -> Reporter:
    reporter = Reporter.from_config(config, data)
    reporter.start()
    assert reporter.link.wait_connected(10), reporter.last_error
    return reporter


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_every_payload_on_the_wire_matches_its_schema(mosquitto, recorder, tmp_path, protocol):
    reporter = running_reporter(site_config(mosquitto, protocol=protocol), tmp_path)
    violation_id = make_event(1, EventType.VIOLATION).event_id
    reporter.report_event(make_event(1, EventType.CROSSING))
    reporter.report_event(make_event(1, EventType.VIOLATION), awaits_evidence=True)
    reporter.report_evidence(EvidenceReport(violation_id, time.time(), evidence_for(1), "c" * 64, 1))
    reporter.report_evidence(EvidenceReport(make_event(2).event_id, time.time(), lost_reason="storage full"))
    reporter.report_status(status_report())
    reporter.report_signal(SignalChange(12.0, "P1", SignalState.WALK, source="timeline"), time.time())
    assert wait_for(lambda: len(recorder.payloads("/events")) == 2 and recorder.payloads("/signal"))
    assert wait_for(lambda: len(recorder.payloads("/evidence")) == 2 and recorder.payloads("/status"))
    assert reporter.awaiting_evidence() == []  # the violation's evidence outcome was queued
    reporter.stop()

    events = recorder.json("/events")
    kinds = (("event", "/events"), ("evidence", "/evidence"), ("status", "/status"), ("signal", "/signal"))
    for kind, suffix in kinds:
        for payload in recorder.json(suffix):
            assert problems(kind, payload) == [], payload
    violation = next(e for e in events if e["type"] == "violation")
    assert violation["id"] == violation_id
    assert violation["signal"] == {"group": "P1", "state": "DONT_WALK", "since_dont_walk_s": 8.0}
    assert violation["evidence"] == []  # sent at once; the files follow on .../evidence
    recorded, lost = recorder.json("/evidence")
    assert recorded["event_id"] == violation_id and recorded["status"] == "recorded"
    assert recorded["files"][0]["path"] == "2026/11/23/ev1/clip.mp4" and recorded["sequence"] == 1
    assert lost["status"] == "lost" and lost["reason"] == "storage full" and lost["files"] == []
    assert violation["historical"] is False
    assert violation["decided_time"].endswith("Z") and len(violation["decided_time"]) == 24
    assert recorder.payloads("/availability") == [b"online", b"offline"]  # online on connect, offline on stop
    assert reporter.outbox_depth == 0


def test_status_is_retained_and_coalesced(mosquitto, tmp_path):
    config = site_config(mosquitto, client_id="status-box")
    reporter = Reporter.from_config(config, tmp_path)  # not started: status piles up in the outbox
    for fps in (10.0, 11.0, 12.0):
        reporter.report_status(StatusReport(utc=time.time(), fps=fps, inference_ms=20, frames_dropped=0))
    assert reporter.outbox_depth == 1
    reporter.start()
    assert wait_for(lambda: reporter.outbox_depth == 0)
    reporter.stop()
    late = Recorder(mosquitto, f"{BASE}/status")  # subscribes afterwards: gets the retained copy
    try:
        assert wait_for(lambda: late.messages)
        _topic, payload, retained = late.messages[0]
        assert retained and json.loads(payload)["fps"] == 12.0
    finally:
        late.close()


def test_event_decided_long_ago_is_sent_historical(mosquitto, recorder, tmp_path):
    reporter = running_reporter(site_config(mosquitto, late_after_s=5), tmp_path)
    reporter.report_event(make_event(7, decided_utc=time.time() - 60))
    reporter.report_event(make_event(8))
    assert wait_for(lambda: len(recorder.payloads("/events")) == 2)
    reporter.stop()
    flags = {e["track_id"]: e["historical"] for e in recorder.json("/events")}
    assert flags == {7: True, 8: False}


def test_commands_allow_listed_answered_and_bad_input_rejected(mosquitto, recorder, tmp_path, monkeypatch):
    monkeypatch.setenv("CG_TEST_COMMAND_KEY", COMMAND_KEY)
    reporter = Reporter.from_config(site_config(mosquitto, command_key_env="CG_TEST_COMMAND_KEY"), tmp_path)
    seen: list[dict] = []

    def enforcement(body: dict) -> CommandResult:
        if not isinstance(body.get("enabled"), bool):
            return CommandResult(False, error="'enabled' must be true or false")
        seen.append(body)
        return CommandResult(True, {"enabled": body["enabled"]})

    def broken(_body: dict) -> CommandResult:
        raise RuntimeError("speaker driver crashed")

    reporter.on_command("enforcement", enforcement)
    reporter.on_command("test", broken)
    with pytest.raises(ValueError, match="not allowed"):
        reporter.on_command("reboot", enforcement)
    reporter.start()
    assert reporter.link.wait_connected(10)

    sends = [
        ("enforcement", signed_command("enforcement", {"enabled": False, "request_id": "r1"})),
        ("enforcement", b"{not json"),
        ("enforcement", b"[1, 2]"),
        ("enforcement", signed_command("enforcement", {"enabled": "yes"})),
        ("enforcement", b"\xff\xfe"),
        ("enforcement", b"x" * 5000),
        ("reboot", b"{}"),
        ("test", signed_command("test", {"target": "all"})),
    ]
    for name, payload in sends:
        recorder.publish(f"{BASE}/{name}/set", payload)
    assert wait_for(lambda: len(recorder.payloads("/state")) == len(sends))
    answers = recorder.json("/state")
    for answer in answers:
        assert problems("command_state", answer) == []
    ok = [a for a in answers if a["ok"]]
    assert ok == [answers[0]] and ok[0]["state"] == {"enabled": False} and ok[0]["request_id"] == "r1"
    errors = [a["error"] for a in answers[1:]]
    assert "not valid JSON" in errors[0] and "JSON object" in errors[1] and "true or false" in errors[2]
    assert "not valid JSON" in errors[3] and "too large" in errors[4]
    assert "unknown command 'reboot'" in errors[5]
    assert "speaker driver crashed" in errors[6]
    assert seen == [{"enabled": False}]
    # Still alive and publishing after all that.
    reporter.report_event(make_event(3))
    assert wait_for(lambda: recorder.payloads("/events"))
    reporter.stop()


def test_tls_with_password_and_client_certificate(mosquitto, recorder, tmp_path):
    tls = {"ca_file": str(mosquitto.ca_file)}
    with_password = site_config(
        mosquitto, port=mosquitto.tls_port, tls=tls, username=mosquitto.username, password=mosquitto.password
    )
    with_cert = site_config(
        mosquitto,
        port=mosquitto.mtls_port,
        client_id="cert-box",
        tls={**tls, "cert_file": str(mosquitto.client.cert_file), "key_file": str(mosquitto.client.key_file)},
    )
    for n, config in enumerate((with_password, with_cert)):
        reporter = running_reporter(config, tmp_path / str(n))
        reporter.report_event(make_event(100 + n))
        assert wait_for(lambda r=reporter: r.outbox_depth == 0)
        reporter.stop()
    assert len(recorder.payloads("/events")) == 2


def test_tls_with_wrong_ca_fails_cleanly_with_a_clear_error(mosquitto, tmp_path):
    config = site_config(
        mosquitto,
        port=mosquitto.tls_port,
        tls={"ca_file": str(mosquitto.wrong_ca_file)},
        username=mosquitto.username,
        password=mosquitto.password,
    )
    reporter = Reporter.from_config(config, tmp_path)
    reporter.start()
    assert wait_for(lambda: reporter.last_error, timeout=10)
    assert not reporter.connected
    assert "certificate not trusted" in reporter.last_error
    assert str(mosquitto.wrong_ca_file) in reporter.last_error
    assert reporter.report_event(make_event(9))  # still accepted, kept for when TLS is fixed
    reporter.stop()
    assert Reporter.from_config(config, tmp_path).outbox_depth == 1


def test_wrong_password_is_reported_not_raised(mosquitto, tmp_path):
    config = site_config(
        mosquitto,
        port=mosquitto.tls_port,
        tls={"ca_file": str(mosquitto.ca_file)},
        username=mosquitto.username,
        password="wrong",
    )
    reporter = Reporter.from_config(config, tmp_path)
    reporter.start()
    assert wait_for(lambda: "refused" in reporter.last_error, timeout=10), reporter.last_error
    assert "authori" in reporter.last_error.lower()
    reporter.stop()


def test_last_will_is_published_when_the_connection_dies(mosquitto, recorder, tmp_path):
    reporter = running_reporter(site_config(mosquitto, client_id="will-box", keepalive_s=5), tmp_path)
    assert wait_for(lambda: recorder.payloads("/availability") == [b"online"])
    reporter.link._client.socket().close()  # the box vanishes without a DISCONNECT
    assert wait_for(lambda: b"offline" in recorder.payloads("/availability"), timeout=15)
    assert wait_for(lambda: recorder.payloads("/availability")[-1] == b"online", timeout=15)  # it came back
    reporter.stop()


def test_disabled_reporter_does_nothing(tmp_path):
    reporter = Reporter.from_config(site_config(None, enabled=False), tmp_path)
    reporter.start()
    assert reporter.report_event(make_event(1)) is False
    reporter.stop()
    assert not list(tmp_path.iterdir())


def test_events_reach_the_collector(mosquitto, tmp_path):
    collector = start_collector(mosquitto, tmp_path / "center.db", client_id="center-basic")
    reporter = running_reporter(site_config(mosquitto, client_id="basic-box"), tmp_path)
    for n in range(20):
        reporter.report_event(make_event(200 + n, EventType.CROSSING if n % 2 else EventType.VIOLATION))
    assert wait_for(lambda: collector.stored == 20)
    reporter.stop()
    assert wait_for(lambda: collector.store.sites()[0].availability == "offline")
    view = collector.store.sites()[0]
    collector.stop()
    assert (view.crossings, view.violations, view.duplicates, view.rejected) == (10, 10, 0, 0)


def test_backlog_goes_in_order_at_a_bounded_rate_and_new_events_overtake_it(mosquitto, recorder, tmp_path):
    config = site_config(mosquitto, client_id="backlog-box", backlog_rate=100, fsync=False)
    reporter = Reporter.from_config(config, tmp_path)  # not started yet: everything below is backlog
    for n in range(300):
        reporter.report_event(make_event(n, EventType.CROSSING))
    reporter.start()
    assert reporter.link.wait_connected(10)
    assert wait_for(lambda: len(recorder.payloads("/events")) >= 20)
    fresh = make_event(999)
    reporter.report_event(fresh)
    assert wait_for(lambda: len(recorder.payloads("/events")) == 301, timeout=20)
    started = time.monotonic()
    reporter.stop()
    arrived = [e["track_id"] for e in recorder.json("/events")]
    backlog = [n for n in arrived if n != 999]
    assert backlog == list(range(300))  # in order
    assert arrived.index(999) < 150  # not queued behind the whole backlog
    assert all(e["historical"] for e in recorder.json("/events") if e["track_id"] != 999)
    assert time.monotonic() - started < 5


def test_backlog_rate_is_bounded(mosquitto, recorder, tmp_path):
    reporter = Reporter.from_config(
        site_config(mosquitto, client_id="rate-box", backlog_rate=100, fsync=False), tmp_path
    )
    for n in range(200):
        reporter.report_event(make_event(n, EventType.CROSSING))
    reporter.start()
    assert wait_for(lambda: recorder.payloads("/events"))
    first = time.monotonic()
    assert wait_for(lambda: len(recorder.payloads("/events")) == 200, timeout=20)
    elapsed = time.monotonic() - first
    reporter.stop()
    assert elapsed > 1.4  # 200 messages at 100/s with a 25-message burst allowance: about 1.75 s


def test_missing_ca_file_is_reported_not_raised(mosquitto, tmp_path):
    missing = tmp_path / "no-such-ca.pem"
    config = site_config(mosquitto, port=mosquitto.tls_port, tls={"ca_file": str(missing)})
    reporter = Reporter.from_config(config, tmp_path)
    reporter.start()
    assert wait_for(lambda: reporter.last_error, timeout=10)
    assert "TLS files" in reporter.last_error and "No such file" in reporter.last_error
    assert reporter.link._thread.is_alive()  # still retrying
    reporter.stop()
