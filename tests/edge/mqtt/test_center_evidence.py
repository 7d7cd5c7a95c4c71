"""The centre keeps each violation's evidence outcome by event id, whichever of the two messages arrives first."""

from __future__ import annotations

from edge.mqtt.payloads import EvidenceReport, Origin, dumps, event_payload, evidence_payload
from tests.edge.mqtt.builders import CAMERA_ID, SITE_ID, Recorder, evidence_for, make_event, start_collector, wait_for

BASE = f"crossguard/{SITE_ID}/{CAMERA_ID}"
ORIGIN = Origin(SITE_ID, CAMERA_ID, "box-17")


def outcome(n: int, lost: str = "") -> bytes:
    files = () if lost else evidence_for(n)
    report = EvidenceReport(make_event(n).event_id, 1.0, files, None if lost else "c" * 64, None if lost else n, lost)
    return dumps(evidence_payload(report, ORIGIN)).encode()


def test_evidence_is_stored_by_event_id_before_or_after_its_violation(mosquitto, tmp_path):
    collector = start_collector(mosquitto, tmp_path / "center.db", "evidence-centre")
    sender = Recorder(mosquitto, "nothing/#")
    try:
        sender.publish(f"{BASE}/evidence", outcome(1))  # overtook its violation (backlog vs live lane)
        sender.publish(f"{BASE}/events", dumps(event_payload(make_event(1), (), ORIGIN)).encode())
        sender.publish(f"{BASE}/events", dumps(event_payload(make_event(2), (), ORIGIN)).encode())
        sender.publish(f"{BASE}/evidence", outcome(2, lost="writer stopped"))
        sender.publish(f"{BASE}/evidence", outcome(2))  # written after all: recorded wins
        sender.publish(f"{BASE}/evidence", outcome(2, lost="late duplicate"))  # and is never downgraded
        sender.publish(f"{BASE}/evidence", b'{"schema": "crossguard.evidence.v1", "status": "lost"}')
        assert wait_for(lambda: collector.store.sites() and collector.store.sites()[0].rejected == 1)
        assert wait_for(lambda: collector.stored == 2 and collector.evidence_stored == 3)  # 1, 2 lost, 2 recorded
    finally:
        sender.close()
        collector.stop()
    outcomes = collector.store.evidence()
    assert set(outcomes) == {make_event(1).event_id, make_event(2).event_id}
    assert all(o["status"] == "recorded" for o in outcomes.values())
    assert outcomes[make_event(1).event_id]["files"][0]["path"] == "2026/11/23/ev1/clip.mp4"
    assert "evidence" in collector.store.sites()[0].last_rejection
