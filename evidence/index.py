"""The SQLite index (sqlite-utils, WAL): events, their files, review state and an append-only audit log."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from edge.ops.files import private_file
from evidence.storage import FILE_MODE
from evidence.types import EvidenceRecord, FileKind, ReviewState

GENESIS = "0" * 64  # "previous manifest" of the first event in a chain

# Rows that must never change once written. The audit log is append-only; event rows may only
# have their review/export columns updated, and neither may be deleted.
_TRIGGERS = """
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'evidence events are never deleted; retention deletes files only'); END;
CREATE TRIGGER IF NOT EXISTS events_fixed_columns BEFORE UPDATE OF
    event_id, seq, folder, manifest_sha256, prev_manifest_sha256, entry_utc, committed_utc ON events
BEGIN SELECT RAISE(ABORT, 'committed evidence columns cannot change'); END;
"""


@dataclass(frozen=True)
class EventRow:
    event_id: str
    seq: int
    folder: str
    manifest_sha256: str
    prev_manifest_sha256: str
    entry_utc: float
    committed_utc: float
    review_state: ReviewState
    exported_utc: float | None
    centre_confirmed_utc: float | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> EventRow:
        return cls(
            row["event_id"],
            row["seq"],
            row["folder"],
            row["manifest_sha256"],
            row["prev_manifest_sha256"],
            row["entry_utc"],
            row["committed_utc"],
            ReviewState(row["review_state"]),
            row["exported_utc"],
            row.get("centre_confirmed_utc"),
        )


@dataclass(frozen=True)
class FileRow:
    id: int
    event_id: str
    relpath: str
    kind: FileKind
    size: int
    sha256: str
    deleted_utc: float | None


class IndexDamaged(Exception):
    """The index cannot be read as an evidence index: empty, not SQLite, or tables missing."""


_REQUIRED_TABLES = ("events", "files", "audit")


def connect_read_only(path: Path) -> tuple[sqlite3.Connection, Path | None]:
    """A connection that never writes to ``path``'s folder, and the temporary folder it may use.

    Without a write-ahead log (no writer has it open) the file is opened ``immutable``: SQLite then
    creates no -wal/-shm files, which also works on a copy without write bits. A live index (its
    -wal and a writable -shm present) is opened ``mode=ro`` so the writer's log is read under its
    locks. A copy of a live index (-shm missing or without write bits) is read from a private
    temporary copy of the file and its log; the caller removes that folder when done.
    """
    wal, shm = path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")
    if not wal.exists():
        return _connect_uri(path, "immutable=1"), None
    if shm.exists() and shm.stat().st_mode & 0o222:  # a live index; SQLite would create a missing -shm
        db = _connect_uri(path, "mode=ro")
        try:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return db, None
        except sqlite3.OperationalError:
            db.close()
    temp = Path(tempfile.mkdtemp(prefix="crossguard-index-"))
    shutil.copyfile(path, temp / path.name)
    shutil.copyfile(wal, temp / wal.name)
    return _connect_uri(temp / path.name, "mode=ro"), temp


def _connect_uri(path: Path, options: str) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?{options}", uri=True, timeout=30.0, isolation_level=None)


class EvidenceIndex:
    """One connection to the index; each thread or process opens its own.

    ``read_only`` (for verification) never writes, creates no schema and raises ``IndexDamaged``
    naming the file when it is not a readable evidence index.
    """

    def __init__(self, path: Path, read_only: bool = False) -> None:
        self.path = path
        self._temp: Path | None = None
        if read_only:
            self._open_read_only()
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        private_file(path, FILE_MODE)  # reviewers in the service's group read it, like the evidence
        self.db = sqlite_utils.Database(sqlite3.connect(str(path), timeout=30.0, isolation_level=None))
        self.db.enable_wal()
        self.db.execute("PRAGMA synchronous=FULL")  # a committed event survives a power cut
        self._create_schema()

    def _open_read_only(self) -> None:
        try:
            db, self._temp = connect_read_only(self.path)
        except (sqlite3.DatabaseError, OSError) as exc:
            raise IndexDamaged(f"{self.path}: cannot be opened ({exc})") from None
        self.db = sqlite_utils.Database(db)
        try:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as exc:
            self.close()
            raise IndexDamaged(f"{self.path}: not a readable SQLite database ({exc})") from None
        missing = [t for t in _REQUIRED_TABLES if t not in tables]
        if missing:
            self.close()
            size = self.path.stat().st_size
            raise IndexDamaged(f"{self.path}: table(s) {', '.join(missing)} missing (file of {size} bytes)")

    def close(self) -> None:
        self.db.close()
        self._remove_temp()

    def _remove_temp(self) -> None:
        if self._temp is not None:
            shutil.rmtree(self._temp, ignore_errors=True)
            self._temp = None

    def _create_schema(self) -> None:
        db = self.db
        db["events"].create(
            {
                "event_id": str,
                "seq": int,
                "folder": str,
                "manifest_sha256": str,
                "prev_manifest_sha256": str,
                "entry_utc": float,
                "committed_utc": float,
                "site_id": str,
                "crosswalk_id": str,
                "track_id": int,
                "direction": str,
                "since_dont_walk_s": float,
                "partial": int,
                "review_state": str,
                "reviewer": str,
                "review_reason": str,
                "reviewed_utc": float,
                "exported_utc": float,
            },
            pk="event_id",
            not_null=["seq", "folder", "manifest_sha256", "review_state"],
            if_not_exists=True,
        )
        db["events"].create_index(["seq"], unique=True, if_not_exists=True)
        db["files"].create(
            {
                "id": int,
                "event_id": str,
                "relpath": str,
                "kind": str,
                "size": int,
                "sha256": str,
                "deleted_utc": float,
                "deleted_reason": str,
            },
            pk="id",
            foreign_keys=[("event_id", "events", "event_id")],
            if_not_exists=True,
        )
        db["files"].create_index(["event_id", "relpath"], unique=True, if_not_exists=True)
        db["audit"].create(
            {"id": int, "utc": float, "event_id": str, "action": str, "actor": str, "detail": str},
            pk="id",
            if_not_exists=True,
        )
        db["unwritten"].create(
            {"id": int, "utc": float, "event_id": str, "reason": str}, pk="id", if_not_exists=True
        )
        if "centre_confirmed_utc" not in db["events"].columns_dict:  # an index from before uploads
            db["events"].add_column("centre_confirmed_utc", float)
        db.executescript(_TRIGGERS)

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        with self.db.atomic():
            yield self.db

    # -- writing -----------------------------------------------------------------------------

    def head(self) -> tuple[int, str]:
        """(sequence, manifest SHA-256) of the newest committed event; (0, GENESIS) when empty."""
        row = self.db.execute("SELECT seq, manifest_sha256 FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS)

    def commit_event(self, record: EvidenceRecord, prev_sha: str, meta: dict[str, Any]) -> None:
        """Insert the event, its files and the audit entry in one transaction."""
        now = time.time()
        with self.transaction() as db:
            db["events"].insert(
                {
                    "event_id": record.event_id,
                    "seq": record.sequence,
                    "folder": record.folder,
                    "manifest_sha256": record.manifest_sha256,
                    "prev_manifest_sha256": prev_sha,
                    "committed_utc": now,
                    "review_state": ReviewState.NEW.value,
                    **meta,
                }
            )
            db["files"].insert_all(
                {
                    "event_id": record.event_id,
                    "relpath": f.relpath,
                    "kind": f.kind.value,
                    "size": f.size,
                    "sha256": f.sha256,
                }
                for f in record.files
            )
            self._audit(db, record.event_id, "committed", "recorder", f"seq {record.sequence}", now)

    def append_audit(self, event_id: str, action: str, actor: str, detail: str = "") -> None:
        with self.transaction() as db:
            self._audit(db, event_id, action, actor, detail, time.time())

    @staticmethod
    def _audit(
        db: sqlite_utils.Database, event_id: str, action: str, actor: str, detail: str, utc: float
    ) -> None:
        db["audit"].insert(
            {"utc": utc, "event_id": event_id, "action": action, "actor": actor, "detail": detail}
        )

    def set_review(
        self, event_id: str, state: ReviewState, reviewer: str, reason: str, action: str | None = None
    ) -> None:
        """Record a decision; ``action`` names the audit row (default ``review:<state>``)."""
        now = time.time()
        with self.transaction() as db:
            db.execute(
                "UPDATE events SET review_state=?, reviewer=?, review_reason=?, reviewed_utc=?"
                " WHERE event_id=?",
                [state.value, reviewer, reason, now, event_id],
            )
            self._audit(db, event_id, action or f"review:{state.value}", reviewer, reason, now)

    def mark_exported(self, event_id: str, actor: str, detail: str) -> None:
        now = time.time()
        with self.transaction() as db:
            db.execute("UPDATE events SET exported_utc=? WHERE event_id=?", [now, event_id])
            self._audit(db, event_id, "exported", actor, detail, now)

    def mark_centre_confirmed(self, event_id: str, detail: str) -> None:
        """The centre holds this event's evidence, verified: from now on retention may delete it (once reviewed)."""
        now = time.time()
        with self.transaction() as db:
            db.execute("UPDATE events SET centre_confirmed_utc=? WHERE event_id=?", [now, event_id])
            self._audit(db, event_id, "centre-confirmed", "uploader", detail, now)

    def awaiting_centre(self) -> list[EventRow]:
        """Events the centre has not confirmed yet, oldest first: the uploader's outbox."""
        return self.events("centre_confirmed_utc IS NULL")

    def mark_deleted(self, files: list[FileRow], reason: str) -> None:
        now = time.time()
        with self.transaction() as db:
            for f in files:
                db.execute("UPDATE files SET deleted_utc=?, deleted_reason=? WHERE id=?", [now, reason, f.id])
                self._audit(db, f.event_id, "purged", "retention", f"{f.relpath}: {reason}", now)

    def record_unwritten(self, event_id: str, reason: str) -> None:
        with self.transaction() as db:
            db["unwritten"].insert({"utc": time.time(), "event_id": event_id, "reason": reason})

    # -- reading -----------------------------------------------------------------------------

    @contextmanager
    def _rows(self, table: str) -> Iterator[None]:
        """A row without its columns or with an impossible value is a damaged index, said as such."""
        try:
            yield
        except (KeyError, ValueError, TypeError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
            raise IndexDamaged(f"{self.path}: a row of '{table}' cannot be read ({reason})") from None

    def event(self, event_id: str) -> EventRow | None:
        rows = list(self.db.query("SELECT * FROM events WHERE event_id=?", [event_id]))
        with self._rows("events"):
            return EventRow.from_row(rows[0]) if rows else None

    def events(self, where: str = "", params: list[Any] | None = None) -> list[EventRow]:
        sql = "SELECT * FROM events" + (f" WHERE {where}" if where else "") + " ORDER BY seq"
        with self._rows("events"):
            return [EventRow.from_row(r) for r in self.db.query(sql, params or [])]

    def files(self, event_id: str | None = None, live_only: bool = False) -> list[FileRow]:
        clauses, params = [], []
        if event_id is not None:
            clauses.append("event_id=?")
            params.append(event_id)
        if live_only:
            clauses.append("deleted_utc IS NULL")
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        with self._rows("files"):
            return [
                FileRow(
                    r["id"],
                    r["event_id"],
                    r["relpath"],
                    FileKind(r["kind"]),
                    r["size"],
                    r["sha256"],
                    r["deleted_utc"],
                )
                for r in self.db.query(f"SELECT * FROM files{where} ORDER BY id", params)
            ]

    def stored_bytes(self) -> int:
        row = self.db.execute("SELECT COALESCE(SUM(size), 0) FROM files WHERE deleted_utc IS NULL").fetchone()
        return int(row[0])

    def audit(self, event_id: str | None = None) -> list[dict[str, Any]]:
        if event_id is None:
            return list(self.db.query("SELECT * FROM audit ORDER BY id"))
        return list(self.db.query("SELECT * FROM audit WHERE event_id=? ORDER BY id", [event_id]))

    def committed_in_audit(self) -> dict[str, str]:
        """event id → audit detail of every commit ever logged (survives tampering with the events table)."""
        with self._rows("audit"):
            return {
                r["event_id"]: r["detail"] for r in self.db.query("SELECT * FROM audit WHERE action='committed'")
            }
