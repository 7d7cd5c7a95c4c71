"""The traffic centre's storage, behind a small interface so a server database can replace SQLite.

``EventStore`` is what the collector needs. ``SqliteEventStore`` implements it for one file; a
PostgreSQL version would use the same tables with ``INSERT ... ON CONFLICT (event_id) DO NOTHING``.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from edge.ops.files import private_file

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    camera TEXT NOT NULL,
    type TEXT NOT NULL,
    decided_time TEXT NOT NULL,
    historical INTEGER NOT NULL,
    received_utc REAL NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_site ON events (site, camera, decided_time);
CREATE TABLE IF NOT EXISTS evidence (
    event_id TEXT PRIMARY KEY,  -- the violation's id in events; either may arrive first
    site TEXT NOT NULL,
    camera TEXT NOT NULL,
    status TEXT NOT NULL,  -- recorded | lost
    received_utc REAL NOT NULL,
    payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sites (
    site TEXT NOT NULL,
    camera TEXT NOT NULL,
    availability TEXT NOT NULL DEFAULT 'unknown',
    availability_utc REAL,
    status TEXT,
    status_utc REAL,
    duplicates INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    last_rejection TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (site, camera)
);
"""

# Each box's evidence chain as its events announced it: the newest (sequence, manifest hash), and
# the sequence numbers that were skipped (a range each; a late arrival splits or closes its range).
_CHAIN_SCHEMA = """
CREATE TABLE IF NOT EXISTS chain_heads (
    site TEXT NOT NULL,
    camera TEXT NOT NULL,
    device TEXT NOT NULL,
    seq INTEGER NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    received_utc REAL NOT NULL,
    PRIMARY KEY (site, camera)
);
CREATE TABLE IF NOT EXISTS chain_gaps (
    site TEXT NOT NULL,
    camera TEXT NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    noted_utc REAL NOT NULL,
    PRIMARY KEY (site, camera, first_seq)
);
"""


@dataclass(frozen=True)
class ChainGap:
    """Evidence sequence numbers ``first_seq``..``last_seq`` of one box that never reached the centre."""

    site: str
    camera: str
    first_seq: int
    last_seq: int
    noted_utc: float

    @property
    def numbers(self) -> str:
        return _numbers(self.first_seq, self.last_seq)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "numbers": self.numbers}


def _numbers(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"


# Messages the collector rejected, kept so nothing that arrived is silently gone: what, from where, why.
_DEAD_LETTER_SCHEMA = """
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_utc REAL NOT NULL,
    site TEXT NOT NULL,
    camera TEXT NOT NULL,
    topic TEXT NOT NULL,
    reason TEXT NOT NULL,
    size INTEGER NOT NULL,
    prefix BLOB NOT NULL
);
"""
DEAD_LETTER_PREFIX_BYTES = 1024  # enough to recognise a payload; a flood of 256 KiB ones stays small
DEAD_LETTERS_KEPT = 100_000  # oldest rows beyond this are deleted, so a flood cannot fill the disk


@dataclass(frozen=True)
class SiteView:
    """What the centre knows about one site's camera."""

    site: str
    camera: str
    availability: str
    availability_utc: float | None
    status: dict[str, Any] | None
    crossings: int
    violations: int
    historical: int
    duplicates: int
    rejected: int
    last_rejection: str
    evidence_recorded: int  # violations whose evidence the box recorded
    evidence_lost: int  # violations whose evidence the box reported lost
    evidence_pending: int  # violations without an evidence outcome yet
    dead_letters: int  # rejected messages kept in the dead-letter table
    chain_gaps: tuple[str, ...]  # open evidence chain gaps: the missing sequence numbers, "3-4" or "7"

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "chain_gaps": list(self.chain_gaps)}


@dataclass(frozen=True)
class DeadLetter:
    """One rejected message: the first ``DEAD_LETTER_PREFIX_BYTES`` of its payload and why it was rejected."""

    received_utc: float
    site: str
    camera: str
    topic: str
    reason: str
    size: int
    prefix: bytes

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "prefix": self.prefix.decode("utf-8", errors="replace")}


class EventStore(Protocol):
    def add_event(self, payload: dict[str, Any]) -> bool:
        """Store a validated event payload once; False (and a duplicate counted) if its id is known."""
        ...

    def add_evidence(self, payload: dict[str, Any]) -> bool:
        """Store a validated evidence outcome once per event id; False if it changed nothing."""
        ...

    def set_availability(self, site: str, camera: str, value: str) -> None: ...

    def set_status(self, site: str, camera: str, payload: dict[str, Any]) -> None: ...

    def note_rejected(self, site: str, camera: str, reason: str) -> None: ...

    def note_chain_head(self, payload: dict[str, Any]) -> ChainGap | None:
        """Keep an evidence message's chain head if it is the box's newest; the gap it reveals, if any."""
        ...

    def chain_gaps(self, site: str | None = None) -> list[ChainGap]: ...

    def add_dead_letter(self, site: str, camera: str, topic: str, reason: str, payload: bytes) -> None: ...

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]: ...

    def sites(self) -> list[SiteView]: ...

    def events(self, site: str | None = None, limit: int = 100) -> list[dict[str, Any]]: ...

    def close(self) -> None: ...


