"""The evidence chain head leaves the box with each event; the centre keeps it and names skipped numbers.

A deleted *last* event leaves no gap inside the evidence folder; the head kept at the centre
(``crossguard evidence verify --center-db``) is what catches it.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

from edge import cli
from edge.mqtt.payloads import ChainHead, Origin, dumps, event_payload
from edge.mqtt.reporter import Reporter
from edge.mqtt.schemas import problems
from edge.observers import evidence_chain, evidence_files
from evidence.index import EvidenceIndex
from evidence.storage import INDEX_FILE
from tests.edge.mqtt.builders import (
    CAMERA_ID,
    SITE_ID,
    Recorder,
    evidence_for,
    make_event,
    site_config,
    start_collector,
    wait_for,
)
from tests.evidence import builders as evidence_builders
from tests.evidence.conftest import ENTRY_FRAMES, record_events

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


def _delete_last_event(root: Path) -> None:
    """Its folder, index rows and audit rows gone, the triggers that forbid it dropped first."""
    index = EvidenceIndex(root / INDEX_FILE)
    last = index.events()[-1]
    index.close()
    shutil.rmtree(root / last.folder)
    with closing(sqlite3.connect(root / INDEX_FILE, isolation_level=None)) as db:
        db.execute("DROP TRIGGER events_no_delete")
        db.execute("DROP TRIGGER audit_no_delete")
        for table in ("files", "audit", "events"):
            db.execute(f"DELETE FROM {table} WHERE event_id=?", [last.event_id])


def test_deleted_last_event_is_caught_with_the_head_the_centre_kept(
    mosquitto, tmp_path, monkeypatch, capsys
) -> None:
    root = tmp_path / "evidence"
    records = record_events(root).records()
    events = {e.event_id: e for e in (evidence_builders.make_event(f) for f in ENTRY_FRAMES)}
    site, camera = "site-a", "cam1"  # the evidence builders' box
    db = tmp_path / "center.db"
    collector = start_collector(mosquitto, db, client_id="center-anchor")
    reporter = Reporter(site_config(mosquitto).mqtt, Origin(site, camera, "edge-0042"), tmp_path / "outbox.db")
    reporter.start()
    try:
        for record in records:  # what the report observer sends once a violation's evidence is committed
            reporter.report_event(events[record.event_id], evidence_files(record), evidence_chain(record))
        assert wait_for(lambda: collector.stored == len(ENTRY_FRAMES))
    finally:
        reporter.stop()
        collector.stop()

    monkeypatch.setattr(cli, "COMMAND_MODULES", ["edge.commands.evidence"])
    argv = ["evidence", "verify", "--all", "--root", str(root), "--center-db", str(db), "--box", f"{site}/{camera}"]
    assert cli.main(argv) == 0  # the centre DB is still open by the collector's store: read beside it
    out = capsys.readouterr().out
    assert f"chain head of {site}/{camera} at the centre: 3:{records[-1].manifest_sha256}" in out
    assert "OK: 3 event(s)" in out

    _delete_last_event(root)
    assert cli.main(argv[:5]) == 0  # without the anchor, nothing inside the folder shows it
    capsys.readouterr()
    assert cli.main(argv) == 1
    out = capsys.readouterr().out
    assert "[event-missing] sequence number(s) 3 after the last indexed event (sequence 2) are missing" in out
    collector.store.close()
