"""The evidence chain head leaves the box with each event; the centre keeps it and names skipped numbers."""

from __future__ import annotations

import logging
import sqlite3
from contextlib import closing

from edge.mqtt.payloads import ChainHead, Origin, dumps, event_payload
from edge.mqtt.schemas import problems
from tests.edge.mqtt.builders import (
    CAMERA_ID,
    SITE_ID,
    Recorder,
    evidence_for,
    make_event,
    start_collector,
    wait_for,
)

BASE = f"crossguard/{SITE_ID}/{CAMERA_ID}"
ORIGIN = Origin(SITE_ID, CAMERA_ID, "box-17")


def _event_bytes(n: int, seq: int | None) -> bytes:
    chain = ChainHead(seq, f"{seq:064x}") if seq is not None else None
    return dumps(event_payload(make_event(n), evidence_for(n), ORIGIN, chain)).encode()


def test_chain_head_fields_are_optional_but_go_together() -> None:
    with_head = event_payload(make_event(1), evidence_for(1), ORIGIN, ChainHead(7, "c" * 64))
    assert (with_head["evidence_seq"], with_head["chain_head"]) == (7, "c" * 64)
    assert problems("event", with_head) == []
    assert problems("event", event_payload(make_event(1), [], ORIGIN)) == []  # older boxes stay valid
    half = {k: v for k, v in with_head.items() if k != "chain_head"}
    assert any("chain_head" in line for line in problems("event", half))
    assert problems("event", {**with_head, "evidence_seq": 0})


def test_centre_keeps_the_newest_head_and_records_gaps(mosquitto, tmp_path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="edge.mqtt.store")
    collector = start_collector(mosquitto, tmp_path / "center.db", client_id="center-chain")
    sender = Recorder(mosquitto, "nothing/#")
    store = collector.store
    try:
        for n, seq in ((1, 1), (2, 2), (3, None), (5, 5), (5, 5)):  # 3: a crossing-like event without evidence
            sender.publish(f"{BASE}/events", _event_bytes(n, seq))
        assert wait_for(lambda: collector.stored == 4)
        assert wait_for(lambda: [g.numbers for g in store.chain_gaps()] == ["3-4"])
        gap = store.chain_gaps()[0]
        assert (gap.site, gap.camera) == (SITE_ID, CAMERA_ID)
        alarms = [r for r in caplog.records if "EVIDENCE CHAIN GAP" in r.getMessage()]
        assert len(alarms) == 1 and alarms[0].levelno == logging.ERROR
        assert alarms[0].getMessage() == (
            f"EVIDENCE CHAIN GAP: box {SITE_ID}/{CAMERA_ID} (device box-17) skipped evidence sequence number(s) 3-4"
        )

        sender.publish(f"{BASE}/events", _event_bytes(4, 3))  # a late one (backlog overtaken by newer events)
        assert wait_for(lambda: [g.numbers for g in store.chain_gaps()] == ["4"])
        with closing(sqlite3.connect(tmp_path / "center.db")) as db:
            head = db.execute("SELECT seq, manifest_sha256, device FROM chain_heads").fetchall()
        assert head == [(5, f"{5:064x}", "box-17")]
    finally:
        sender.close()
        collector.stop()
        store.close()
