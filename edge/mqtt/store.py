"""The traffic centre's storage, behind a small interface so a server database can replace SQLite.

``EventStore`` is what the collector needs. ``SqliteEventStore`` implements it for one file; a
PostgreSQL version would use the same tables with ``INSERT ... ON CONFLICT (event_id) DO NOTHING``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from edge.ops.files import private_file

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

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class EventStore(Protocol):
    def add_event(self, payload: dict[str, Any]) -> bool:
        """Store a validated event payload once; False (and a duplicate counted) if its id is known."""
        ...

    def set_availability(self, site: str, camera: str, value: str) -> None: ...

    def set_status(self, site: str, camera: str, payload: dict[str, Any]) -> None: ...

    def note_rejected(self, site: str, camera: str, reason: str) -> None: ...

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

    def set_availability(self, site: str, camera: str, value: str) -> None:
        self._update(site, camera, "availability=?, availability_utc=?", (value, time.time()))

    def set_status(self, site: str, camera: str, payload: dict[str, Any]) -> None:
        self._update(
            site, camera, "status=?, status_utc=?", (json.dumps(payload, sort_keys=True), time.time())
        )

    def note_rejected(self, site: str, camera: str, reason: str) -> None:
        self._update(site, camera, "rejected = rejected + 1, last_rejection=?", (reason[:500],))

    def sites(self) -> list[SiteView]:
        with self._lock:
            rows = self._db.execute(
                """SELECT s.site, s.camera, s.availability, s.availability_utc, s.status, s.duplicates,
                          s.rejected, s.last_rejection,
                          COALESCE(SUM(e.type = 'crossing'), 0), COALESCE(SUM(e.type = 'violation'), 0),
                          COALESCE(SUM(e.historical), 0)
                   FROM sites s LEFT JOIN events e ON e.site = s.site AND e.camera = s.camera
                   GROUP BY s.site, s.camera ORDER BY s.site, s.camera"""
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
