"""Durable outbox: every message is committed to SQLite before any publish, deleted only on PUBACK.

paho keeps in-flight messages only in memory; this table, not the MQTT session, is the source
of truth. Rows are sent in ``seq`` order. Size cap policy: past ``max_rows`` the oldest signal
changes, then the oldest crossings, are dropped to make room; violations are never dropped (the
cap is exceeded instead, with a warning). Status rows coalesce: one pending row per key.

The same file holds the box's ledger of violations whose evidence outcome the centre has not yet
been told (``awaiting_evidence``): a violation enters it in the transaction that queues the
violation, and leaves it in the transaction that queues its evidence message (recorded or lost).
What is left at start-up belongs to violations a crash overtook.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from edge.ops.files import private_file

log = logging.getLogger(__name__)


class MessageKind(str, Enum):
    VIOLATION = "violation"
    CROSSING = "crossing"
    STATUS = "status"
    SIGNAL = "signal"
    EVIDENCE = "evidence"


# When the outbox is full, drop from these kinds, oldest first, in this order. Violations and evidence never.
DROP_ORDER = (MessageKind.SIGNAL, MessageKind.STATUS, MessageKind.CROSSING)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, so a late PUBACK cannot hit a newer row
    kind TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    retain INTEGER NOT NULL DEFAULT 0,
    coalesce_key TEXT UNIQUE,
    created_utc REAL NOT NULL,
    event_utc REAL,
    historical INTEGER  -- NULL until the first publish attempt decides it
);
CREATE TABLE IF NOT EXISTS awaiting_evidence (
    event_id TEXT PRIMARY KEY,  -- a violation queued before its evidence outcome was known
    queued_utc REAL NOT NULL,
    settled INTEGER NOT NULL DEFAULT 0  -- 1: the outcome came first (a tombstone the violation clears)
);
"""


class OutboxError(RuntimeError):
    """The outbox file cannot be opened or written (missing folder, full disk, corrupt file)."""


@dataclass(frozen=True)
class OutboxRow:
    seq: int
    kind: MessageKind
    topic: str
    payload: str
    retain: bool
    event_utc: float | None
    historical: bool | None


