"""Tampering with stored evidence is found and named precisely by ``verify``."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

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
