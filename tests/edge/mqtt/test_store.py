"""The centre's ``EventStore`` on both back-ends: the same tests on a SQLite file and a real PostgreSQL cluster."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from edge.events import EventType
from edge.mqtt.payloads import Origin, dumps, event_payload
from edge.mqtt.store import (
    COMPLIANCE_GROUPS,
    PostgresEventStore,
    SqlEventStore,
    SqliteEventStore,
    hour_bound,
    open_store,
)
from tests.edge.mqtt.builders import CAMERA_ID, SITE_ID, Recorder, make_event, wait_for

REPO = Path(__file__).resolve().parents[3]
LATEST_VERSION = len(list((REPO / "edge/mqtt/migrations/sqlite").glob("*.sql")))
NOV_23_16H = 1_795_449_600.0 + 0.5  # 2026-11-23T16:00:00.500Z


def payload(n: int, kind: EventType = EventType.CROSSING, decided_utc: float = NOV_23_16H, **changes) -> dict:
    body = event_payload(make_event(n, kind, decided_utc), [], Origin(SITE_ID, CAMERA_ID, "box-17"))
    return {**body, "enforced": True, **changes}  # a crossing on WALK is enforced (the builder says otherwise)


@pytest.fixture(params=["sqlite", "postgresql"])
def open_db(request, tmp_path) -> Callable[[], SqlEventStore]:
    """Opens (another handle on) one fresh database of the back-end under test."""
    target = str(tmp_path / "centre.sqlite")
    if request.param == "postgresql":
        target = request.getfixturevalue("postgres").new_database()
    stores: list[SqlEventStore] = []

    def opener() -> SqlEventStore:
        stores.append(open_store(target))
        return stores[-1]

    opener.target = target  # type: ignore[attr-defined]
    yield opener
    for store in stores:
        store.close()


def test_migrations_are_applied_once_and_recorded(open_db):
    first = open_db()
    assert first.schema_version() == LATEST_VERSION
    first.add_event(payload(1))
    again = open_db()  # a second process opening the same database applies nothing twice
    assert again.schema_version() == LATEST_VERSION
    assert again.event_ids() == [payload(1)["id"]]


def test_an_event_is_stored_once_and_counted_once_in_its_hour(open_db):
    store = open_db()
    assert store.add_event(payload(1)) is True
    assert store.add_event(payload(1)) is False  # a re-delivery
    assert store.add_event(payload(2, EventType.VIOLATION)) is True
    assert store.add_event(payload(3, enforced=False)) is True  # decided while enforcement was suspended
    assert store.add_event(payload(4, type="pre_warning")) is True
    assert store.add_event(payload(5, type="future_kind")) is True  # stored, counted nowhere
    assert store.add_event(payload(6, decided_utc=NOV_23_16H + 3600)) is True  # the next hour
    [view] = store.sites()
    assert (view.crossings, view.violations, view.duplicates) == (3, 1, 1)  # the view counts by type
    rows = store.hourly("2026-11-23T00:00:00Z", "2026-11-24T00:00:00Z")
    assert [(r.hour, r.crosswalk, r.crossings, r.violations, r.warnings, r.gaps) for r in rows] == [
        ("2026-11-23T16:00:00Z", "north", 3, 1, 1, 1),
        ("2026-11-23T17:00:00Z", "north", 1, 0, 0, 0),
    ]
    assert store.hourly("2026-11-23T17:00:00Z", "2026-11-24T00:00:00Z")[0].crossings == 1


def test_two_writers_on_one_database_store_each_event_exactly_once(open_db):
    """Two centres (two connections) racing on the same ids: one row and one count per event."""
    stores = [open_db(), open_db()]
    events = [payload(n, EventType.VIOLATION if n % 3 == 0 else EventType.CROSSING) for n in range(60)]
    new: list[bool] = []

    def write(store: SqlEventStore) -> None:
        for event in events:
            new.append(store.add_event(event))

    threads = [threading.Thread(target=write, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert new.count(True) == 60 and new.count(False) == 60
    assert len(stores[0].event_ids()) == 60
    [hour] = stores[1].hourly("2026-11-23T00:00:00Z", "2026-11-24T00:00:00Z")
    assert (hour.crossings, hour.violations) == (60, 20)
    assert stores[0].sites()[0].duplicates == 60


def test_compliance_by_crossing_hour_weekday_week_and_day(open_db):
    store = open_db()
    for n in range(4):
        store.add_event(payload(n, EventType.VIOLATION if n == 0 else EventType.CROSSING))
    store.add_event(payload(10, EventType.VIOLATION, decided_utc=NOV_23_16H + 2 * 86400 + 3600))  # Wed 17:00
    window = ("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")
    assert store.compliance("crossing", *window) == [(f"{SITE_ID}/{CAMERA_ID}", 5, 2)]
    assert store.compliance("hour", *window) == [("16", 4, 1), ("17", 1, 1)]
    assert store.compliance("weekday", *window) == [("1", 4, 1), ("3", 1, 1)]  # Monday, Wednesday
    assert [day for day, *_ in store.compliance("day", *window)] == ["2026-11-23", "2026-11-25"]
    assert len(store.compliance("week", *window)) == 1
    with pytest.raises(ValueError, match="compliance by 'month'"):
        store.compliance("month", *window)


def from_hourly(store: SqlEventStore, by: str, since: str, until: str, site: str | None = None) -> list:
    """The answer read from the per-crossing hourly rollup alone: what the coarser rollups must reproduce."""
    sql, args = "FROM hourly WHERE hour >= ? AND hour < ?", [hour_bound(since), hour_bound(until)]
    if site is not None:
        sql, args = sql + " AND site = ?", [*args, site]
    with store._tx():
        rows = store._execute(
            f"SELECT {store._HOUR_KEYS[by]} AS k, SUM(crossings), SUM(violations) {sql} GROUP BY k ORDER BY k",
            tuple(args),
        ).fetchall()
    return [(str(r[0]), int(r[1]), int(r[2])) for r in rows]


def test_compliance_from_the_daily_and_city_rollups_equals_the_hourly_answer(open_db):
    """Three sites, two crosswalks, ten days of events at odd times: every grouping, whole and partial days,
    with and without a site filter, gives exactly what summing the hourly rollup gives."""
    store = open_db()
    kinds = [EventType.CROSSING, EventType.CROSSING, EventType.VIOLATION, "pre_warning"]
    for n in range(240):
        body = payload(n, EventType.CROSSING, decided_utc=NOV_23_16H + n * 3617.0)  # an hour and a bit apart
        kind = kinds[n % 4]
        body.update(id=f"ev-{n}", site=f"site-{n % 3}", crosswalk=("north", "south")[n % 2],
                    type=getattr(kind, "value", kind), enforced=n % 5 != 0)  # fmt: skip
        assert store.add_event(body)
    windows = [
        ("2026-11-20T00:00:00Z", "2026-12-10T00:00:00Z"),  # every event, whole days
        ("2026-11-24T05:00:00Z", "2026-11-29T13:00:00Z"),  # partial first and last day
        ("2026-11-24T05:30:00Z", "2026-11-24T20:10:00Z"),  # within one day
        ("2026-11-25", "2026-11-27"),
        ("2026-11-26T00:00:00+02:00", "2026-11-28T09:00:00+01:00"),
    ]
    compared = 0
    for window in windows:
        for by in COMPLIANCE_GROUPS:
            for site in (None, "site-1"):
                expected = from_hourly(store, by, *window, site)
                assert store.compliance(by, *window, site) == expected, (by, window, site)
                compared += bool(expected)
    assert compared >= 40  # the windows hold events


def test_chain_gaps_and_dead_letters_on_both_backends(open_db):
    store = open_db()

    def evidence(seq: int) -> dict:
        return {"event_id": f"e{seq}", "site": SITE_ID, "camera": CAMERA_ID, "device": "box-17",
                "status": "recorded", "sequence": seq, "manifest_sha256": "c" * 64, "files": []}  # fmt: skip

    assert store.note_chain_head(evidence(1)) is None
    gap = store.note_chain_head(evidence(5))
    assert gap is not None and gap.numbers == "2-4"
    store.note_chain_head(evidence(3))  # a late arrival splits the gap
    assert [g.numbers for g in store.chain_gaps()] == ["2", "4"]
    assert store.add_evidence(evidence(1)) is True and store.add_evidence(evidence(1)) is False
    store.add_dead_letter(SITE_ID, CAMERA_ID, "t", "not JSON", b"\x00garbage")
    [letter] = store.dead_letters()
    assert (letter.reason, letter.prefix) == ("not JSON", b"\x00garbage")
    assert store.sites()[0].chain_gaps == ("2", "4")


def test_postgresql_events_are_partitioned_by_month(postgres):
    store = PostgresEventStore(postgres.new_database())
    try:
        store.add_event(payload(1))
        store.add_event(payload(2, decided_utc=NOV_23_16H + 10 * 86400))  # December
        store.add_event(payload(2, decided_utc=NOV_23_16H + 10 * 86400))
        assert store.partitions() == ["events_2026_11", "events_2026_12"]
        assert len(store.event_ids()) == 2
    finally:
        store.close()


def test_a_centre_file_from_before_migrations_is_upgraded_with_its_rollup(tmp_path):
    db = tmp_path / "old.sqlite"
    conn = sqlite3.connect(db)
    conn.executescript((REPO / "edge/mqtt/migrations/sqlite/0001_initial.sql").read_text())
    body = payload(7, EventType.VIOLATION)
    conn.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, 0, 0, ?)",
                 (body["id"], SITE_ID, CAMERA_ID, "violation", body["decided_time"], dumps(body)))  # fmt: skip
    conn.commit()
    conn.close()
    store = SqliteEventStore(db)
    try:
        assert store.schema_version() == LATEST_VERSION
        [hour] = store.hourly("2026-11-23T00:00:00Z", "2026-11-24T00:00:00Z")
        assert (hour.crossings, hour.violations) == (1, 1)
        window = ("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")
        assert store.compliance("crossing", *window) == [(f"{SITE_ID}/{CAMERA_ID}", 1, 1)]  # from daily
        assert store.compliance("hour", *window) == [("16", 1, 1)]  # from city_hourly
    finally:
        store.close()


def test_two_centre_processes_in_a_share_group_write_one_postgresql_once(mosquitto, postgres, tmp_path):
    """Two ``crossguard center`` processes (one MQTT 5 shared subscription) and one database: every event once."""
    url = postgres.new_database()
    open_store(url).close()  # migrate before both start, so the test's wait is for messages only
    argv = [sys.executable, "-m", "edge.cli", "center", "--broker", mosquitto.url, "--db", url, "--share", "pg",
            "--interval", "0", "--duration", "60"]  # fmt: skip
    centres = [
        subprocess.Popen(
            [*argv, "--client-id", f"pg-centre-{n}"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for n in (1, 2)
    ]
    sender = Recorder(mosquitto, "nothing/#")
    store = PostgresEventStore(url)
    try:
        for centre in centres:
            assert centre.stdout is not None
            line = centre.stdout.readline()
            while line and "collecting from" not in line:
                line = centre.stdout.readline()
            assert "collecting from" in line, line
        time.sleep(0.5)
        for n in range(100):
            body = dumps(payload(n, EventType.VIOLATION if n % 4 == 0 else EventType.CROSSING))
            sender.publish(f"crossguard/{SITE_ID}/{CAMERA_ID}/events", body.encode())
            if n % 10 == 0:
                sender.publish(f"crossguard/{SITE_ID}/{CAMERA_ID}/events", body.encode())  # a re-delivery
        assert wait_for(lambda: len(store.event_ids()) == 100 and store.sites()[0].duplicates == 10, timeout=30)
        [hour] = store.hourly("2026-11-23T00:00:00Z", "2026-11-24T00:00:00Z")
        assert (hour.crossings, hour.violations) == (100, 25)
    finally:
        sender.close()
        store.close()
        for centre in centres:
            centre.terminate()
            centre.wait(15)
