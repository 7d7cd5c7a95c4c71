"""Full disks and quotas: unreviewed evidence always survives, reviewed evidence goes in a safe order,
and when nothing can be freed the alarm is raised with the list of what was not written."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from evidence import signing
from evidence.index import EvidenceIndex
from evidence.retention import Retention
from evidence.review import ReviewDesk
from evidence.storage import INDEX_FILE
from evidence.types import FileKind, ReviewState
from evidence.verify import Verifier
from tests.evidence.builders import make_site
from tests.evidence.conftest import record_events

CLIP_FRAMES = 143
DAY = 86400.0


def _verify_ok(root: Path) -> None:
    verifier = Verifier(root, signing.load_public(root / "keys" / "device_ed25519.pub.pem"))
    try:
        report = verifier.verify_all()
    finally:
        verifier.close()
    assert report.ok, [str(p) for p in report.problems]


def _new_events_intact(root: Path) -> int:
    index = EvidenceIndex(root / INDEX_FILE)
    try:
        new = index.events("review_state='new'")
        for row in new:
            for f in index.files(row.event_id):
                assert f.deleted_utc is None and (root / row.folder / f.relpath).is_file(), (
                    f"{row.event_id} lost"
                )
        return len(new)
    finally:
        index.close()


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A real 8 MiB filesystem: the disk fills for real (ENOSPC), not by a number we pretend."""
    mount_point = tmp_path / "fs"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; the byte-budget test covers quotas")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount_point)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_full_disk_keeps_unreviewed_evidence_and_raises_the_alarm(small_tmpfs: Path) -> None:
    root = small_tmpfs / "root"
    recorders = [record_events(root, offset=k * CLIP_FRAMES) for k in range(4)]  # 12 violations, ~0.9 MB each
    committed = sum(len(r.records()) for r in recorders)
    unwritten = [u for r in recorders for u in r.storage_status().unwritten]
    assert 3 <= committed < 12 and len(unwritten) == 12 - committed
    last = recorders[-1].storage_status()
    assert last.alarm and ("no room" in last.reason or "disk full" in last.reason)
    assert _new_events_intact(root) == committed
    _verify_ok(root)

    # A reviewer rejects the oldest two: their clips and originals make room for new evidence.
    desk = ReviewDesk(root)
    try:
        for item in desk.queue()[:2]:
            desk.set_state(
                item.event_id, ReviewState.REJECTED, "officer 7", "not a violation: bus blocking view"
            )
        unwritten_before = len(desk.unwritten())
    finally:
        desk.close()
    again = record_events(root, (70,), offset=9 * CLIP_FRAMES)
    assert len(again.records()) == 1 and not again.storage_status().alarm
    assert _new_events_intact(root) == committed - 2 + 1
    _verify_ok(root)
    index = EvidenceIndex(root / INDEX_FILE)
    try:
        purged = [f for f in index.files() if f.deleted_utc is not None]
        rejected = {r.event_id for r in index.events("review_state='rejected'")}
        assert purged and {f.event_id for f in purged} <= rejected
        assert len(index.db.execute("SELECT * FROM unwritten").fetchall()) == unwritten_before
    finally:
        index.close()


def test_byte_budget_deletes_in_safe_order_and_never_unreviewed(tmp_path: Path) -> None:
    root = tmp_path / "root"
    budget = {"budget_mb": 4.0}
    first = record_events(root, **budget)
    assert len(first.records()) == 3
    desk = ReviewDesk(root)
    rejected, exported, unreviewed = (r.event_id for r in first.records())
    desk.set_state(rejected, ReviewState.REJECTED, "officer 7", "shadow, not a person")
    desk.set_state(exported, ReviewState.CONFIRMED, "officer 7", "clear violation")
    desk.index.mark_exported(exported, "officer 7", "bundle for the court")
    desk.close()

    later = [record_events(root, (70,), offset=k * CLIP_FRAMES, **budget) for k in range(1, 6)]
    index = EvidenceIndex(root / INDEX_FILE)
    try:
        purge_log = [
            (a["event_id"], a["detail"].split(":")[0]) for a in index.audit() if a["action"] == "purged"
        ]
        kinds = {(f.event_id, f.relpath): f.kind for f in index.files()}
        order = [(event_id, kinds[(event_id, rel)]) for event_id, rel in purge_log]
        # Order: clips + originals of the rejected event, the exported confirmed one, rest of the rejected.
        first_tier = [k for e, k in order[:4] if e == rejected]
        assert first_tier and set(first_tier) == {FileKind.CLIP, FileKind.ORIGINAL}
        assert order.index((exported, FileKind.SHEET)) < order.index((rejected, FileKind.SHEET))
        assert unreviewed not in {e for e, _ in order}
        assert index.stored_bytes() <= 4.0 * 1024 * 1024
    finally:
        index.close()
    assert any(r.storage_status().alarm for r in later)  # eventually only unreviewed evidence is left
    stuck = later[-1].storage_status()
    assert stuck.alarm and stuck.unwritten and "no room" in stuck.unwritten[-1].reason
    assert _new_events_intact(root) >= 2
    _verify_ok(root)  # deleted files are recorded, so verification still passes


def test_age_retention_per_review_state(recorded_copy: Path) -> None:
    desk = ReviewDesk(recorded_copy)
    confirmed, rejected, new = (i.event_id for i in desk.queue())
    desk.set_state(confirmed, ReviewState.CONFIRMED, "officer 7", "")
    desk.set_state(rejected, ReviewState.REJECTED, "officer 7", "cyclist, not a pedestrian")
    index = desk.index
    retention = Retention(index, recorded_copy, make_site(recorded_copy).evidence)
    assert retention.purge_expired(time.time() + 1 * DAY) == 0
    assert retention.purge_expired(time.time() + 8 * DAY) == 6  # rejected: 7 days
    assert retention.purge_expired(time.time() + 91 * DAY) == 6  # confirmed: 90 days
    assert retention.purge_expired(time.time() + 10_000 * DAY) == 0  # new: never
    left = {
        f.event_id
        for f in index.files(live_only=True)
        if f.kind not in (FileKind.MANIFEST, FileKind.SIGNATURE)
    }
    assert left == {new}
    desk.close()
    _verify_ok(recorded_copy)
