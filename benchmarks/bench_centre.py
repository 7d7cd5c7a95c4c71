"""The traffic centre at city scale: many boxes, two centre processes, one PostgreSQL. Prints figures.

1. Load: ``--boxes`` simulated boxes (each a real ``Reporter``: the real payload builder, its own SQLite
   outbox, QoS 1 to a real mosquitto) each report a crossing every ``--period`` seconds for ``--duration``
   seconds, into two ``crossguard center`` processes in one MQTT 5 shared-subscription group writing one
   PostgreSQL. One centre process is killed (SIGKILL) a third of the way in and restarted 3 s later.
   Prints events/s stored, end-to-end latency p50/p95 (decided on the box → committed at the centre),
   lost (sent but not stored) and duplicated (stored rows beyond distinct ids; re-deliveries the
   centre absorbed are counted separately).
2. Analytics: ``--events`` events (default 5 million) over a year and 500 crossings written with
   ``generate_series`` into the partitioned events table and the hourly rollup; prints the compliance-
   by-hour query's p50/p95 over 28 days and a year, and the database size.

    .venv/bin/python benchmarks/bench_centre.py [--boxes 500] [--period 5] [--duration 60] [--events 5000000]
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from edge.events import EventType, event_id  # noqa: E402
from edge.mqtt.payloads import Origin  # noqa: E402
from edge.mqtt.reporter import Reporter  # noqa: E402
from edge.mqtt.store import PostgresEventStore  # noqa: E402
from tests.edge.mqtt.builders import make_event, site_config  # noqa: E402
from tests.mosquitto import Mosquitto  # noqa: E402
from tests.postgres import cluster  # noqa: E402


def centre(broker: Mosquitto, db: str, n: int, log: Path) -> subprocess.Popen:
    argv = [sys.executable, "-m", "edge.cli", "center", "--broker", broker.url, "--db", db, "--share", "bench",
            "--client-id", f"bench-centre-{n}", "--interval", "0"]  # fmt: skip
    return subprocess.Popen(argv, stdout=log.open("ab"), stderr=subprocess.STDOUT, cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)})  # fmt: skip


def load(broker: Mosquitto, db: str, work: Path, boxes: int, period: float, duration: float) -> None:
    store = PostgresEventStore(db)  # migrates before the centres start
    logs = work / "centres.log"
    centres = {n: centre(broker, db, n, logs) for n in (1, 2)}
    time.sleep(3)
    config = site_config(broker, fsync=False, reconnect_min_s=0.2, reconnect_max_s=2.0).mqtt
    reporters = []
    for i in range(boxes):
        r = Reporter(config, Origin(f"box-{i:03d}", "cam1", f"dev-{i:03d}"), work / f"outbox-{i:03d}.sqlite")
        r.start()
        reporters.append(r)
    print(f"load: {boxes} boxes connected; each reports every {period:g} s for {duration:g} s", flush=True)
    sent = 0
    stop = threading.Event()

    def killer() -> None:
        stop.wait(duration / 3)
        if stop.is_set():
            return
        centres[1].send_signal(signal.SIGKILL)
        centres[1].wait()
        print(f"load: centre 1 killed at t={duration / 3:.0f} s; restarted 3 s later", flush=True)
        time.sleep(3)
        centres[1] = centre(broker, db, 1, logs)

    threading.Thread(target=killer, daemon=True).start()
    start = time.monotonic()
    n = 0
    while time.monotonic() - start < duration:
        tick = time.monotonic()
        for i, r in enumerate(reporters):
            base = make_event(n, EventType.VIOLATION if n % 7 == 0 else EventType.CROSSING, time.time())
            site = f"box-{i:03d}"
            ev = dataclasses.replace(base, site_id=site, event_id=event_id(site, "cam1", "north", base.type,
                                                                            base.entry_utc, n))  # fmt: skip
            r.report_event(ev)
            n += 1
            sent += 1
        time.sleep(max(0.0, period - (time.monotonic() - tick)))
    print(f"load: {sent} events reported in {time.monotonic() - start:.1f} s; waiting for the centres", flush=True)
    deadline = time.monotonic() + 180
    stored = 0
    while time.monotonic() < deadline:
        stored = len(store.event_ids())
        if stored >= sent:
            break
        time.sleep(1)
    stop.set()
    waiting = sum(r.outbox_depth for r in reporters)  # not lost: still queued on the boxes, sent when they can
    print(f"load: {waiting} events still in the boxes' outboxes at the end of the wait", flush=True)
    store_rows = store._execute  # the figures below read the database directly
    with store._tx():
        rows = store_rows(
            "SELECT received_utc - EXTRACT(EPOCH FROM decided_at), received_utc FROM events ORDER BY received_utc"
        ).fetchall()
        distinct = store_rows("SELECT COUNT(DISTINCT event_id) FROM events").fetchone()[0]
        dup_absorbed = store_rows("SELECT COALESCE(SUM(duplicates), 0) FROM sites").fetchone()[0]
    latencies = sorted(float(r[0]) for r in rows)
    span = float(rows[-1][1]) - float(rows[0][1]) if len(rows) > 1 else 0.0
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    print(f"load: stored {len(rows)} of {sent} sent: missing {sent - distinct} (of which still queued on the boxes:"
          f" {waiting}), duplicated {len(rows) - distinct}"
          f" (re-deliveries absorbed by id: {dup_absorbed})")  # fmt: skip
    print(f"load: {len(rows) / span if span else 0:.0f} events/s stored over {span:.1f} s;"
          f" end-to-end latency p50 {q[49] * 1000:.0f} ms, p95 {q[94] * 1000:.0f} ms,"
          f" max {latencies[-1] * 1000:.0f} ms")
    if distinct < sent:  # say where to look
        tail = logs.read_text(errors="replace").splitlines()[-15:]
        print("load: the centres' log ends with:\n  " + "\n  ".join(tail))
    stoppers = [threading.Thread(target=r.stop) for r in reporters]  # each may wait its flush timeout
    for t in stoppers:
        t.start()
    for t in stoppers:
        t.join()
    for p in centres.values():
        p.terminate()
        p.wait(15)
    store.close()


def analytics(db: str, events: int, crossings: int = 500) -> None:
    store = PostgresEventStore(db)
    start = time.monotonic()
    for month in range(1, 13):
        with store._tx():
            store._ensure_partition(f"2025-{month:02d}")
    # One year, 'crossings' boxes; a crossing in 8, a violation in 40: the shape of a city, not its numbers.
    with store._tx():
        store._execute(
            "INSERT INTO events (event_id, site, camera, type, decided_time, decided_at, historical, received_utc,"
            " payload) SELECT 'g' || i, 'box-' || mod(i, ?), 'cam1', CASE WHEN mod(i, 40) = 0 THEN 'violation'"
            " ELSE 'crossing' END, to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), t, 0,"
            " EXTRACT(EPOCH FROM t), '{}'"
            " FROM (SELECT i, TIMESTAMPTZ '2025-01-01 00:00:00+00' + (i * (365 * 86400.0 / ?)) * INTERVAL '1 second'"
            " AS t FROM generate_series(0, ? - 1) AS i) g",
            (crossings, events, events),
        )
        store._execute(
            "INSERT INTO event_keys SELECT event_id, decided_at FROM events WHERE starts_with(event_id, 'g')"
        )
        store._execute(
            "INSERT INTO hourly (site, camera, crosswalk, hour, crossings, violations, warnings, gaps)"
            " SELECT site, camera, 'north', date_trunc('hour', decided_at), COUNT(*),"
            " COUNT(*) FILTER (WHERE type = 'violation'), 0, 0 FROM events WHERE starts_with(event_id, 'g')"
            " GROUP BY 1, 2, 4 ON CONFLICT DO NOTHING"
        )
    with store._tx():
        store._execute("ANALYZE")
    print(f"analytics: {events} events in {time.monotonic() - start:.0f} s (generate_series)", flush=True)
    with store._tx():
        hourly_rows = store._execute("SELECT COUNT(*) FROM hourly").fetchone()[0]
        size = store._execute("SELECT pg_database_size(current_database())").fetchone()[0]
        events_size = store._execute(
            "SELECT SUM(pg_total_relation_size(c.oid)) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'events'"
        ).fetchone()[0]
    print(f"analytics: database {size / 2**20:.0f} MiB (events partitions {events_size / 2**20:.0f} MiB,"
          f" payloads '{{}}'), {hourly_rows} hourly rows")  # fmt: skip
    for label, since, until in (("28 days", "2025-06-01T00:00:00Z", "2025-06-29T00:00:00Z"),):
        for by in ("hour", "crossing"):
            times = []
            for _ in range(20):
                t0 = time.perf_counter()
                store.compliance(by, since, until)
                times.append(time.perf_counter() - t0)
            q = statistics.quantiles(times, n=100)
            print(f"analytics: compliance by {by} over {label}: p50 {q[49] * 1000:.1f} ms, p95 {q[94] * 1000:.1f} ms")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--boxes", type=int, default=500)
    parser.add_argument("--period", type=float, default=5.0, help="seconds between one box's events")
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--skip-analytics", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # 500 boxes without a command key would each say so
    with tempfile.TemporaryDirectory() as tmp, cluster() as pg:
        work = Path(tmp)
        if not args.skip_load:
            with Mosquitto(work / "broker") as broker:
                load(broker, pg.new_database(), work, args.boxes, args.period, args.duration)
        if not args.skip_analytics:
            analytics(pg.new_database(), args.events)


if __name__ == "__main__":
    main()
