"""SIGKILL during a burst of writes: on restart the index and the files agree and everything verifies."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evidence import signing
from evidence.index import EvidenceIndex
from evidence.manifest import MANIFEST_NAME
from evidence.recorder import EvidenceRecorder
from evidence.storage import INDEX_FILE, STAGING_DIR
from evidence.verify import Verifier
from tests.conftest import REPO, require_shared
from tests.evidence.builders import CLIP, feed, make_event, make_site


def _run_and_kill(root: Path, commits_before_kill: int, extra_delay_s: float) -> int:
    """Start a recorder process, wait for ``commits_before_kill`` commits, then SIGKILL it mid-burst."""
    env = {**os.environ, "CROSSGUARD_SHARED_DATA": str(require_shared(CLIP).parents[1])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.evidence.burst_writer", str(root), "50"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    committed = 0
    deadline = time.monotonic() + 120
    try:
        while committed < commits_before_kill and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            committed += line.startswith("committed")
        assert committed == commits_before_kill, "the recorder process stopped before the burst"
        time.sleep(extra_delay_s)  # land somewhere inside the next event's write
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    return committed


def _folders_on_disk(root: Path) -> set[str]:
    return {p.parent.relative_to(root).as_posix() for p in root.glob(f"[0-9]*/*/*/*/{MANIFEST_NAME}")}


def _restart(root: Path) -> None:
    """What the service does on start: open the recorder (recovery runs), then stop it."""
    EvidenceRecorder.from_config(make_site(root), "yolo11n_int8_320", "c0ffee", keep_every_frame=True).close(10.0)


def _assert_consistent(root: Path) -> int:
    index = EvidenceIndex(root / INDEX_FILE)
    try:
        rows = index.events()
        assert {r.folder for r in rows} == _folders_on_disk(root)
        for row in rows:
            on_disk = {
                p.relative_to(root / row.folder).as_posix() for p in (root / row.folder).rglob("*") if p.is_file()
            }
            assert {f.relpath for f in index.files(row.event_id)} == on_disk
        assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    finally:
        index.close()
    assert not [p for p in (root / STAGING_DIR).iterdir()], "staging area not cleaned up"
    verifier = Verifier(root, signing.load_public(root / "keys" / "device_ed25519.pub.pem"))
    try:
        report = verifier.verify_all()
    finally:
        verifier.close()
    assert report.ok, [str(p) for p in report.problems]
    return len(rows)


@pytest.mark.timeout(300)
def test_sigkill_during_a_burst_leaves_consistent_verifiable_evidence(tmp_path: Path) -> None:
    root = tmp_path / "root"
    total = 0
    for commits, delay in ((2, 0.05), (1, 0.25), (2, 0.6)):
        announced = _run_and_kill(root, commits, delay)
        _restart(root)
        count = _assert_consistent(root)
        assert count >= total + announced  # nothing announced as committed was lost
        total = count
    assert total >= 5
    index = EvidenceIndex(root / INDEX_FILE)
    try:  # the kills really landed inside writes: restarts found half-written events to discard
        actions = [a["action"] for a in index.audit()]
        assert "discarded" in actions, f"no kill interrupted a write: {actions}"
    finally:
        index.close()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_crash_between_rename_and_index_commit_is_finished_on_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The narrowest window: the event folder is in place but the index transaction never ran."""
    root = tmp_path / "root"

    def power_cut(*_: object, **__: object) -> None:
        raise SystemExit("power cut")

    monkeypatch.setattr(EvidenceIndex, "commit_event", power_cut)
    recorder = EvidenceRecorder.from_config(make_site(root), "m", "h", keep_every_frame=True)
    feed(recorder, range(60, 130), {76: make_event(70)})
    recorder.close(30.0)
    assert len(_folders_on_disk(root)) == 1 and recorder.records() == []
    monkeypatch.undo()
    _restart(root)
    assert _assert_consistent(root) == 1


def test_index_failure_after_rename_takes_the_folder_back_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the index refuses the event (e.g. SQLite reports the disk full), the folder must not stay
    behind looking like committed evidence; the event is reported as unwritten instead."""
    root = tmp_path / "root"

    def index_full(*_: object, **__: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(EvidenceIndex, "commit_event", index_full)
    recorder = EvidenceRecorder.from_config(make_site(root), "m", "h", keep_every_frame=True)
    feed(recorder, range(60, 130), {76: make_event(70)})
    recorder.close(30.0)
    status = recorder.storage_status()
    assert status.alarm and [u.event_id for u in status.unwritten] == [make_event(70).event_id]
    assert "disk full" in status.unwritten[0].reason
    monkeypatch.undo()
    assert _folders_on_disk(root) == set()
    _restart(root)
    assert _assert_consistent(root) == 0
