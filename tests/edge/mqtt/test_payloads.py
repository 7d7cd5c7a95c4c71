"""Payload builders against their JSON Schemas, including the edge cases the live tests do not hit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.events import EventType
from edge.mqtt.payloads import (
    CommandResult,
    ComponentHealth,
    EvidenceFile,
    EvidenceReport,
    Origin,
    StatusReport,
    command_state_payload,
    dumps,
    event_payload,
    evidence_payload,
    iso_utc,
    mark_historical,
    signal_payload,
    status_payload,
)
from edge.mqtt.schemas import KINDS, load_schema, problems
from edge.operator import EnforcementSwitch, MuteSwitch, OperatorState
from edge.signal.types import SignalChange, SignalState
from tests.edge.mqtt.builders import CAMERA_ID, SITE_ID, evidence_for, make_event

ORIGIN = Origin(SITE_ID, CAMERA_ID, "box-17")


def recorded_evidence(n: int) -> EvidenceReport:
    return EvidenceReport(make_event(n).event_id, 1.0, evidence_for(n), "c" * 64, n)

SWITCHED = OperatorState(EnforcementSwitch(False, "j.smith via mqtt", 3.0), MuteSwitch(True, "mqtt", 4.0), True)
TESTED = {"target": "led", "results": [
    {"device": "sign", "type": "alpha", "success": True, "latency_ms": 4.7, "detail": "ok"},
    {"device": "gw", "type": "http_board", "success": False, "latency_ms": None, "detail": "no answer within 7.0 s"},
]}  # fmt: skip
UNSAVED = {
    "enabled": False, "by": "mqtt", "since": iso_utc(3.0), "applied": False, "persisted": False,
    "save_error": "not saved to /var/lib/crossguard/operator.json: [Errno 28] No space left on device",
}  # fmt: skip
SCHEMA_DIR = Path(__file__).resolve().parents[3] / "edge" / "mqtt" / "schemas"


def test_times_are_utc_with_milliseconds():
    assert iso_utc(1_795_452_703.1234) == "2026-11-23T16:51:43.123Z"
    assert iso_utc(0) == "1970-01-01T00:00:00.000Z"


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("event", event_payload(make_event(1), evidence_for(1), ORIGIN)),
        (
            "event",
            event_payload(make_event(2, EventType.CROSSING), [], ORIGIN),
        ),  # no DONT_WALK time, no files
        ("event", json.loads(mark_historical(dumps(event_payload(make_event(3), [], ORIGIN))))),
        ("evidence", evidence_payload(recorded_evidence(4), ORIGIN)),
        ("evidence", evidence_payload(EvidenceReport(make_event(5).event_id, 1.0, lost_reason="box stopped"), ORIGIN)),
        ("status", status_payload(StatusReport(utc=1.0, fps=0, inference_ms=0, frames_dropped=0), ORIGIN, 0)),
        (
            "status",
            status_payload(
                StatusReport(
                    utc=1.0,
                    fps=15,
                    inference_ms=30.5,
                    frames_dropped=2,
                    signal_states={"P1": SignalState.WALK},
                    signal_sources=[ComponentHealth("timeline", False, "stale")],
                    actuators=[ComponentHealth("speaker", True)],
                    storage_free_bytes=10,
                    storage_used_fraction=1.0,
                    clock_offset_s=0.25,
                    enforcement_enabled=False,
                ),
                ORIGIN,
                7,
            ),
        ),
        ("signal", signal_payload(SignalChange(3.0, "P1", SignalState.CLEARANCE), 1.5, ORIGIN)),
        ("command_state", command_state_payload("mute", CommandResult(True, {"muted": True}), 2.0, "abc")),
        ("status", status_payload(StatusReport(1.0, 0, 0, 0, operator=OperatorState()), ORIGIN, 0)),
        ("status", status_payload(StatusReport(1.0, 0, 0, 0, operator=SWITCHED), ORIGIN, 0)),
        ("command_state", command_state_payload("enforcement", CommandResult(True, UNSAVED), 2.0)),
        ("command_state", command_state_payload("test", CommandResult(False, TESTED, "test failed on gw"), 2.0)),
        ("command_state", command_state_payload("test", CommandResult(False, error="unknown target"), 2.0)),
        ("command_state", command_state_payload("mute", CommandResult(False, error="bad"), 2.0)),
    ],
)
def test_payloads_match_their_schemas(kind, payload):
    assert problems(kind, payload) == []


@pytest.mark.parametrize(
    ("kind", "change", "message"),
    [
        ("event", {"schema": "crossguard.event.v2"}, "schema"),
        ("event", {"historical": "yes"}, "historical"),
        ("event", {"decided_time": "2026-11-23 16:11:43"}, "decided_time"),
        (
            "event",
            {"evidence": [{"path": "../etc/passwd", "sha256": "0" * 64, "size": 1, "kind": "clip"}]},
            "path",
        ),
        ("event", {"surprise": 1}, "Additional properties"),
        ("evidence", {"manifest_sha256": None}, "manifest_sha256"),  # recorded evidence names its manifest
        ("evidence", {"status": "lost", "reason": ""}, "reason"),  # a loss always says why
        ("evidence", {"status": "lost", "reason": "disk"}, "files"),  # and lists no files
        ("command_state", {"ok": False, "error": ""}, "error"),
        ("command_state", {"command": "enforcement", "state": {"enabled": "no"}}, "state"),
        ("command_state", {"command": "mute", "state": {"on": True}}, "state"),
        ("command_state", {"command": "test", "state": {**TESTED, "results": [{"device": "sign"}]}}, "state"),
        ("status", {"operator": {"enforcement": {"enabled": False}, "mute": {}}}, "operator"),
    ],
)
def test_schemas_catch_drift(kind, change, message):
    base = {
        "event": lambda: event_payload(make_event(1), evidence_for(1), ORIGIN),
        "status": lambda: status_payload(StatusReport(utc=1.0, fps=0, inference_ms=0, frames_dropped=0), ORIGIN, 0),
        "command_state": lambda: command_state_payload("mute", CommandResult(True), 0.0),
        "evidence": lambda: evidence_payload(recorded_evidence(1), ORIGIN),
    }[kind]()
    found = problems(kind, {**base, **change})
    assert found and any(message in line for line in found), found


def test_every_schema_file_is_known_and_shipped():
    assert sorted(p.stem for p in SCHEMA_DIR.glob("*.json")) == sorted(KINDS)
    for kind in KINDS:
        assert load_schema(kind)["$schema"].endswith("2020-12/schema")


@pytest.mark.parametrize(
    ("path", "sha", "size", "message"),
    [
        ("/abs/clip.mp4", "a" * 64, 1, "relative"),
        ("a/../../clip.mp4", "a" * 64, 1, "relative"),
        ("a\\clip.mp4", "a" * 64, 1, "relative"),
        ("", "a" * 64, 1, "relative"),
        ("a/clip.mp4", "A" * 64, 1, "hex"),
        ("a/clip.mp4", "a" * 63, 1, "hex"),
        ("a/clip.mp4", "a" * 64, -1, "negative"),
    ],
)
def test_bad_evidence_files_are_refused_where_they_are_made(path, sha, size, message):
    with pytest.raises(ValueError, match=message):
        EvidenceFile(path, sha, size)


def test_evidence_kind_accepts_its_string_form():
    assert EvidenceFile("a/b.jpg", "0" * 64, 5, "snapshot").to_dict()["kind"] == "snapshot"  # type: ignore[arg-type]
