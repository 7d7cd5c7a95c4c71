"""The traffic centre at city scale: many boxes, two centre processes, one PostgreSQL. Prints figures.

1. Load: ``--boxes`` simulated boxes (each a real ``Reporter``: the real payload builder, its own SQLite
   outbox, QoS 1 to a real mosquitto), spread over ``--workers`` processes, each report a crossing every
   ``--period`` seconds (staggered) for ``--duration`` seconds, into two ``crossguard center`` processes in
   one MQTT 5 shared-subscription group writing one PostgreSQL. One centre process is killed (SIGKILL) a
   third of the way in and restarted 3 s later; then up to ``--drain`` s for the outboxes to empty.
   Prints events/s stored, end-to-end latency p50/p95 (decided on the box → committed at the centre),
   lost (sent but not stored) and duplicated (stored rows beyond distinct ids; re-deliveries the
   centre absorbed are counted separately).
2. Analytics: ``--events`` events (default 5 million) over a year and 500 crossings written with
   ``generate_series`` into the partitioned events table and the hourly rollup, the daily and city rollups
   derived from it by migration 0004's own statements; prints each analytics query's p50/p95 (by hour of
   day, crossing, weekday over 28 days, by week over a year, before/after a date) and the database size.

    .venv/bin/python benchmarks/bench_centre.py [--boxes 500] [--period 5] [--duration 60] [--workers 6]
        [--drain 120] [--events 5000000] [--skip-load] [--skip-analytics]
"""

from __future__ import annotations

import argparse
import dataclasses
import heapq
import logging
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from edge.events import EventType, event_id  # noqa: E402
from edge.mqtt.payloads import Origin  # noqa: E402
from edge.mqtt.reporter import Reporter  # noqa: E402
from edge.mqtt.store import MIGRATIONS, PostgresEventStore, _statements  # noqa: E402
from tests.edge.mqtt.builders import make_event, site_config  # noqa: E402
from tests.mosquitto import Mosquitto  # noqa: E402
from tests.postgres import cluster  # noqa: E402


def centre(broker: Mosquitto, db: str, n: int, log: Path) -> subprocess.Popen:
    argv = [sys.executable, "-m", "edge.cli", "center", "--broker", broker.url, "--db", db, "--share", "bench",
            "--client-id", f"bench-centre-{n}", "--interval", "0"]  # fmt: skip
    return subprocess.Popen(argv, stdout=log.open("ab"), stderr=subprocess.STDOUT, cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)})  # fmt: skip


def boxes_worker(config: Any, boxes: range, total: int, work: Path, period: float, start_at: float,
                 duration: float, drain: float, results: Any) -> None:  # fmt: skip
    """One worker process: ``boxes`` light boxes (each a real ``Reporter`` with its own outbox), box ``i``
    reporting at ``start_at + i/total·period + k·period`` during ``duration`` s, then up to ``drain`` s for the
    outboxes to empty. Puts (sent, queued at the end of the window, queued at the end) on ``results``."""
    logging.basicConfig(level=logging.ERROR)
    reporters = {i: Reporter(config, Origin(f"box-{i:03d}", "cam1", f"dev-{i:03d}"), work / f"outbox-{i:03d}.sqlite")
                 for i in boxes}  # fmt: skip
    for r in reporters.values():
        r.start()
    due = [(start_at + i / total * period, i, 0) for i in boxes]  # (when, box, its event number)
    heapq.heapify(due)
    sent = 0
    while due and due[0][0] < start_at + duration:
        when, i, n = heapq.heappop(due)
        time.sleep(max(0.0, when - time.time()))
        base = make_event(n, EventType.VIOLATION if n % 7 == 0 else EventType.CROSSING, time.time())
        site = f"box-{i:03d}"
        reporters[i].report_event(dataclasses.replace(
            base, site_id=site, event_id=event_id(site, "cam1", "north", base.type, base.entry_utc, n)))  # fmt: skip
        sent += 1
        heapq.heappush(due, (when + period, i, n + 1))
    time.sleep(max(0.0, start_at + duration - time.time()))
    queued = sum(r.outbox_depth for r in reporters.values())
    deadline = time.monotonic() + drain
    while time.monotonic() < deadline and sum(r.outbox_depth for r in reporters.values()):
        time.sleep(0.5)
    left = sum(r.outbox_depth for r in reporters.values())
    results.put((sent, queued, left))
    stoppers = [threading.Thread(target=r.stop) for r in reporters.values()]
    for t in stoppers:
        t.start()
    for t in stoppers:
        t.join()


