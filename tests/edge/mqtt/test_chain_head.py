"""The evidence chain head leaves the box with each evidence message; the centre keeps it and names skipped numbers.

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
from edge.mqtt.payloads import EvidenceReport, Origin, dumps, evidence_payload
from edge.mqtt.reporter import Reporter
from edge.observers import evidence_report
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


def _evidence_bytes(n: int, seq: int | None) -> bytes:
    """Evidence of event ``n`` at chain position ``seq``; None: its evidence was lost (no place in the chain)."""
    event_id = make_event(n).event_id
    if seq is None:
        report = EvidenceReport(event_id, 1_700_000_000.0, lost_reason="storage full")
    else:
        report = EvidenceReport(event_id, 1_700_000_000.0, evidence_for(n), f"{seq:064x}", seq)
    return dumps(evidence_payload(report, ORIGIN)).encode()


def test_centre_keeps_the_newest_head_and_records_gaps(mosquitto, tmp_path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="edge.mqtt.store")
    collector = start_collector(mosquitto, tmp_path / "center.db", client_id="center-chain")
    sender = Recorder(mosquitto, "nothing/#")
    store = collector.store
    try:
        for n, seq in ((1, 1), (2, 2), (3, None), (5, 5), (5, 5)):  # 3: evidence lost, 5: delivered twice
            sender.publish(f"{BASE}/evidence", _evidence_bytes(n, seq))
        assert wait_for(lambda: collector.evidence_stored == 4)
        assert wait_for(lambda: [g.numbers for g in store.chain_gaps()] == ["3-4"])
        gap = store.chain_gaps()[0]
        assert (gap.site, gap.camera) == (SITE_ID, CAMERA_ID)
        alarms = [r for r in caplog.records if "EVIDENCE CHAIN GAP" in r.getMessage()]
        assert len(alarms) == 1 and alarms[0].levelno == logging.ERROR
        assert alarms[0].getMessage() == (
            f"EVIDENCE CHAIN GAP: box {SITE_ID}/{CAMERA_ID} (device box-17) skipped evidence sequence number(s) 3-4"
        )

        sender.publish(f"{BASE}/evidence", _evidence_bytes(4, 3))  # a late one (backlog overtaken by newer events)
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
        for record in records:  # what the report observer sends: the violation, then its committed evidence
            reporter.report_event(events[record.event_id], awaits_evidence=True)
            reporter.report_evidence(evidence_report(record, 1_700_000_000.0))
        assert wait_for(lambda: collector.stored == len(ENTRY_FRAMES) and collector.evidence_stored == len(records))
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
