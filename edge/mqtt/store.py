"""The traffic centre's storage: one ``EventStore`` interface, on SQLite (one file) or PostgreSQL.

The schema is versioned: numbered SQL files in ``migrations/<dialect>/`` applied in order at open,
recorded in ``schema_version``. Events are stored once by id; each new event also adds to three rollups in
the same transaction, which analytics read: per crossing per UTC hour (``hourly``), per crossing per UTC day
(``daily``) and the whole city per UTC hour (``city_hourly``). Each query reads the coarsest that answers it.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, ClassVar, Protocol

from edge.ops.files import private_file

log = logging.getLogger(__name__)

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


class StoreError(Exception):
    """The database failed (connection lost, disk full ...): the message should be delivered again later."""


@dataclass(frozen=True)
class HourlyCount:
    """One crossing's counts in one UTC hour, as kept by the rollup (no track ids, no pictures)."""

    site: str
    camera: str
    crosswalk: str
    hour: str  # 'YYYY-MM-DDTHH:00:00Z'
    crossings: int  # every decided entry, violations included
    violations: int
    warnings: int
    gaps: int  # entries decided while enforcement was suspended

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


COMPLIANCE_GROUPS = ("crossing", "hour", "weekday", "week", "day")
MIGRATIONS = Path(__file__).with_name("migrations")


def hour_of(decided_time: str) -> str:
    """The rollup's hour key of an ISO UTC time: '2026-11-23T16:51:43.123Z' → '2026-11-23T16:00:00Z'."""
    return decided_time[:13] + ":00:00Z"


