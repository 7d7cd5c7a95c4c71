"""``kill -9`` right after a violation is decided, ten times: nothing lost, each evidence outcome told.

Every violation reaches the centre exactly once, each with its evidence or an explicit loss.

A real ``crossguard run`` on the looped demo clip (DON'T WALK throughout, so every observed
crossing is a violation), a real mosquitto and a real collector with its SQLite store. The box is
killed within a few milliseconds of a violation's journal line appearing (the line is written
after the violation is in the outbox), and restarted on the same data and evidence folders.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge.mqtt.schemas import problems
from evidence.index import EvidenceIndex
from evidence.storage import INDEX_FILE
from tests.conftest import REPO
from tests.edge.mqtt.builders import start_collector
from tests.edge.service.sites import write_site
from tests.edge.streams import wait_until
from tests.mosquitto import private_mosquitto  # noqa: F401  (fixture)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]
KILLS = 10
POLL_S = 0.005  # the journal is read this often while waiting for the violation to kill on


def violations(state: Path) -> list[str]:
    """Ids of the violations in the journal, in order; a line cut by a kill is skipped."""
    ids = []
    for path in sorted((state / "events").glob("events-*.jsonl")):
        for line in path.read_text().splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if event["type"] == "violation":
                ids.append(event["event_id"])
    return ids


def evidence_folders(root: Path) -> dict[str, Path]:
    return {p.name: p for p in root.glob("2*/*/*/*") if p.is_dir()}


def start_box(site: Path, log: Path, *args: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as err:  # a file, not a pipe: nobody reads it while the box runs
        return subprocess.Popen(
            [sys.executable, "-m", "edge.cli", "run", "--site", str(site), *args],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )


def settle(site: Path, log: Path) -> None:
    """One more start for a single frame: the start-up settles what a kill left owed, then a clean stop."""
    last = start_box(site, log, "--max-frames", "1")
    assert last.wait(120) == 0, log.read_text()[-3000:]


def kill_after_next_violation(
    proc: subprocess.Popen[bytes], state: Path, known: int, wait_evidence: Path | None
) -> None:
    """Kill -9 as soon as the journal shows a violation beyond the first ``known`` (polled every 5 ms).

    With ``wait_evidence``, first let one of this run's violations get its evidence committed,
    so some violations reach the centre with evidence and others with a loss.
    """
    if wait_evidence is not None:
        before = len(evidence_folders(wait_evidence))
        wait_until(lambda: len(evidence_folders(wait_evidence)) > before, 120, what="evidence committed in this run")
        known = len(violations(state))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the box stopped by itself"
        if len(violations(state)) > known:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
            return
        time.sleep(POLL_S)
    pytest.fail("no violation decided within 120 s")


def test_kill_9_right_after_violations_loses_none_and_reports_each_evidence_outcome(
    private_mosquitto, tmp_path  # noqa: F811
) -> None:
    broker = private_mosquitto
    collector = start_collector(broker, tmp_path / "center.db")
    site = write_site(
        tmp_path,
        timeline="t,group,state\n0.0,ped-main,DONT_WALK\n",
        service={"capture": {"realtime": False, "loop": True}},
        mqtt={"enabled": True, "host": "127.0.0.1", "port": broker.port, "reconnect_min_s": 0.2,
              "reconnect_max_s": 1.0, "flush_timeout_s": 20},
    )  # fmt: skip
    state, root, log = tmp_path / "state", tmp_path / "evidence", tmp_path / "box.log"
    try:
        for run in range(KILLS):
            proc = start_box(site, log)
            try:  # every other run waits for some evidence first, so both outcomes are exercised
                kill_after_next_violation(proc, state, len(violations(state)), root if run % 2 else None)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(10)
        settle(site, log)  # settles what the last kill left owed, sends the backlog and stops cleanly
        decided = violations(state)
        store = collector.store
        wait_until(
            lambda: set(decided) <= set(store.event_ids()) and set(decided) <= set(store.evidence()),
            60,
            what="every violation and its evidence outcome at the centre",
        )
    finally:
        collector.stop()

    assert len(decided) >= KILLS and len(set(decided)) == len(decided)
    events = {e["id"]: e for e in store.events(limit=100_000)}
    at_centre = {i for i, e in events.items() if e["type"] == "violation"}
    # Every journalled violation is at the centre, stored once; one killed between its outbox
    # commit and its journal line may be there too, and then it also has its evidence outcome.
    assert set(decided) <= at_centre and len(at_centre - set(decided)) <= KILLS
    outcomes = store.evidence()
    assert at_centre <= set(outcomes)
    assert all(problems("evidence", outcomes[i]) == [] for i in at_centre)
    folders = evidence_folders(root)
    recorded = {i for i in at_centre if outcomes[i]["status"] == "recorded"}
    lost = at_centre - recorded
    assert recorded and lost, (len(recorded), len(lost))
    for event_id in recorded:  # the hashes the centre holds are the committed manifest's
        manifest = folders[event_id] / "manifest.json"
        assert outcomes[event_id]["manifest_sha256"] == hashlib.sha256(manifest.read_bytes()).hexdigest()
        listed = {f["path"]: f["sha256"] for f in outcomes[event_id]["files"]}
        relative = folders[event_id].relative_to(root).as_posix()
        for entry in json.loads(manifest.read_text())["files"]:
            assert listed[f"{relative}/{entry['path']}"] == entry["sha256"]
    index = EvidenceIndex(root / INDEX_FILE)
    try:
        unwritten = {r["event_id"]: r["reason"] for r in index.db.query("SELECT * FROM unwritten")}
    finally:
        index.close()
    for event_id in lost:  # no evidence on disk, and the box's own index says why
        assert event_id not in folders
        assert outcomes[event_id]["reason"] and event_id in unwritten
    assert collector.store.sites()[0].violations == len(at_centre)


def test_without_mqtt_a_violation_killed_before_its_evidence_is_recorded_lost_in_the_index(tmp_path) -> None:
    site = write_site(
        tmp_path,
        timeline="t,group,state\n0.0,ped-main,DONT_WALK\n",
        service={"capture": {"realtime": False, "loop": True}},
    )
    state, root, log = tmp_path / "state", tmp_path / "evidence", tmp_path / "box.log"
    proc = start_box(site, log)
    try:
        kill_after_next_violation(proc, state, 0, None)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    settle(site, log)
    decided = violations(state)
    index = EvidenceIndex(root / INDEX_FILE)
    try:
        unwritten = {r["event_id"]: r["reason"] for r in index.db.query("SELECT * FROM unwritten")}
        committed = {row.event_id for row in index.events()}
    finally:
        index.close()
    assert decided and set(decided) <= set(unwritten) | committed
    assert set(decided) - committed, "the kill came after every evidence was written"
    assert all("service stopped" in unwritten[e] for e in set(decided) - committed)