class SqliteEventStore:
    """``EventStore`` in one SQLite file (WAL); safe to call from several threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(private_file(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._db.executescript(_CHAIN_SCHEMA)
        self._db.executescript(_DEAD_LETTER_SCHEMA)

    def add_event(self, payload: dict[str, Any]) -> bool:
        site, camera = payload["site"], payload["camera"]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._ensure_site(site, camera)
                new = (
                    self._db.execute(
                        "INSERT INTO events"
                        " (event_id, site, camera, type, decided_time, historical, received_utc, payload)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
                        (
                            payload["id"],
                            site,
                            camera,
                            payload["type"],
                            payload["decided_time"],
                            int(payload["historical"]),
                            time.time(),
                            json.dumps(payload, sort_keys=True),
                        ),
                    ).rowcount
                    == 1
                )
                if not new:
                    self._db.execute(
                        "UPDATE sites SET duplicates = duplicates + 1 WHERE site=? AND camera=?",
                        (site, camera),
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return new

    def add_evidence(self, payload: dict[str, Any]) -> bool:
        """One outcome per event; a recorded outcome replaces a lost one, never the other way round."""
        with self._lock:
            return (
                self._db.execute(
                    "INSERT INTO evidence (event_id, site, camera, status, received_utc, payload)"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO UPDATE SET"
                    " status=excluded.status, received_utc=excluded.received_utc, payload=excluded.payload"
                    " WHERE evidence.status = 'lost' AND excluded.status = 'recorded'",
                    (
                        payload["event_id"],
                        payload["site"],
                        payload["camera"],
                        payload["status"],
                        time.time(),
                        json.dumps(payload, sort_keys=True),
                    ),
                ).rowcount
                == 1
            )

    def evidence(self, event_ids: list[str] | None = None) -> dict[str, dict[str, Any]]:
        """Evidence outcomes by event id (all, or those of ``event_ids``)."""
        with self._lock:
            rows = self._db.execute("SELECT event_id, payload FROM evidence").fetchall()
        wanted = None if event_ids is None else set(event_ids)
        return {r[0]: json.loads(r[1]) for r in rows if wanted is None or r[0] in wanted}

    def set_availability(self, site: str, camera: str, value: str) -> None:
        self._update(site, camera, "availability=?, availability_utc=?", (value, time.time()))

    def set_status(self, site: str, camera: str, payload: dict[str, Any]) -> None:
        self._update(
            site, camera, "status=?, status_utc=?", (json.dumps(payload, sort_keys=True), time.time())
        )

    def note_rejected(self, site: str, camera: str, reason: str) -> None:
        self._update(site, camera, "rejected = rejected + 1, last_rejection=?", (reason[:500],))

    def add_dead_letter(self, site: str, camera: str, topic: str, reason: str, payload: bytes) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    "INSERT INTO dead_letters (received_utc, site, camera, topic, reason, size, prefix)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (time.time(), site, camera, topic, reason[:500], len(payload),
                     bytes(payload[:DEAD_LETTER_PREFIX_BYTES])),
                ).lastrowid  # fmt: skip
                self._db.execute("DELETE FROM dead_letters WHERE id <= ?", ((row or 0) - DEAD_LETTERS_KEPT,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """The newest rejected messages first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT received_utc, site, camera, topic, reason, size, prefix FROM dead_letters"
                " ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [DeadLetter(*r[:6], bytes(r[6])) for r in rows]

    def sites(self) -> list[SiteView]:
        """Each box's row with its event counts, evidence outcomes, dead letters and open chain gaps."""
        with self._lock:
            rows = self._db.execute(
                """SELECT s.site, s.camera, s.availability, s.availability_utc, s.status, s.duplicates,
                          s.rejected, s.last_rejection, COALESCE(e.crossings, 0), COALESCE(e.violations, 0),
                          COALESCE(e.historical, 0), COALESCE(e.recorded, 0), COALESCE(e.lost, 0),
                          COALESCE(e.pending, 0), COALESCE(d.letters, 0),
                          (SELECT json_group_array(json_array(g.first_seq, g.last_seq)) FROM
                             (SELECT first_seq, last_seq FROM chain_gaps
                              WHERE site = s.site AND camera = s.camera ORDER BY first_seq) g)
                   FROM sites s
                   LEFT JOIN (SELECT e.site, e.camera, SUM(e.type = 'crossing') AS crossings,
                                     SUM(e.type = 'violation') AS violations, SUM(e.historical) AS historical,
                                     SUM(e.type = 'violation' AND v.status = 'recorded') AS recorded,
                                     SUM(e.type = 'violation' AND v.status = 'lost') AS lost,
                                     SUM(e.type = 'violation' AND v.event_id IS NULL) AS pending
                              FROM events e LEFT JOIN evidence v ON v.event_id = e.event_id
                              GROUP BY e.site, e.camera) e ON e.site = s.site AND e.camera = s.camera
                   LEFT JOIN (SELECT site, camera, COUNT(*) AS letters FROM dead_letters GROUP BY site, camera) d
                          ON d.site = s.site AND d.camera = s.camera
                   ORDER BY s.site, s.camera"""
            ).fetchall()
        return [
            SiteView(
                site=r[0],
                camera=r[1],
                availability=r[2],
                availability_utc=r[3],
                status=json.loads(r[4]) if r[4] else None,
                duplicates=r[5],
                rejected=r[6],
                last_rejection=r[7],
                crossings=r[8],
                violations=r[9],
                historical=r[10],
                evidence_recorded=r[11],
                evidence_lost=r[12],
                evidence_pending=r[13],
                dead_letters=r[14],
                chain_gaps=tuple(_numbers(first, last) for first, last in json.loads(r[15])),
            )
            for r in rows
        ]

    def events(self, site: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        sql, args = "SELECT payload FROM events", []
        if site is not None:
            sql, args = sql + " WHERE site=?", [site]
        with self._lock:
            rows = self._db.execute(
                sql + " ORDER BY decided_time DESC, event_id LIMIT ?", (*args, limit)
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def note_chain_head(self, payload: dict[str, Any]) -> ChainGap | None:
        if payload.get("status") != "recorded":
            return None  # lost evidence has no place in the chain
        site, camera, seq = payload["site"], payload["camera"], payload["sequence"]
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._ensure_site(site, camera)  # a gap is shown in the box's row even before its first event
                head = self._db.execute(
                    "SELECT seq FROM chain_heads WHERE site=? AND camera=?", (site, camera)
                ).fetchone()
                gap = None
                if head is None or seq > head[0]:
                    self._db.execute(
                        "INSERT OR REPLACE INTO chain_heads VALUES (?, ?, ?, ?, ?, ?)",
                        (site, camera, payload["device"], seq, payload["manifest_sha256"], now),
                    )
                    # The first number a box is seen with is its baseline: what came before
                    # (evidence from before the centre or this software) was never announced.
                    if head is not None and seq > head[0] + 1:
                        gap = ChainGap(site, camera, head[0] + 1, seq - 1, now)
                        self._db.execute(
                            "INSERT INTO chain_gaps VALUES (?, ?, ?, ?, ?)",
                            (site, camera, gap.first_seq, gap.last_seq, now),
                        )
                else:
                    self._fill_gap(site, camera, seq)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        if gap is not None:
            log.error(
                "EVIDENCE CHAIN GAP: box %s/%s (device %s) skipped evidence sequence number(s) %s",
                site, camera, payload["device"], gap.numbers,
            )  # fmt: skip
        return gap

    def chain_gaps(self, site: str | None = None) -> list[ChainGap]:
        """Open gaps, oldest first: evidence sequence numbers the centre has not received."""
        sql, args = "SELECT * FROM chain_gaps", ()
        if site is not None:
            sql, args = sql + " WHERE site=?", (site,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY site, camera, first_seq", args).fetchall()
        return [ChainGap(*r) for r in rows]

    def _fill_gap(self, site: str, camera: str, seq: int) -> None:
        """A late arrival (a re-delivery or backlog overtaken by newer events) closes its part of a gap."""
        row = self._db.execute(
            "SELECT first_seq, last_seq, noted_utc FROM chain_gaps"
            " WHERE site=? AND camera=? AND first_seq<=? AND last_seq>=?",
            (site, camera, seq, seq),
        ).fetchone()
        if row is None:
            return
        first, last, noted = row
        self._db.execute("DELETE FROM chain_gaps WHERE site=? AND camera=? AND first_seq=?", (site, camera, first))
        for lo, hi in ((first, seq - 1), (seq + 1, last)):
            if lo <= hi:
                self._db.execute("INSERT INTO chain_gaps VALUES (?, ?, ?, ?, ?)", (site, camera, lo, hi, noted))
        log.info("evidence chain of %s/%s: sequence %d arrived late (gap %d-%d)", site, camera, seq, first, last)

    def event_ids(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT event_id FROM events ORDER BY event_id")]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _ensure_site(self, site: str, camera: str) -> None:
        self._db.execute(
            "INSERT INTO sites (site, camera) VALUES (?, ?) ON CONFLICT DO NOTHING", (site, camera)
        )

    def _update(self, site: str, camera: str, assignments: str, values: tuple[Any, ...]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._ensure_site(site, camera)
                self._db.execute(
                    f"UPDATE sites SET {assignments} WHERE site=? AND camera=?", (*values, site, camera)
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise


def read_chain_head(db: sqlite3.Connection, site: str, camera: str) -> tuple[int, str] | None:
    """The newest (sequence, manifest SHA-256) a centre database holds for a box, read through ``db``
    (opened read-only by the caller); None when the box never announced one."""
    try:
        row = db.execute(
            "SELECT seq, manifest_sha256 FROM chain_heads WHERE site=? AND camera=?", (site, camera)
        ).fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None  # a centre from before chain heads were kept
        raise
    return (int(row[0]), str(row[1])) if row else None
