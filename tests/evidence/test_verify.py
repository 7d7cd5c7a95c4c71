"""Tampering with stored evidence is found and named precisely by ``verify``."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import pytest

from edge.mqtt.payloads import ChainHead
from evidence import signing
from evidence.index import EvidenceIndex
from evidence.storage import INDEX_FILE
from evidence.verify import ProblemKind, Verifier, VerifyReport


def _verify(root: Path, event_id: str | None = None) -> VerifyReport:
    verifier = Verifier(root, signing.load_public(root / "keys" / "device_ed25519.pub.pem"))
    try:
        return verifier.verify_all() if event_id is None else verifier.verify_event(event_id)
    finally:
        verifier.close()


def _events(root: Path) -> list:
    index = EvidenceIndex(root / INDEX_FILE)
    try:
        return index.events()
    finally:
        index.close()


def _flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def _kinds(report: VerifyReport) -> list[tuple[ProblemKind, str, str]]:
    return [(p.kind, p.event_id, p.path) for p in report.problems]


def test_untouched_evidence_verifies(recorded_copy: Path) -> None:
    report = _verify(recorded_copy)
    assert report.ok, [str(p) for p in report.problems]
    assert (report.events, report.files, report.purged) == (3, 18, 0)


def test_one_flipped_byte_in_a_picture_is_named(recorded_copy: Path) -> None:
    second = _events(recorded_copy)[1]
    _flip_byte(recorded_copy / second.folder / "originals" / "2_entry.jpg", 5000)
    report = _verify(recorded_copy)
    assert _kinds(report) == [
        (ProblemKind.FILE_MODIFIED, second.event_id, f"{second.folder}/originals/2_entry.jpg")
    ]
    assert "SHA-256 is" in report.problems[0].message and "manifest lists" in report.problems[0].message
    assert not _verify(recorded_copy, _events(recorded_copy)[0].event_id).problems  # others unaffected


def test_one_flipped_byte_in_a_manifest_is_named(recorded_copy: Path) -> None:
    first = _events(recorded_copy)[0]
    manifest = recorded_copy / first.folder / "manifest.json"
    text = manifest.read_bytes()
    _flip_byte(manifest, text.index(b'"direction": "south->north"') + 15)  # "south" -> "rouih"-like change
    report = _verify(recorded_copy)
    rel = f"{first.folder}/manifest.json"
    assert _kinds(report) == [
        (ProblemKind.MANIFEST_MODIFIED, first.event_id, rel),
        (ProblemKind.SIGNATURE_INVALID, first.event_id, rel),
    ]


def test_forged_manifest_with_fresh_hashes_fails_the_signature(recorded_copy: Path) -> None:
    """Even an attacker who recomputes the index hash cannot re-sign without the key."""
    first = _events(recorded_copy)[0]
    manifest = recorded_copy / first.folder / "manifest.json"
    manifest.write_bytes(manifest.read_bytes().replace(b"DONT_WALK", b"WALK_____"))
    report = _verify(recorded_copy)
    assert ProblemKind.SIGNATURE_INVALID in [p.kind for p in report.problems]


def test_deleted_event_folder_is_named(recorded_copy: Path) -> None:
    second = _events(recorded_copy)[1]
    shutil.rmtree(recorded_copy / second.folder)
    report = _verify(recorded_copy)
    assert _kinds(report) == [(ProblemKind.FOLDER_MISSING, second.event_id, second.folder)]


def test_event_deleted_from_disk_and_index_is_found_by_chain_and_audit(recorded_copy: Path) -> None:
    first, second, third = _events(recorded_copy)
    shutil.rmtree(recorded_copy / second.folder)
    with sqlite3.connect(recorded_copy / INDEX_FILE) as db:  # an attacker with raw access to the index
        db.execute("DROP TRIGGER events_no_delete")
        db.execute("DELETE FROM files WHERE event_id=?", [second.event_id])
        db.execute("DELETE FROM events WHERE event_id=?", [second.event_id])
    report = _verify(recorded_copy)
    kinds = _kinds(report)
    assert (ProblemKind.CHAIN_BROKEN, third.event_id, f"{third.folder}/manifest.json") in kinds
    assert (ProblemKind.EVENT_MISSING, third.event_id, "") in kinds  # sequence 2 missing before it
    assert (ProblemKind.EVENT_MISSING, second.event_id, "") in kinds  # the audit log remembers its commit
    chain = next(p for p in report.problems if p.kind is ProblemKind.CHAIN_BROKEN)
    assert first.event_id in chain.message
    gap = next(
        p for p in report.problems if p.kind is ProblemKind.EVENT_MISSING and p.event_id == third.event_id
    )
    assert "sequence number(s) 2" in gap.message
    assert len(report.problems) == 3


def test_reordered_chain_is_named(recorded_copy: Path) -> None:
    _, second, third = _events(recorded_copy)
    with sqlite3.connect(recorded_copy / INDEX_FILE) as db:  # swap events 2 and 3 in the index
        db.execute("DROP TRIGGER events_fixed_columns")
        db.execute("UPDATE events SET seq=-1 WHERE event_id=?", [second.event_id])
        db.execute("UPDATE events SET seq=2 WHERE event_id=?", [third.event_id])
        db.execute("UPDATE events SET seq=3 WHERE event_id=?", [second.event_id])
    report = _verify(recorded_copy)
    lines = [str(p) for p in report.problems]
    assert all(p.kind is ProblemKind.CHAIN_BROKEN for p in report.problems), lines
    assert {p.event_id for p in report.problems} == {second.event_id, third.event_id}
    assert any(
        f"event {third.event_id}" in s and "manifest says sequence 3, index says 2" in s for s in lines
    )
    assert any(
        f"event {second.event_id}" in s and "manifest says sequence 2, index says 3" in s for s in lines
    )
    assert any(
        f"event {second.event_id}" in s and f"the event before it, event {third.event_id}" in s for s in lines
    )


def test_extra_and_missing_files_are_named(recorded_copy: Path) -> None:
    third = _events(recorded_copy)[2]
    (recorded_copy / third.folder / "clip.mp4").unlink()
    (recorded_copy / third.folder / "note.txt").write_text("added later")
    report = _verify(recorded_copy)
    assert _kinds(report) == [
        (ProblemKind.FILE_MISSING, third.event_id, f"{third.folder}/clip.mp4"),
        (ProblemKind.FILE_UNLISTED, third.event_id, f"{third.folder}/note.txt"),
    ]


def test_unindexed_event_folder_is_named(recorded_copy: Path) -> None:
    third = _events(recorded_copy)[2]
    copy = recorded_copy / third.folder.replace(third.event_id, "00000000-0000-0000-0000-000000000000")
    shutil.copytree(recorded_copy / third.folder, copy)
    report = _verify(recorded_copy)
    assert _kinds(report) == [
        (ProblemKind.EVENT_UNINDEXED, copy.name, copy.relative_to(recorded_copy).as_posix())
    ]


# -- read-only, damaged index, anchored chain head ----------------------------------------------------


def _snapshot(root: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file under ``root``: its bytes, mtime and mode — what "nothing was modified" compares."""
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_mode)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _damage_empty(index: Path) -> None:
    index.write_bytes(b"")