def load(broker: Mosquitto, db: str, work: Path, boxes: int, period: float, duration: float, workers: int,
         drain: float) -> None:  # fmt: skip
    store = PostgresEventStore(db)  # migrates before the centres start
    logs = work / "centres.log"
    centres = {n: centre(broker, db, n, logs) for n in (1, 2)}
    time.sleep(3)
    config = site_config(broker, fsync=False, reconnect_min_s=0.2, reconnect_max_s=2.0).mqtt
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    start_at = time.time() + 5 + boxes / 50  # every worker connected its boxes by then
    procs = [ctx.Process(target=boxes_worker, args=(config, range(w, boxes, workers), boxes, work, period, start_at,
                                                    duration, drain, results)) for w in range(workers)]  # fmt: skip
    for proc in procs:
        proc.start()
    print(f"load: {boxes} boxes in {workers} worker processes; each box reports every {period:g} s for"
          f" {duration:g} s ({boxes / period:g} events/s offered), then up to {drain:g} s to drain", flush=True)
    time.sleep(max(0.0, start_at - time.time()))
    kill_at = duration / 3
    time.sleep(kill_at)
    centres[1].send_signal(signal.SIGKILL)
    centres[1].wait()
    time.sleep(3)
    centres[1] = centre(broker, db, 1, logs)
    print(f"load: centre 1 killed (SIGKILL) at t={kill_at:.0f} s, restarted 3 s later", flush=True)
    outcome = [results.get(timeout=duration + drain + 120) for _ in procs]
    for proc in procs:
        proc.join(60)
    sent, queued, left = (sum(o[k] for o in outcome) for k in range(3))
    print(f"load: {sent} events reported; {queued} in the boxes' outboxes at the end of the send window,"
          f" {left} after the drain", flush=True)
    # The broker acknowledged what left the outboxes; what it still queues for the centres is stored while
    # they make progress (up to --drain more seconds).
    deadline, stored, last_progress = time.monotonic() + drain, 0, time.monotonic()
    while time.monotonic() < deadline and stored < sent and time.monotonic() - last_progress < 20:
        time.sleep(1)
        now_stored = len(store.event_ids())
        stored, last_progress = now_stored, time.monotonic() if now_stored > stored else last_progress
    with store._tx():  # the figures below read the database directly
        rows = store._execute(
            "SELECT received_utc - EXTRACT(EPOCH FROM decided_at), received_utc, EXTRACT(EPOCH FROM decided_at),"
            " event_id FROM events ORDER BY received_utc"
        ).fetchall()
        dup_absorbed = store._execute("SELECT COALESCE(SUM(duplicates), 0) FROM sites").fetchone()[0]
    distinct = len({r[3] for r in rows})
    latencies = sorted(float(r[0]) for r in rows)
    # Events decided from the kill until 15 s later wait for the killed centre's return (its share of them).
    calm = sorted(float(r[0]) for r in rows if not start_at + kill_at <= float(r[2]) < start_at + kill_at + 15)
    in_window = sum(1 for r in rows if start_at <= float(r[1]) < start_at + duration)
    span = float(rows[-1][1]) - float(rows[0][1]) if len(rows) > 1 else 0.0
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    print(f"load: stored {len(rows)} of {sent} sent: lost {sent - distinct}, duplicated {len(rows) - distinct}"
          f" (re-deliveries absorbed by id: {dup_absorbed})")  # fmt: skip
    print(f"load: {in_window / duration:.1f} events/s stored during the {duration:g} s send window"
          f" ({len(rows) / span if span else 0:.1f}/s from first to last commit over {span:.1f} s);"
          f" end-to-end latency p50 {q[49] * 1000:.0f} ms, p95 {q[94] * 1000:.0f} ms,"
          f" max {latencies[-1] * 1000:.0f} ms", flush=True)
    if len(calm) > 1:
        qc = statistics.quantiles(calm, n=100)
        print(f"load: latency of the {len(calm)} events not decided in the 15 s after the kill: p50"
              f" {qc[49] * 1000:.0f} ms, p95 {qc[94] * 1000:.0f} ms", flush=True)
    if distinct < sent:  # say where to look
        tail = logs.read_text(errors="replace").splitlines()[-15:]
        print("load: the centres' log ends with:\n  " + "\n  ".join(tail))
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
        # The coarser rollups from the hourly one: the same statements migration 0004 backfills them with.
        for statement in _statements((MIGRATIONS / "postgresql/0004_daily_and_city_hourly.sql").read_text()):
            if statement.startswith("INSERT"):
                store._execute(statement)
    with store._tx():
        store._execute("ANALYZE")
    print(f"analytics: {events} events in {time.monotonic() - start:.0f} s (generate_series)", flush=True)
    with store._tx():
        tables = ("hourly", "daily", "city_hourly")
        rows = {t: store._execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}
        size = store._execute("SELECT pg_database_size(current_database())").fetchone()[0]
        events_size = store._execute(
            "SELECT SUM(pg_total_relation_size(c.oid)) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'events'"
        ).fetchone()[0]
        rollups = store._execute(
            "SELECT pg_total_relation_size('hourly'), pg_total_relation_size('daily'),"
            " pg_total_relation_size('city_hourly')"
        ).fetchone()
    print(f"analytics: database {size / 2**20:.0f} MiB (events partitions {events_size / 2**20:.0f} MiB,"
          f" payloads '{{}}'; rollups hourly {rollups[0] / 2**20:.0f} MiB, daily {rollups[1] / 2**20:.1f} MiB,"
          f" city_hourly {rollups[2] / 2**20:.1f} MiB); rows: "
          + ", ".join(f"{t} {n}" for t, n in rows.items()))  # fmt: skip
    month = ("2025-06-01T00:00:00Z", "2025-06-29T00:00:00Z")
    year = ("2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z")

    def before_after() -> None:  # what /api/compliance/before-after asks: 28 days on each side of a date
        store.compliance("crossing", "2025-05-04T00:00:00Z", "2025-06-01T00:00:00Z")
        store.compliance("crossing", *month)

    pages = {
        "by hour of day, 28 days": lambda: store.compliance("hour", *month),
        "by crossing, 28 days": lambda: store.compliance("crossing", *month),
        "by weekday, 28 days": lambda: store.compliance("weekday", *month),
        "by week, one year": lambda: store.compliance("week", *year),
        "by hour of day, one site, 28 days": lambda: store.compliance("hour", *month, site="box-7"),
        "by crossing, 28 days from 13:00 to 13:00": lambda: store.compliance(
            "crossing", "2025-06-01T13:00:00Z", "2025-06-29T13:00:00Z"),
        "before/after a date, 28 days each": before_after,
    }  # fmt: skip
    for label, query in pages.items():
        times = []
        for _ in range(40):
            t0 = time.perf_counter()
            query()
            times.append(time.perf_counter() - t0)
        q = statistics.quantiles(times, n=100)
        print(f"analytics: compliance {label}: p50 {q[49] * 1000:.1f} ms, p95 {q[94] * 1000:.1f} ms", flush=True)
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--boxes", type=int, default=500)
    parser.add_argument("--period", type=float, default=5.0, help="seconds between one box's events")
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=6, help="processes the simulated boxes are spread over")
    parser.add_argument("--drain", type=float, default=120.0, help="seconds after the send window for outboxes")
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--skip-analytics", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # 500 boxes without a command key would each say so
    with tempfile.TemporaryDirectory() as tmp, cluster() as pg:
        work = Path(tmp)
        if not args.skip_load:
            with Mosquitto(work / "broker") as broker:
                load(broker, pg.new_database(), work, args.boxes, args.period, args.duration, args.workers,
                     args.drain)
        if not args.skip_analytics:
            analytics(pg.new_database(), args.events)


if __name__ == "__main__":
    main()
