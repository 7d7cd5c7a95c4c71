"""Checks stored evidence: every file's hash, every manifest's signature, the chain, and the index.

Each problem names the event, the file and what is wrong, so a report can be read without tools.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.digest import sha256_file
from edge.mqtt.payloads import ChainHead
from evidence import signing
from evidence.index import GENESIS, EventRow, EvidenceIndex, IndexDamaged
from evidence.manifest import MANIFEST_NAME, SIGNATURE_NAME, sha256_hex
from evidence.storage import INDEX_FILE


class ProblemKind(str, Enum):
    FOLDER_MISSING = "folder-missing"
    FILE_MISSING = "file-missing"
    FILE_MODIFIED = "file-modified"
    FILE_UNLISTED = "file-unlisted"
    MANIFEST_MODIFIED = "manifest-modified"
    MANIFEST_UNREADABLE = "manifest-unreadable"
    SIGNATURE_INVALID = "signature-invalid"
    CHAIN_BROKEN = "chain-broken"
    EVENT_MISSING = "event-missing"
    EVENT_UNINDEXED = "event-unindexed"
    INDEX_MISMATCH = "index-mismatch"
    INDEX_DAMAGED = "index-damaged"
    HEAD_MISMATCH = "head-mismatch"  # the index disagrees with the chain head anchored outside the folder


@dataclass(frozen=True)
class Problem:
    kind: ProblemKind
    event_id: str  # "" when no event can be named (a damaged index, a truncated tail)
    path: str  # relative to the evidence root; "" when about the chain as a whole
    message: str

    def __str__(self) -> str:
        where = " ".join(([f"event {self.event_id}"] if self.event_id else []) + ([self.path] if self.path else []))
        return f"[{self.kind.value}] {where}: {self.message}" if where else f"[{self.kind.value}] {self.message}"


@dataclass
class VerifyReport:
    events: int = 0
    files: int = 0
    purged: int = 0  # files deleted by retention, recorded in the index: not a problem
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, kind: ProblemKind, event_id: str, path: str, message: str) -> None:
        self.problems.append(Problem(kind, event_id, path, message))


def _short(digest: str) -> str:
    return digest[:16] + "…"


def _well_formed(manifest: Any) -> bool:
    """The shape the checks below read: an object whose ``files`` are objects with path, hash and size."""
    if not isinstance(manifest, dict) or not isinstance(manifest.get("event", {}), dict):
        return False
    files = manifest.get("files", [])
    return isinstance(files, list) and all(
        isinstance(f, dict)
        and isinstance(f.get("path"), str)
        and isinstance(f.get("sha256"), str)
        and isinstance(f.get("size"), int)
        for f in files
    )


class Verifier:
    """Reads the folder and its index without writing a byte, so it also works on read-only copies.

    ``expect_head``, when known (from the traffic centre), catches events deleted from the end of
    the chain, which leave no gap inside the folder.
    """

    def __init__(self, root: Path, public_key: Ed25519PublicKey, expect_head: ChainHead | None = None) -> None:
        self.root = root
        self.key = public_key
        self.expect_head = expect_head
        self.index: EvidenceIndex | None = None
        self.index_damage = ""
        try:
            self.index = EvidenceIndex(root / INDEX_FILE, read_only=True)
        except IndexDamaged as exc:
            self.index_damage = str(exc)

    def close(self) -> None:
        if self.index is not None:
            self.index.close()

    def verify_all(self) -> VerifyReport:
        return self._guarded(self._verify_all)

    def verify_event(self, event_id: str) -> VerifyReport:
        return self._guarded(lambda report: self._verify_event(event_id, report))

    def _guarded(self, check: Callable[[VerifyReport], None]) -> VerifyReport:
        """Runs ``check``; an index that cannot be read is a finding, never a traceback."""
        report = VerifyReport()
        if self.index is None:
            return self._damaged(self.index_damage)
        try:
            check(report)
        except IndexDamaged as exc:  # rows with missing columns or impossible values
            return self._damaged(str(exc))
        except sqlite3.DatabaseError as exc:  # a corrupt page, a table without its columns
            return self._damaged(f"{self.root / INDEX_FILE}: {exc}")
        return report

    def _damaged(self, reason: str) -> VerifyReport:
        report = VerifyReport()
        report.add(ProblemKind.INDEX_DAMAGED, "", INDEX_FILE, f"{reason}; no event can be checked against it")
        self._check_unindexed([], report)
        return report

    def _verify_all(self, report: VerifyReport) -> None:
        assert self.index is not None
        rows = self.index.events()
        prev_row: EventRow | None = None
        for row in rows:
            self._check_event(row, prev_row, report)
            prev_row = row
        self._check_sequence(rows, report)
        self._check_head(rows, report)
        self._check_audit(rows, report)
        self._check_unindexed(rows, report)

    def _verify_event(self, event_id: str, report: VerifyReport) -> None:
        assert self.index is not None
        rows = self.index.events()
        pos = next((i for i, r in enumerate(rows) if r.event_id == event_id), None)
        if pos is None:
            committed = self.index.committed_in_audit()
            why = (
                "the audit log records its commit, so it was removed"
                if event_id in committed
                else "unknown event"
            )
            report.add(ProblemKind.EVENT_MISSING, event_id, "", f"not in the index ({why})")
            return
        self._check_event(rows[pos], rows[pos - 1] if pos else None, report)

    # -- one event ---------------------------------------------------------------------------------

    def _check_event(self, row: EventRow, prev: EventRow | None, report: VerifyReport) -> None:
        report.events += 1
        folder = self.root / row.folder
        if not folder.is_dir():
            report.add(ProblemKind.FOLDER_MISSING, row.event_id, row.folder, "event folder is missing")
            return
        manifest = self._check_manifest(row, report)
        if manifest is None:
            return
        self._check_link(row, prev, manifest, report)
        self._check_files(row, manifest, report)

    def _check_manifest(self, row: EventRow, report: VerifyReport) -> dict[str, Any] | None:
        mpath = self.root / row.folder / MANIFEST_NAME
        rel = f"{row.folder}/{MANIFEST_NAME}"
        if not mpath.is_file():
            report.add(ProblemKind.FILE_MISSING, row.event_id, rel, "manifest is missing")
            return None
        data = mpath.read_bytes()
        digest = sha256_hex(data)
        if digest != row.manifest_sha256:
            report.add(
                ProblemKind.MANIFEST_MODIFIED,
                row.event_id,
                rel,
                f"SHA-256 is {_short(digest)} but {_short(row.manifest_sha256)} was committed",
            )
        spath = self.root / row.folder / SIGNATURE_NAME
        if not spath.is_file():
            report.add(
                ProblemKind.FILE_MISSING, row.event_id, f"{row.folder}/{SIGNATURE_NAME}", "signature missing"
            )
        elif not signing.verify(self.key, spath.read_bytes(), data):
            report.add(
                ProblemKind.SIGNATURE_INVALID,
                row.event_id,
                rel,
                "Ed25519 signature does not match the manifest bytes (manifest or signature altered)",
            )
        try:
            manifest = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            report.add(ProblemKind.MANIFEST_UNREADABLE, row.event_id, rel, f"not valid JSON: {exc}")
            return None
        if not _well_formed(manifest):
            report.add(ProblemKind.MANIFEST_UNREADABLE, row.event_id, rel, "not a manifest (fields missing)")
            return None
        if manifest.get("event", {}).get("event_id") != row.event_id:
            report.add(
                ProblemKind.INDEX_MISMATCH,
                row.event_id,
                rel,
                f"manifest is for event {manifest.get('event', {}).get('event_id')}",
            )
        return manifest

    def _check_link(
        self, row: EventRow, prev: EventRow | None, manifest: dict[str, Any], report: VerifyReport
    ) -> None:
        rel = f"{row.folder}/{MANIFEST_NAME}"
        if manifest.get("sequence") != row.seq:
            report.add(
                ProblemKind.CHAIN_BROKEN,
                row.event_id,
                rel,
                f"manifest says sequence {manifest.get('sequence')}, index says {row.seq}",
            )
        expected = prev.manifest_sha256 if prev is not None else GENESIS
        claimed = manifest.get("previous_manifest_sha256")
        if claimed != expected:
            before = f"event {prev.event_id} (sequence {prev.seq})" if prev else "the start of the chain"
            report.add(
                ProblemKind.CHAIN_BROKEN,
                row.event_id,
                rel,
                f"previous manifest is {_short(str(claimed))} but the event before it, {before},"
                f" has manifest {_short(expected)}",
            )

    def _check_files(self, row: EventRow, manifest: dict[str, Any], report: VerifyReport) -> None:
        indexed = {f.relpath: f for f in self.index.files(row.event_id)}
        listed = {f["path"]: f for f in manifest.get("files", [])}
        for relpath, entry in listed.items():
            rel = f"{row.folder}/{relpath}"
            path = self.root / rel
            ix = indexed.get(relpath)
            if ix is not None and ix.sha256 != entry["sha256"]:
                report.add(
                    ProblemKind.INDEX_MISMATCH,
                    row.event_id,
                    rel,
                    "index and manifest list different SHA-256s",
                )
            if not path.is_file():
                if ix is not None and ix.deleted_utc is not None:
                    report.purged += 1
                else:
                    report.add(
                        ProblemKind.FILE_MISSING, row.event_id, rel, "file is missing (no retention record)"
                    )
                continue
            report.files += 1
            digest = sha256_file(path)
            if digest != entry["sha256"]:
                report.add(
                    ProblemKind.FILE_MODIFIED,
                    row.event_id,
                    rel,
                    f"SHA-256 is {_short(digest)} but the manifest lists {_short(entry['sha256'])}",
                )
            elif path.stat().st_size != entry["size"]:
                report.add(ProblemKind.FILE_MODIFIED, row.event_id, rel, "size differs from the manifest")
        known = set(listed) | {MANIFEST_NAME, SIGNATURE_NAME}
        for path in sorted((self.root / row.folder).rglob("*")):
            relpath = path.relative_to(self.root / row.folder).as_posix()
            if path.is_file() and relpath not in known:
                report.add(
                    ProblemKind.FILE_UNLISTED,
                    row.event_id,
                    f"{row.folder}/{relpath}",
                    "file is not listed in the manifest",
                )

    # -- the chain as a whole --------------------------------------------------------------------------

    def _check_sequence(self, rows: list[EventRow], report: VerifyReport) -> None:
        expected = 1
        for row in sorted(rows, key=lambda r: r.seq):
            if row.seq > expected:
                missing = ", ".join(str(s) for s in range(expected, row.seq))
                report.add(
                    ProblemKind.EVENT_MISSING,
                    row.event_id,
                    "",
                    f"sequence number(s) {missing} before this event are missing from the index",
                )
            expected = row.seq + 1

    def _check_head(self, rows: list[EventRow], report: VerifyReport) -> None:
        """The anchored head must be in the index with the same manifest; newer events are fine."""
        head = self.expect_head
        if head is None:
            return
        by_seq = {r.seq: r for r in rows}
        last = max(by_seq, default=0)
        anchored = (
            f"the chain head kept outside this folder is sequence {head.seq},"
            f" manifest {_short(head.manifest_sha256)}"
        )
        if head.seq > last:
            missing = str(last + 1) if head.seq == last + 1 else f"{last + 1}-{head.seq}"
            report.add(
                ProblemKind.EVENT_MISSING,
                "",
                "",
                f"sequence number(s) {missing} after the last indexed event (sequence {last}) are missing:"
                f" {anchored}",
            )
        elif head.seq in by_seq and by_seq[head.seq].manifest_sha256 != head.manifest_sha256:
            row = by_seq[head.seq]
            report.add(
                ProblemKind.HEAD_MISMATCH,
                row.event_id,
                f"{row.folder}/{MANIFEST_NAME}",
                f"the index has manifest {_short(row.manifest_sha256)} at sequence {row.seq}, but {anchored}",
            )

    def _check_audit(self, rows: list[EventRow], report: VerifyReport) -> None:
        present = {r.event_id for r in rows}
        for event_id, detail in sorted(self.index.committed_in_audit().items()):
            if event_id not in present:
                report.add(
                    ProblemKind.EVENT_MISSING,
                    event_id,
                    "",
                    f"committed ({detail}) according to the audit log, but gone from the index",
                )

    def _check_unindexed(self, rows: list[EventRow], report: VerifyReport) -> None:
        folders = {r.folder for r in rows}
        for manifest in sorted(self.root.glob(f"[0-9][0-9][0-9][0-9]/*/*/*/{MANIFEST_NAME}")):
            folder = manifest.parent.relative_to(self.root).as_posix()
            if folder not in folders:
                report.add(
                    ProblemKind.EVENT_UNINDEXED,
                    manifest.parent.name,
                    folder,
                    "event folder on disk is not in the index",
                )
