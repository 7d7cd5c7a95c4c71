"""The centre against hostile publishers: poison messages, forged sites, a store that fails for a while.

Real mosquitto (its in-flight window is 20 messages per client), real SQLite. A poison message
that is never acknowledged holds a slot of that window for good; 20 of them used to stop every
later event from being stored, even after a restart (the broker delivered the poison again).
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from edge.mqtt.collector import UNKNOWN_BOX, Collector, center_settings
from edge.mqtt.inbound import MAX_PAYLOAD_BYTES
from edge.mqtt.payloads import Origin, dumps, event_payload
from edge.mqtt.registry import BoxRegistry
from edge.mqtt.store import DEAD_LETTER_PREFIX_BYTES, SqliteEventStore
from tests.edge.mqtt.builders import CAMERA_ID, SITE_ID, Recorder, evidence_for, make_event, wait_for

BASE = f"crossguard/{SITE_ID}/{CAMERA_ID}"
NESTED = b"[" * 100_000 + b"]" * 100_000


def event_bytes(n: int, site: str = SITE_ID, camera: str = CAMERA_ID) -> bytes:
    return dumps(event_payload(make_event(n), evidence_for(n), Origin(site, camera, "box-17"))).encode()


def collector(broker, db, client_id: str, registry: BoxRegistry | None = None) -> Collector:  # type: ignore[no-untyped-def]
    settings = center_settings(broker.url, client_id, reconnect_min_s=0.2, reconnect_max_s=1.0)
    centre = Collector(SqliteEventStore(db), settings, registry=registry)
    centre.start()
    assert centre.link.wait_connected(10), centre.link.state.last_error
    return centre


def stop(centre: Collector) -> None:
    centre.stop()
    centre.store.close()


def test_poison_is_dead_lettered_acknowledged_and_valid_events_keep_flowing(mosquitto, tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    db = tmp_path / "centre.db"
    centre = collector(mosquitto, db, "poisoned-centre")
    sender = Recorder(mosquitto, "nothing/#")
    try:
        for _ in range(25):
            sender.publish(f"{BASE}/events", NESTED)
        sender.publish(f"{BASE}/events", b"x" * (MAX_PAYLOAD_BYTES + 1))
        sender.publish(f"{BASE}/status", b"\xff\xfe not utf-8")
        sender.publish(f"{BASE}/events", event_bytes(1))
        assert wait_for(lambda: centre.stored == 1, timeout=30), centre.link.state.errors
        assert centre.rejected == 27

        # Restarted: more poison queued for it meanwhile (persistent session), then a valid event.
        stop(centre)
        for _ in range(25):
            sender.publish(f"{BASE}/events", NESTED)
        sender.publish(f"{BASE}/events", event_bytes(2))
        centre = collector(mosquitto, db, "poisoned-centre")
        assert wait_for(lambda: centre.stored == 1 and centre.rejected == 25, timeout=30), centre.link.state.errors
        sender.publish(f"{BASE}/events", event_bytes(3))
        assert wait_for(lambda: centre.stored == 2, timeout=15)
    finally:
        sender.close()
        stop(centre)

    store = SqliteEventStore(db)
    try:
        assert len(store.event_ids()) == 3
        letters = store.dead_letters(limit=1000)
        assert len(letters) == 52 and store.sites()[0].rejected == 52
        nested = [d for d in letters if d.size == len(NESTED)]
        assert len(nested) == 50
        assert all(d.topic == f"{BASE}/events" and (d.site, d.camera) == (SITE_ID, CAMERA_ID) for d in nested)
        assert all("nested deeper than 32" in d.reason and d.received_utc > 0 for d in nested)
        assert all(d.prefix == NESTED[:DEAD_LETTER_PREFIX_BYTES] for d in nested)
        assert {d.reason.split(":")[0] for d in letters} == {"events", "status"}
        assert any("too large" in d.reason for d in letters) and any("not UTF-8" in d.reason for d in letters)
    finally:
        store.close()
    rejection_lines = [r for r in caplog.records if "rejected" in r.getMessage()]
    assert len(rejection_lines) == 2, [r.getMessage() for r in rejection_lines]  # one per site per run


def test_a_failing_store_gets_the_message_again_without_losing_or_doubling_it(mosquitto, tmp_path):
    db = tmp_path / "centre.db"
    centre = collector(mosquitto, db, "locked-centre")
    sender = Recorder(mosquitto, "nothing/#")
    locker = sqlite3.connect(db, isolation_level=None)
    try:
        locker.execute("BEGIN EXCLUSIVE")  # another writer holds the database: every write fails
        sender.publish(f"{BASE}/events", event_bytes(1))
        assert wait_for(lambda: centre.link.state.connects >= 2, timeout=60), "no reconnect for a redelivery"
        assert centre.stored == 0 and "store failed" in " ".join(centre.link.state.errors)
        locker.execute("COMMIT")
        assert wait_for(lambda: centre.stored == 1, timeout=60), centre.link.state.errors
        sender.publish(f"{BASE}/events", event_bytes(2))
        assert wait_for(lambda: centre.stored == 2, timeout=15)
    finally:
        locker.close()
        sender.close()
        stop(centre)
    store = SqliteEventStore(db)
    assert len(store.event_ids()) == 2 and store.sites()[0].duplicates == 0 and store.dead_letters() == []
    store.close()


def test_only_registered_boxes_are_stored_and_forged_sites_are_dead_lettered(mosquitto, tmp_path):
    db = tmp_path / "centre.db"
    registry = BoxRegistry.model_validate({"boxes": [{"site": SITE_ID, "camera": CAMERA_ID}]})
    centre = collector(mosquitto, db, "registry-centre", registry)
    sender = Recorder(mosquitto, "nothing/#")
    forged = [
        "crossguard/no-such-site/cam9/events",
        "crossguard/no-such-site/cam9/availability",
        f"crossguard/{SITE_ID}/cam2/events",
    ]
    try:
        sender.publish("crossguard/no-such-site/cam9/events", event_bytes(1, "no-such-site", "cam9"))
        sender.publish("crossguard/no-such-site/cam9/availability", "online")
        sender.publish(f"crossguard/{SITE_ID}/cam2/events", event_bytes(2, SITE_ID, "cam2"))
        sender.publish(f"{BASE}/events", event_bytes(3))
        # Retained messages other tests left on the session's broker may be rejected too: count ours.
        assert wait_for(lambda: centre.stored == 1 and len(_ours(db, forged)) == 3, timeout=15)
    finally:
        sender.close()
        stop(centre)
    store = SqliteEventStore(db)
    try:
        assert [(s.site, s.camera, s.violations, s.rejected) for s in store.sites()] == [(SITE_ID, CAMERA_ID, 1, 0)]
    finally:
        store.close()
    ours = _ours(db, forged)
    assert sorted(d.topic for d in ours) == sorted(forged) and {d.reason for d in ours} == {UNKNOWN_BOX}


def _ours(db: Path, topics: list[str]) -> list:
    store = SqliteEventStore(db)
    try:
        return [d for d in store.dead_letters() if d.topic in topics]
    finally:
        store.close()


def test_a_number_too_long_for_python_is_malformed_json_not_a_bug(mosquitto, tmp_path, caplog):
    # json.loads raises a plain ValueError (not a decode error) for an integer beyond 4300 digits.
    caplog.set_level(logging.WARNING)
    db = tmp_path / "centre.db"
    centre = collector(mosquitto, db, "digits-centre")
    sender = Recorder(mosquitto, "nothing/#")
    try:
        sender.publish(f"{BASE}/events", b'{"track_id": ' + b"9" * 5000 + b"}")
        sender.publish(f"{BASE}/events", event_bytes(1))
        assert wait_for(lambda: centre.stored == 1 and centre.rejected == 1, timeout=15)
    finally:
        sender.close()
        stop(centre)
    store = SqliteEventStore(db)
    try:
        [letter] = store.dead_letters()
        assert letter.reason.startswith("events: not JSON:") and "4300 digits" in letter.reason
    finally:
        store.close()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