def _damage_garbage(index: Path) -> None:
    index.write_bytes(b"this is not a database\n" * 200)


def _damage_drop_table(index: Path) -> None:
    with closing(sqlite3.connect(index, isolation_level=None)) as db:
        db.execute("DROP TABLE audit")


def _damage_drop_column(index: Path) -> None:
    with closing(sqlite3.connect(index, isolation_level=None)) as db:
        db.execute("ALTER TABLE events DROP COLUMN review_state")


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (_damage_empty, "table(s) events, files, audit missing (file of 0 bytes)"),
        (_damage_garbage, "file is not a database"),
        (_damage_drop_table, "table(s) audit missing"),
        (_damage_drop_column, "a row of 'events' cannot be read (KeyError: 'review_state')"),
    ],
    ids=["zero-bytes", "garbage", "table-missing", "column-missing"],
)
def test_damaged_index_is_a_finding_and_nothing_is_written(recorded_copy: Path, damage, reason: str) -> None:
    folders = [r.folder for r in _events(recorded_copy)]
    index = recorded_copy / INDEX_FILE
    damage(index)
    before = _snapshot(recorded_copy)
    for event_id in (None, "no-such-event"):
        report = _verify(recorded_copy, event_id)
        assert report.problems[0].kind is ProblemKind.INDEX_DAMAGED and report.problems[0].path == INDEX_FILE
        assert reason in report.problems[0].message
        assert str(report.problems[0]).startswith(f"[index-damaged] {INDEX_FILE}: {index}: ")
        assert _kinds(report)[1:] == [(ProblemKind.EVENT_UNINDEXED, f.rsplit("/", 1)[1], f) for f in sorted(folders)]
    assert _snapshot(recorded_copy) == before  # not rewritten with a fresh schema, no -wal/-shm created