class Outbox:
    """Thread-safe: the pipeline adds, the link thread reads and deletes; one short transaction each."""

    def __init__(self, path: Path, max_rows: int = 100_000, fsync: bool = True) -> None:
        self.path = Path(path)
        self.max_rows = max_rows
        self._lock = threading.Lock()
        self.dropped: dict[MessageKind, int] = {}
        self._last_warning = -1e9
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(private_file(self.path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if fsync else 'NORMAL'}")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.executescript(_SCHEMA)
            # Outcomes whose violation was never queued (its commit failed) need no memory beyond a day.
            self._db.execute("DELETE FROM awaiting_evidence WHERE settled=1 AND queued_utc < ?", (time.time() - 86400,))
            self._count = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
        except (sqlite3.Error, OSError) as exc:
            raise OutboxError(f"outbox {self.path}: cannot open: {exc}") from exc

    def __len__(self) -> int:
        return self._count

    def add(
        self,
        kind: MessageKind,
        topic: str,
        payload: str,
        *,
        retain: bool = False,
        event_utc: float | None = None,
        coalesce_key: str | None = None,
        awaits_evidence: str | None = None,
        settles_evidence: str | None = None,
    ) -> int:
        """Commit one message; returns its seq. Raises OutboxError when it cannot be stored.

        ``awaits_evidence`` enters that event id in the evidence ledger, ``settles_evidence``
        takes it out, in the same transaction as the message.
        """
        with self._lock, self._write(f"add {kind.value}"):
            self._db.execute("BEGIN IMMEDIATE")
            if awaits_evidence is not None:
                self._ledger(awaits_evidence, settled=False)
            if settles_evidence is not None:
                self._ledger(settles_evidence, settled=True)
            if coalesce_key is not None:
                self._count -= self._db.execute(
                    "DELETE FROM outbox WHERE coalesce_key=?", (coalesce_key,)
                ).rowcount
            seq = self._db.execute(
                "INSERT INTO outbox (kind, topic, payload, retain, coalesce_key, created_utc, event_utc)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (kind.value, topic, payload, int(retain), coalesce_key, time.time(), event_utc),
            ).lastrowid
            self._count += 1
            if self._count > self.max_rows:
                self._make_room(self._count - self.max_rows)
            self._db.execute("COMMIT")
            return int(seq)

    def _ledger(self, event_id: str, settled: bool) -> None:
        """A violation and its evidence outcome cancel out, whichever is queued first."""
        gone = self._db.execute(
            "DELETE FROM awaiting_evidence WHERE event_id=? AND settled=?", (event_id, int(not settled))
        ).rowcount
        if not gone:
            self._db.execute(
                "INSERT INTO awaiting_evidence (event_id, queued_utc, settled) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (event_id, time.time(), int(settled)),
            )

    def _make_room(self, excess: int) -> None:
        for kind in DROP_ORDER:
            if excess <= 0:
                return
            dropped = self._db.execute(
                "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE kind=? ORDER BY seq LIMIT ?)",
                (kind.value, excess),
            ).rowcount
            self.dropped[kind] = self.dropped.get(kind, 0) + dropped
            self._count -= dropped
            excess -= dropped
        self._warn_full(over_cap=excess > 0)

    def _warn_full(self, over_cap: bool) -> None:
        """At most one warning a minute: a full outbox stays full for a while."""
        now = time.monotonic()
        if now - self._last_warning < 60:
            return
        self._last_warning = now
        dropped = ", ".join(f"{n} {k.value}" for k, n in self.dropped.items() if n) or "nothing"
        log.warning(
            "outbox %s is at its cap of %d rows; dropped so far: %s", self.path, self.max_rows, dropped
        )
        if over_cap:
            log.warning("outbox holds %d rows, above its cap: violations are never dropped", self._count)

    def pending(self, after_seq: int, limit: int, up_to_seq: int | None = None) -> list[OutboxRow]:
        """Rows with ``after_seq < seq (<= up_to_seq)``, oldest first."""
        if limit <= 0:
            return []
        sql = "SELECT seq, kind, topic, payload, retain, event_utc, historical FROM outbox WHERE seq > ?"
        args: list[object] = [after_seq]
        if up_to_seq is not None:
            sql += " AND seq <= ?"
            args.append(up_to_seq)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY seq LIMIT ?", (*args, limit)).fetchall()
        return [
            OutboxRow(
                seq,
                MessageKind(kind),
                topic,
                payload,
                bool(retain),
                event_utc,
                None if hist is None else bool(hist),
            )
            for seq, kind, topic, payload, retain, event_utc, hist in rows
        ]

    def awaiting_evidence(self) -> list[str]:
        """Violations queued whose evidence outcome is not queued yet, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT event_id FROM awaiting_evidence WHERE settled=0 ORDER BY queued_utc, event_id"
            ).fetchall()
        return [r[0] for r in rows]

    def last_seq(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT MAX(seq) FROM outbox").fetchone()
        return int(row[0] or 0)

    def set_historical(self, decisions: Iterable[tuple[int, bool]]) -> None:
        """Record, once per row, whether its first publish attempt was late (retries then say the same)."""
        items = [(int(h), seq) for seq, h in decisions]
        if not items:
            return
        with self._lock, self._write("mark attempts"):
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("UPDATE outbox SET historical=? WHERE seq=? AND historical IS NULL", items)
            self._db.execute("COMMIT")

    def delete(self, seqs: Iterable[int]) -> None:
        """Forget acknowledged rows."""
        items = [(s,) for s in seqs]
        if not items:
            return
        with self._lock, self._write("delete acknowledged"):
            self._db.execute("BEGIN IMMEDIATE")
            before = self._db.total_changes
            self._db.executemany("DELETE FROM outbox WHERE seq=?", items)
            self._count -= self._db.total_changes - before
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, what: str) -> _WriteGuard:
        return _WriteGuard(self._db, f"outbox {self.path}: {what}", self._recount)

    def _recount(self) -> None:
        """After a rolled-back transaction the cached row count may be off; read it again."""
        with contextlib.suppress(sqlite3.Error):
            self._count = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]


class _WriteGuard:
    """Roll back a failed transaction and turn sqlite's error into an OutboxError naming the file."""

    def __init__(self, db: sqlite3.Connection, what: str, after_rollback: Callable[[], None]) -> None:
        self._db, self._what, self._after_rollback = db, what, after_rollback

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> bool:
        if exc is None:
            return False
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")
        self._after_rollback()
        if isinstance(exc, sqlite3.Error):
            raise OutboxError(f"{self._what} failed: {exc}") from exc
        return False