def hour_bound(value: str) -> str:
    """A query bound as the rollup's hour key: any ISO time or day ('2026-11-23', '…T16:51+01:00') → its UTC hour."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:00:00Z")


def _rollup_counts(payload: dict[str, Any]) -> tuple[int, int, int, int] | None:
    """(crossings, violations, warnings, gaps) one event adds to its hour; None for a type not counted."""
    kind = payload["type"]
    if kind in ("crossing", "violation"):
        return 1, int(kind == "violation"), 0, int(not payload.get("enforced", True))
    if kind == "pre_warning":
        return 0, 0, 1, 0
    return None  # stored, but counted nowhere until the centre knows what it means


_UPLOAD_COLUMNS = (
    "event_id, box, seq, manifest_sha256, prev_manifest_sha256, folder, site, camera, crosswalk, entry_time,"
    " confirmed_utc, review_state, reviewer, review_reason"
)


@dataclass(frozen=True)
class Upload:
    """A violation's evidence as uploaded by its box: the manifest's place in the chain, and its review."""

    event_id: str
    box: str
    seq: int
    manifest_sha256: str
    prev_manifest_sha256: str
    folder: str
    site: str
    camera: str
    crosswalk: str
    entry_time: str
    confirmed_utc: float | None = None
    review_state: str = "new"
    reviewer: str = ""
    review_reason: str = ""
    files: dict[str, str] | None = None  # path → SHA-256 of the files received

    @classmethod
    def from_row(cls, row: tuple[Any, ...], files: dict[str, str]) -> Upload:
        return cls(*row[:2], int(row[2]), *row[3:], files=files)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class SqlEventStore:
    """``EventStore`` over a DB-API connection; the SQL is shared, the dialects differ in a few hooks.

    One connection behind a lock: the collector is one thread per process, so more centre processes (a
    shared-subscription group) rather than more connections is how a city scales its writes.
    """

    dialect = ""
    _errors: tuple[type[BaseException], ...] = ()
    # Group keys of compliance(): over an hour column ('hour' of hourly and city_hourly), and over 'day' of daily.
    _HOUR_KEYS: ClassVar[dict[str, str]] = {}
    _DAY_KEYS: ClassVar[dict[str, str]] = {}

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._migrate()

    # -- dialect hooks -------------------------------------------------------------------------------------
    def _execute(self, sql: str, args: tuple[Any, ...] = ()) -> Any:
        raise NotImplementedError

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        raise NotImplementedError
        yield

    def _insert_event(self, payload: dict[str, Any], row: tuple[Any, ...]) -> bool:
        raise NotImplementedError

    # -- migrations ----------------------------------------------------------------------------------------
    def _migrate(self) -> None:
        """Apply the numbered SQL files of this dialect not yet recorded in ``schema_version``, each in its own
        transaction (under a lock on PostgreSQL, so centres starting together apply each file once)."""
        with self._tx():
            self._execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_utc REAL)")
        for path in sorted((MIGRATIONS / self.dialect).glob("*.sql")):
            version = int(path.name.split("_", 1)[0])
            with self._tx():
                self._lock_migrations()
                if self._execute("SELECT 1 FROM schema_version WHERE version=?", (version,)).fetchone():
                    continue
                for statement in _statements(path.read_text()):
                    self._execute(statement)
                self._execute("INSERT INTO schema_version VALUES (?, ?)", (version, time.time()))
                log.info("centre database: applied migration %s", path.name)

    def _lock_migrations(self) -> None:
        return None

    def schema_version(self) -> int:
        with self._tx():
            return int(self._execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0])

    @contextmanager
    def _tx(self) -> Iterator[None]:
        """One transaction under the lock; a driver error becomes ``StoreError`` (the collector redelivers)."""
        with self._lock:
            try:
                with self._transaction():
                    yield
            except self._errors as exc:
                raise StoreError(f"{self.dialect}: {exc}") from exc

    # -- EventStore ----------------------------------------------------------------------------------------
    def add_event(self, payload: dict[str, Any]) -> bool:
        site, camera = payload["site"], payload["camera"]
        row = (payload["id"], site, camera, payload["type"], payload["decided_time"], int(payload["historical"]),
               time.time(), json.dumps(payload, sort_keys=True))  # fmt: skip
        with self._tx():
            self._ensure_site(site, camera)
            new = self._insert_event(payload, row)
            if not new:
                self._execute("UPDATE sites SET duplicates = duplicates + 1 WHERE site=? AND camera=?", (site, camera))
            elif (counts := _rollup_counts(payload)) is not None:
                crossing, hour = (site, camera, str(payload.get("crosswalk", ""))), hour_of(payload["decided_time"])
                for table, key, values in (("hourly", "site, camera, crosswalk, hour", (*crossing, hour)),
                                           ("daily", "site, camera, crosswalk, day", (*crossing, hour[:10])),
                                           ("city_hourly", "hour", (hour,))):  # fmt: skip
                    self._execute(
                        f"INSERT INTO {table} ({key}, crossings, violations, warnings, gaps)"
                        f" VALUES ({', '.join('?' * (len(values) + 4))}) ON CONFLICT ({key}) DO UPDATE SET"
                        f" crossings = {table}.crossings + excluded.crossings,"
                        f" violations = {table}.violations + excluded.violations,"
                        f" warnings = {table}.warnings + excluded.warnings, gaps = {table}.gaps + excluded.gaps",
                        (*values, *counts),
                    )
        return new

    def add_evidence(self, payload: dict[str, Any]) -> bool:
        """One outcome per event; a recorded outcome replaces a lost one, never the other way round."""
        with self._tx():
            return (
                self._execute(
                    "INSERT INTO evidence (event_id, site, camera, status, received_utc, payload)"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO UPDATE SET"
                    " status=excluded.status, received_utc=excluded.received_utc, payload=excluded.payload"
                    " WHERE evidence.status = 'lost' AND excluded.status = 'recorded'",
                    (payload["event_id"], payload["site"], payload["camera"], payload["status"], time.time(),
                     json.dumps(payload, sort_keys=True)),
                ).rowcount
                == 1
            )  # fmt: skip

    def evidence(self, event_ids: list[str] | None = None) -> dict[str, dict[str, Any]]:
        """Evidence outcomes by event id (all, or those of ``event_ids``)."""
        with self._tx():
            rows = self._execute("SELECT event_id, payload FROM evidence").fetchall()
        wanted = None if event_ids is None else set(event_ids)
        return {r[0]: json.loads(r[1]) for r in rows if wanted is None or r[0] in wanted}

    def set_availability(self, site: str, camera: str, value: str) -> None:
        self._update(site, camera, "availability=?, availability_utc=?", (value, time.time()))

    def set_status(self, site: str, camera: str, payload: dict[str, Any]) -> None:
        self._update(site, camera, "status=?, status_utc=?", (json.dumps(payload, sort_keys=True), time.time()))

    def note_rejected(self, site: str, camera: str, reason: str) -> None:
        self._update(site, camera, "rejected = rejected + 1, last_rejection=?", (reason[:500],))

    def add_dead_letter(self, site: str, camera: str, topic: str, reason: str, payload: bytes) -> None:
        with self._tx():
            self._execute(
                "INSERT INTO dead_letters (received_utc, site, camera, topic, reason, size, prefix)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (time.time(), site, camera, topic, reason[:500], len(payload),
                 bytes(payload[:DEAD_LETTER_PREFIX_BYTES])),
            )  # fmt: skip
            newest = self._execute("SELECT MAX(id) FROM dead_letters").fetchone()[0] or 0
            self._execute("DELETE FROM dead_letters WHERE id <= ?", (newest - DEAD_LETTERS_KEPT,))

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """The newest rejected messages first."""
        with self._tx():
            rows = self._execute(
                "SELECT received_utc, site, camera, topic, reason, size, prefix FROM dead_letters"
                " ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [DeadLetter(*r[:6], bytes(r[6])) for r in rows]

    def sites(self) -> list[SiteView]:
        """Each box's row with its event counts, evidence outcomes, dead letters and open chain gaps."""
        with self._tx():
            rows = self._execute(
                """SELECT s.site, s.camera, s.availability, s.availability_utc, s.status, s.duplicates,
                          s.rejected, s.last_rejection, COALESCE(e.crossings, 0), COALESCE(e.violations, 0),
                          COALESCE(e.historical, 0), COALESCE(e.recorded, 0), COALESCE(e.lost, 0),
                          COALESCE(e.pending, 0), COALESCE(d.letters, 0)
                   FROM sites s
                   LEFT JOIN (SELECT e.site, e.camera,
                                     SUM(CASE WHEN e.type = 'crossing' THEN 1 ELSE 0 END) AS crossings,
                                     SUM(CASE WHEN e.type = 'violation' THEN 1 ELSE 0 END) AS violations,
                                     SUM(e.historical) AS historical,
                                     SUM(CASE WHEN e.type = 'violation' AND v.status = 'recorded' THEN 1 ELSE 0 END)
                                       AS recorded,
                                     SUM(CASE WHEN e.type = 'violation' AND v.status = 'lost' THEN 1 ELSE 0 END)
                                       AS lost,
                                     SUM(CASE WHEN e.type = 'violation' AND v.event_id IS NULL THEN 1 ELSE 0 END)
                                       AS pending
                              FROM events e LEFT JOIN evidence v ON v.event_id = e.event_id
                              GROUP BY e.site, e.camera) e ON e.site = s.site AND e.camera = s.camera
                   LEFT JOIN (SELECT site, camera, COUNT(*) AS letters FROM dead_letters GROUP BY site, camera) d
                          ON d.site = s.site AND d.camera = s.camera
                   ORDER BY s.site, s.camera"""
            ).fetchall()
            gap_rows = self._execute(
                "SELECT site, camera, first_seq, last_seq FROM chain_gaps ORDER BY site, camera, first_seq"
            ).fetchall()
        gaps: dict[tuple[str, str], list[str]] = {}
        for site, camera, first, last in gap_rows:
            gaps.setdefault((site, camera), []).append(_numbers(int(first), int(last)))
        return [
            SiteView(
                site=r[0], camera=r[1], availability=r[2], availability_utc=r[3],
                status=json.loads(r[4]) if r[4] else None, duplicates=r[5], rejected=r[6], last_rejection=r[7],
                crossings=int(r[8]), violations=int(r[9]), historical=int(r[10]), evidence_recorded=int(r[11]),
                evidence_lost=int(r[12]), evidence_pending=int(r[13]), dead_letters=int(r[14]),
                chain_gaps=tuple(gaps.get((r[0], r[1]), ())),
            )
            for r in rows
        ]

    def events(self, site: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        sql, args = "SELECT payload FROM events", []
        if site is not None:
            sql, args = sql + " WHERE site=?", [site]
        with self._tx():
            rows = self._execute(sql + " ORDER BY decided_time DESC, event_id LIMIT ?", (*args, limit)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def event_ids(self) -> list[str]:
        with self._tx():
            return [r[0] for r in self._execute("SELECT event_id FROM events ORDER BY event_id").fetchall()]

    def hourly(self, since: str, until: str, site: str | None = None, limit: int = -1) -> list[HourlyCount]:
        """The rollup's rows with ``since <= hour < until`` (ISO times), oldest first; at most ``limit`` if > 0."""
        sql, args = "SELECT * FROM hourly WHERE hour >= ? AND hour < ?", [hour_bound(since), hour_bound(until)]
        if site is not None:
            sql, args = sql + " AND site = ?", [*args, site]
        sql += " ORDER BY hour, site, camera, crosswalk"
        if limit > 0:
            sql, args = sql + " LIMIT ?", [*args, limit]
        with self._tx():
            rows = self._execute(sql, tuple(args)).fetchall()
        return [HourlyCount(r[0], r[1], r[2], self._hour_text(r[3]), *map(int, r[4:])) for r in rows]

    def compliance(self, by: str, since: str, until: str, site: str | None = None) -> list[tuple[str, int, int]]:
        """(group, crossings, violations) per crossing ('site/camera'), hour of day, weekday (0 = Sunday), ISO
        week or day (UTC), ``since <= hour < until``; violations ÷ crossings is the share of entries on DON'T WALK.

        Reads the coarsest rollup that answers exactly: the city's hours without a site filter, else whole days
        per crossing (plus the hours of a partial first and last day), and one site's hours for hour of day.
        """
        if by not in COMPLIANCE_GROUPS:
            raise ValueError(f"compliance by '{by}': choose one of {', '.join(COMPLIANCE_GROUPS)}")
        lo, hi = hour_bound(since), hour_bound(until)
        if by != "crossing" and site is None:
            parts = [self._part("city_hourly", self._HOUR_KEYS[by], "hour", lo, hi, None)]
        elif by == "hour":
            parts = [self._part("hourly", self._HOUR_KEYS[by], "hour", lo, hi, site)]
        else:
            parts = self._day_parts(by, lo, hi, site)
        sql = " UNION ALL ".join(p[0] for p in parts)
        with self._tx():
            rows = self._execute(
                f"SELECT k, SUM(c), SUM(v) FROM ({sql}) AS p GROUP BY k ORDER BY k",
                tuple(a for p in parts for a in p[1]),
            ).fetchall()
        return [(str(r[0]), int(r[1]), int(r[2])) for r in rows]

    def _day_parts(self, by: str, lo: str, hi: str, site: str | None) -> list[tuple[str, list[Any]]]:
        """Whole UTC days from ``daily``; the hours before the first and after the last whole day from ``hourly``."""
        first = lo[:10] if lo[11:13] == "00" else (date.fromisoformat(lo[:10]) + timedelta(days=1)).isoformat()
        last = hi[:10]
        if first >= last:
            return [self._part("hourly", self._HOUR_KEYS[by], "hour", lo, hi, site)]
        parts = [self._part("daily", self._DAY_KEYS[by], "day", first, last, site)]
        for start, end in ((lo, f"{first}T00:00:00Z"), (f"{last}T00:00:00Z", hi)):
            if start < end:
                parts.append(self._part("hourly", self._HOUR_KEYS[by], "hour", start, end, site))
        return parts

    @staticmethod
    def _part(table: str, key: str, column: str, lo: str, hi: str, site: str | None) -> tuple[str, list[Any]]:
        sql = f"SELECT {key} AS k, crossings AS c, violations AS v FROM {table} WHERE {column} >= ? AND {column} < ?"
        return (sql, [lo, hi]) if site is None else (sql + " AND site = ?", [lo, hi, site])

    @staticmethod
    def _hour_text(value: Any) -> str:
        return value if isinstance(value, str) else value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:00:00Z")

    def note_chain_head(self, payload: dict[str, Any]) -> ChainGap | None:
        if payload.get("status") != "recorded":
            return None  # lost evidence has no place in the chain
        site, camera, seq = payload["site"], payload["camera"], payload["sequence"]
        now = time.time()
        gap = None
        with self._tx():
            self._ensure_site(site, camera)  # a gap is shown in the box's row even before its first event
            head = self._execute(
                "SELECT seq FROM chain_heads WHERE site=? AND camera=?" + self._FOR_UPDATE, (site, camera)
            ).fetchone()
            if head is None or seq > head[0]:
                self._execute(
                    "INSERT INTO chain_heads VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (site, camera) DO UPDATE SET"
                    " device=excluded.device, seq=excluded.seq, manifest_sha256=excluded.manifest_sha256,"
                    " received_utc=excluded.received_utc",
                    (site, camera, payload["device"], seq, payload["manifest_sha256"], now),
                )
                # The first number a box is seen with is its baseline: what came before
                # (evidence from before the centre or this software) was never announced.
                if head is not None and seq > head[0] + 1:
                    gap = ChainGap(site, camera, head[0] + 1, seq - 1, now)
                    self._execute(
                        "INSERT INTO chain_gaps VALUES (?, ?, ?, ?, ?)",
                        (site, camera, gap.first_seq, gap.last_seq, now),
                    )
            else:
                self._fill_gap(site, camera, seq)
        if gap is not None:
            log.error(
                "EVIDENCE CHAIN GAP: box %s/%s (device %s) skipped evidence sequence number(s) %s",
                site, camera, payload["device"], gap.numbers,
            )  # fmt: skip
        return gap

    _FOR_UPDATE = ""

    def chain_gaps(self, site: str | None = None) -> list[ChainGap]:
        """Open gaps, oldest first: evidence sequence numbers the centre has not received."""
        sql, args = "SELECT site, camera, first_seq, last_seq, noted_utc FROM chain_gaps", ()
        if site is not None:
            sql, args = sql + " WHERE site=?", (site,)
        with self._tx():
            rows = self._execute(sql + " ORDER BY site, camera, first_seq", args).fetchall()
        return [ChainGap(r[0], r[1], int(r[2]), int(r[3]), r[4]) for r in rows]

    def _fill_gap(self, site: str, camera: str, seq: int) -> None:
        """A late arrival (a re-delivery or backlog overtaken by newer events) closes its part of a gap."""
        row = self._execute(
            "SELECT first_seq, last_seq, noted_utc FROM chain_gaps"
            " WHERE site=? AND camera=? AND first_seq<=? AND last_seq>=?",
            (site, camera, seq, seq),
        ).fetchone()
        if row is None:
            return
        first, last, noted = row
        self._execute("DELETE FROM chain_gaps WHERE site=? AND camera=? AND first_seq=?", (site, camera, first))
        for lo, hi in ((first, seq - 1), (seq + 1, last)):
            if lo <= hi:
                self._execute("INSERT INTO chain_gaps VALUES (?, ?, ?, ?, ?)", (site, camera, lo, hi, noted))
        log.info("evidence chain of %s/%s: sequence %d arrived late (gap %d-%d)", site, camera, seq, first, last)

    # -- evidence uploads, boxes, alarms, audit (the centre's web side) ------------------------------------
    def add_box(self, box: str, token_sha256: str, pubkey_pem: str) -> None:
        """Register (or re-key) a box: its token's hash and its pinned evidence public key."""
        with self._tx():
            self._execute(
                "INSERT INTO boxes VALUES (?, ?, ?, ?) ON CONFLICT (box) DO UPDATE SET"
                " token_sha256=excluded.token_sha256, pubkey_pem=excluded.pubkey_pem, created_utc=excluded.created_utc",
                (box, token_sha256, pubkey_pem, time.time()),
            )

    def boxes(self) -> list[str]:
        with self._tx():
            return [r[0] for r in self._execute("SELECT box FROM boxes ORDER BY box").fetchall()]

    def box_by_token(self, token_sha256: str) -> tuple[str, str] | None:
        """(box, public key PEM) of the token with this hash."""
        with self._tx():
            row = self._execute("SELECT box, pubkey_pem FROM boxes WHERE token_sha256=?", (token_sha256,)).fetchone()
        return (row[0], row[1]) if row else None

    def upload(self, event_id: str) -> Upload | None:
        with self._tx():
            row = self._execute(f"SELECT {_UPLOAD_COLUMNS} FROM uploads WHERE event_id=?", (event_id,)).fetchone()
            files = self._execute("SELECT path, sha256 FROM upload_files WHERE event_id=?", (event_id,)).fetchall()
        return Upload.from_row(row, dict(files)) if row else None

    def chain_neighbour(self, box: str, seq: int) -> tuple[int, str] | None:
        """(sequence, manifest SHA-256) of the box's highest upload below ``seq``."""
        with self._tx():
            row = self._execute(
                "SELECT seq, manifest_sha256 FROM uploads WHERE box=? AND seq<? ORDER BY seq DESC LIMIT 1", (box, seq)
            ).fetchone()
        return (int(row[0]), row[1]) if row else None

    def add_upload(self, upload: Upload) -> bool:
        """Keep a verified manifest's upload row; False if the event was already there."""
        u = upload
        with self._tx():
            return (
                self._execute(
                    "INSERT INTO uploads (event_id, box, seq, manifest_sha256, prev_manifest_sha256, folder, site,"
                    " camera, crosswalk, entry_time, received_utc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT DO NOTHING",
                    (u.event_id, u.box, u.seq, u.manifest_sha256, u.prev_manifest_sha256, u.folder, u.site, u.camera,
                     u.crosswalk, u.entry_time, time.time()),
                ).rowcount
                == 1
            )  # fmt: skip

    def add_upload_file(self, event_id: str, path: str, sha256: str, size: int) -> None:
        with self._tx():
            self._execute(
                "INSERT INTO upload_files VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", (event_id, path, sha256, size)
            )

    def confirm_upload(self, event_id: str) -> None:
        with self._tx():
            self._execute(
                "UPDATE uploads SET confirmed_utc=? WHERE event_id=? AND confirmed_utc IS NULL", (time.time(), event_id)
            )

    def review_queue(self, state: str | None = None, site: str | None = None, day: str | None = None,
                     limit: int = 200) -> list[Upload]:  # fmt: skip
        """Uploaded violations, oldest first, filtered by review state, site and UTC day ('YYYY-MM-DD')."""
        clauses, args = ["confirmed_utc IS NOT NULL"], []
        for column, value in (("review_state", state), ("site", site)):
            if value:
                clauses.append(f"{column}=?")
                args.append(value)
        if day:
            clauses.append("entry_time >= ? AND entry_time < ?")
            args += [day, day + "T99"]  # every ISO time of that day sorts between these
        with self._tx():
            rows = self._execute(
                f"SELECT {_UPLOAD_COLUMNS} FROM uploads WHERE {' AND '.join(clauses)} ORDER BY entry_time LIMIT ?",
                (*args, limit),
            ).fetchall()
        return [Upload.from_row(r, {}) for r in rows]

    def set_review(self, event_id: str, state: str, reviewer: str, reason: str) -> None:
        """A central review decision with its audit entry, in one transaction."""
        with self._tx():
            self._execute(
                "UPDATE uploads SET review_state=?, reviewer=?, review_reason=?, reviewed_utc=? WHERE event_id=?",
                (state, reviewer, reason, time.time(), event_id),
            )
            self._audit(reviewer, f"review:{state}", event_id, reason)

    def decisions(self, box: str, since_utc: float) -> list[tuple[str, str, str, str, float]]:
        """(event id, state, reviewer, reason, reviewed_utc) of the box's events reviewed after ``since_utc``."""
        with self._tx():
            rows = self._execute(
                "SELECT event_id, review_state, reviewer, review_reason, reviewed_utc FROM uploads"
                " WHERE box=? AND reviewed_utc > ? ORDER BY reviewed_utc",
                (box, since_utc),
            ).fetchall()
        return [(r[0], r[1], r[2], r[3], float(r[4])) for r in rows]

    def add_alarm(self, box: str, kind: str, detail: str) -> None:
        with self._tx():
            self._execute("INSERT INTO alarms (utc, box, kind, detail) VALUES (?, ?, ?, ?)",
                          (time.time(), box, kind, detail[:1000]))  # fmt: skip
        log.error("ALARM %s: box %s: %s", kind, box, detail)

    def alarms(self, box: str | None = None) -> list[dict[str, Any]]:
        """Open alarms, newest first."""
        sql, args = "SELECT id, utc, box, kind, detail FROM alarms WHERE cleared_utc IS NULL", ()
        if box is not None:
            sql, args = sql + " AND box=?", (box,)
        with self._tx():
            rows = self._execute(sql + " ORDER BY id DESC", args).fetchall()
        return [dict(zip(("id", "utc", "box", "kind", "detail"), r, strict=True)) for r in rows]

    def audit(self, actor: str, action: str, target: str, detail: str = "") -> None:
        with self._tx():
            self._audit(actor, action, target, detail)

    def audit_log(self, limit: int = 200) -> list[dict[str, Any]]:
        with self._tx():
            rows = self._execute(
                "SELECT utc, actor, action, target, detail FROM audit ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [dict(zip(("utc", "actor", "action", "target", "detail"), r, strict=True)) for r in rows]

    def _audit(self, actor: str, action: str, target: str, detail: str) -> None:
        self._execute("INSERT INTO audit (utc, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
                      (time.time(), actor, action, target, detail[:1000]))  # fmt: skip

    def _ensure_site(self, site: str, camera: str) -> None:
        self._execute("INSERT INTO sites (site, camera) VALUES (?, ?) ON CONFLICT DO NOTHING", (site, camera))

    def _update(self, site: str, camera: str, assignments: str, values: tuple[Any, ...]) -> None:
        with self._tx():
            self._ensure_site(site, camera)
            self._execute(f"UPDATE sites SET {assignments} WHERE site=? AND camera=?", (*values, site, camera))


def _statements(script: str) -> list[str]:
    """A migration file's statements: split at ';' ending a line, '--' comments dropped (no ';' inside strings)."""
    body = "\n".join(line.split("--", 1)[0] for line in script.splitlines())
    return [s.strip() for s in body.split(";") if s.strip()]


class SqliteEventStore(SqlEventStore):
    """``EventStore`` in one SQLite file (WAL); safe to call from several threads of one process."""

    dialect = "sqlite"
    _errors = (sqlite3.Error,)
    _HOUR_KEYS: ClassVar[dict[str, str]] = {
        "crossing": "site || '/' || camera",
        "hour": "CAST(substr(hour, 12, 2) AS INTEGER)",
        "weekday": "CAST(strftime('%w', substr(hour, 1, 10)) AS INTEGER)",
        "week": "strftime('%Y-W%W', substr(hour, 1, 10))",
        "day": "substr(hour, 1, 10)",
    }
    _DAY_KEYS: ClassVar[dict[str, str]] = {
        "crossing": "site || '/' || camera",
        "weekday": "CAST(strftime('%w', day) AS INTEGER)",
        "week": "strftime('%Y-W%W', day)",
        "day": "day",
    }

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(private_file(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        super().__init__()

    def _execute(self, sql: str, args: tuple[Any, ...] = ()) -> Any:
        return self._db.execute(sql, args)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _insert_event(self, payload: dict[str, Any], row: tuple[Any, ...]) -> bool:
        return (
            self._execute(
                "INSERT INTO events (event_id, site, camera, type, decided_time, historical, received_utc, payload)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
                row,
            ).rowcount
            == 1
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()


class PostgresEventStore(SqlEventStore):
    """``EventStore`` on PostgreSQL (psycopg 3): several centre processes may write one database.

    Exactly once across processes: ``event_keys`` holds every id (primary key) and the event row is written
    only by the transaction whose key insert succeeded. ``events`` is partitioned by month of
    ``decided_at``; a month's partition is created (under an advisory lock) by the first event of that month.
    """

    dialect = "postgresql"
    _HOUR_KEYS: ClassVar[dict[str, str]] = {
        "crossing": "site || '/' || camera",
        "hour": "EXTRACT(HOUR FROM hour AT TIME ZONE 'UTC')::int",
        "weekday": "EXTRACT(DOW FROM hour AT TIME ZONE 'UTC')::int",
        "week": "to_char(hour AT TIME ZONE 'UTC', 'IYYY-\"W\"IW')",
        "day": "to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
    }
    _DAY_KEYS: ClassVar[dict[str, str]] = {
        "crossing": "site || '/' || camera",
        "weekday": "EXTRACT(DOW FROM day)::int",
        "week": "to_char(day, 'IYYY-\"W\"IW')",
        "day": "to_char(day, 'YYYY-MM-DD')",
    }
    _FOR_UPDATE = " FOR UPDATE"
    _MIGRATION_LOCK = 0x63726F73  # any constant shared by every centre process

    def __init__(self, url: str) -> None:
        import psycopg

        self._psycopg = psycopg
        self._errors = (psycopg.Error,)
        self.url = url
        self._conn: Any = None
        self._partitions: set[str] = set()
        super().__init__()

    def _connection(self) -> Any:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = self._psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        return self._conn

    def _execute(self, sql: str, args: tuple[Any, ...] = ()) -> Any:
        return self._connection().execute(sql.replace("?", "%s"), args)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._connection().transaction():
            yield

    def _lock_migrations(self) -> None:
        self._execute("SELECT pg_advisory_xact_lock(?)", (self._MIGRATION_LOCK,))

    def _insert_event(self, payload: dict[str, Any], row: tuple[Any, ...]) -> bool:
        decided = row[4]
        self._ensure_partition(decided[:7])
        if self._execute(
            "INSERT INTO event_keys VALUES (?, ?) ON CONFLICT DO NOTHING", (row[0], decided)
        ).rowcount != 1:
            return False
        self._execute(
            "INSERT INTO events (event_id, site, camera, type, decided_time, decided_at, historical, received_utc,"
            " payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*row[:5], decided, *row[5:]),
        )
        return True

    def _ensure_partition(self, month: str) -> None:
        """The partition of 'YYYY-MM', created in this transaction if missing (the lock serialises centres)."""
        if month in self._partitions:
            return
        year, mon = int(month[:4]), int(month[5:7])
        nxt = f"{year + mon // 12:04d}-{mon % 12 + 1:02d}"
        self._execute("SELECT pg_advisory_xact_lock(?)", (self._MIGRATION_LOCK + 1,))
        self._execute(
            f"CREATE TABLE IF NOT EXISTS events_{year:04d}_{mon:02d} PARTITION OF events"
            f" FOR VALUES FROM ('{month}-01T00:00:00Z') TO ('{nxt}-01T00:00:00Z')"
        )
        self._partitions.add(month)

    def partitions(self) -> list[str]:
        with self._tx():
            rows = self._execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'events' ORDER BY 1"
            ).fetchall()
        return [r[0] for r in rows]

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()


def open_store(db: str | Path) -> SqlEventStore:
    """``postgresql://…`` (or ``postgres://…``) opens PostgreSQL; anything else is a SQLite file."""
    text = str(db)
    if text.startswith(("postgresql://", "postgres://")):
        return PostgresEventStore(text)
    return SqliteEventStore(text)

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