def _with_open_writer(root: Path, copy: Path, keep_shm: bool) -> None:
    """Copy ``root`` while the index is open and holds a row only in its write-ahead log (a live box)."""
    index = EvidenceIndex(root / INDEX_FILE)
    try:
        index.append_audit(_events(root)[0].event_id, "viewed", "ofc7", "only in the -wal")
        shutil.copytree(root, copy)
    finally:
        index.close()
    assert (copy / f"{INDEX_FILE}-wal").stat().st_size > 0
    if not keep_shm:
        (copy / f"{INDEX_FILE}-shm").unlink()


@pytest.mark.parametrize("state", ["closed", "live", "live-without-shm"])
def test_read_only_copy_verifies_and_stays_untouched(recorded_copy: Path, tmp_path: Path, state: str) -> None:
    copy = tmp_path / "copy"
    if state == "closed":
        shutil.copytree(recorded_copy, copy)
    else:
        _with_open_writer(recorded_copy, copy, keep_shm=state == "live")
    subprocess.run(["chmod", "-R", "a-w", str(copy)], check=True)
    try:
        before = _snapshot(copy)
        report = _verify(copy)
        assert report.ok, [str(p) for p in report.problems]
        assert (report.events, report.files) == (3, 18)
        index = EvidenceIndex(copy / INDEX_FILE, read_only=True)
        try:
            assert (index.audit()[-1]["action"] == "viewed") is (state != "closed")  # the -wal was read
        finally:
            index.close()
        after = _snapshot(copy)
        assert after == before
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(copy)], check=True)


def _delete_last_event(root: Path) -> None:
    """The attack: the newest event's folder, index rows and audit rows gone, triggers dropped first."""
    last = _events(root)[-1]
    shutil.rmtree(root / last.folder)
    with sqlite3.connect(root / INDEX_FILE) as db:
        for trigger in ("events_no_delete", "audit_no_delete"):
            db.execute(f"DROP TRIGGER {trigger}")
        db.execute("DELETE FROM files WHERE event_id=?", [last.event_id])
        db.execute("DELETE FROM audit WHERE event_id=?", [last.event_id])
        db.execute("DELETE FROM events WHERE event_id=?", [last.event_id])


def test_deleted_last_event_is_caught_only_with_the_anchored_head(recorded_copy: Path) -> None:
    first, second, third = _events(recorded_copy)
    _delete_last_event(recorded_copy)
    assert _verify(recorded_copy).ok  # nothing inside the folder shows it: hence the anchor

    report = _verify_anchored(recorded_copy, ChainHead(3, third.manifest_sha256))
    assert _kinds(report) == [(ProblemKind.EVENT_MISSING, "", "")]
    assert str(report.problems[0]).startswith(
        "[event-missing] sequence number(s) 3 after the last indexed event (sequence 2) are missing:"
        f" the chain head kept outside this folder is sequence 3, manifest {third.manifest_sha256[:16]}"
    )
    assert _verify_anchored(recorded_copy, ChainHead(2, second.manifest_sha256)).ok  # the centre lags: fine
    forged = _verify_anchored(recorded_copy, ChainHead(2, first.manifest_sha256))
    assert _kinds(forged) == [(ProblemKind.HEAD_MISMATCH, second.event_id, f"{second.folder}/manifest.json")]


def _verify_anchored(root: Path, head: ChainHead) -> VerifyReport:
    verifier = Verifier(root, signing.load_public(root / "keys" / "device_ed25519.pub.pem"), head)
    try:
        return verifier.verify_all()
    finally:
        verifier.close()


def test_chain_head_parses_seq_and_hash() -> None:
    assert ChainHead.parse(f" 12:{'AB' * 32} ") == ChainHead(12, "ab" * 32)
    for bad in ("12", f"0:{'a' * 64}", f"x:{'a' * 64}", "3:abc"):
        with pytest.raises(ValueError, match="is not SEQ:SHA256"):
            ChainHead.parse(bad)
