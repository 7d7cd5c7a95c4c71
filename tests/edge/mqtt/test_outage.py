"""Nothing lost, nothing counted twice: broker outages and a box killed mid-publish, with a real broker."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from edge.mqtt.reporter import Reporter
from tests.conftest import REPO
from tests.edge.mqtt.builders import make_event, site_config, site_dict, start_collector, wait_for


def test_events_during_a_broker_outage_arrive_once_flagged_historical(private_mosquitto, tmp_path):
    broker = private_mosquitto
    collector = start_collector(broker, tmp_path / "center.db")
    reporter = Reporter.from_config(site_config(broker), tmp_path / "box")
    reporter.start()
    assert reporter.link.wait_connected(10)
    live = [make_event(n) for n in range(5)]
    for event in live:
        reporter.report_event(event)
    assert wait_for(lambda: collector.stored == 5)

    broker.stop()
    assert wait_for(lambda: not reporter.connected)
    queued = [make_event(n) for n in range(5, 45)]
    for event in queued:
        assert reporter.report_event(event)
    time.sleep(1.0)  # the box keeps retrying with back-off meanwhile
    assert reporter.outbox_depth == 40
    broker.start()

    assert wait_for(lambda: collector.stored == 45, timeout=30), collector.stored
    assert wait_for(lambda: reporter.outbox_depth == 0)
    reporter.stop()
    collector.stop()
    stored = {e["id"]: e for e in collector.store.events(limit=1000)}
    assert sorted(stored) == sorted(e.event_id for e in live + queued)
    assert all(stored[e.event_id]["historical"] for e in queued)
    assert not any(stored[e.event_id]["historical"] for e in live)
    assert collector.store.sites()[0].violations == 45


@pytest.mark.parametrize("stop", ["sigterm", "sigkill_after_autosave"])
def test_a_persistent_broker_restarted_while_the_centre_is_away_loses_nothing(private_mosquitto, tmp_path, stop):
    """The box deletes what the broker acknowledged; the broker's persistence file must hold it.

    mosquitto saves on a clean stop (SIGTERM) and every ``autosave_interval``; a SIGKILL loses what
    arrived after the last save, so that case is killed only once a save has followed the PUBACKs.
    """
    broker = private_mosquitto
    centre_db, centre_id = tmp_path / "center.db", "away-centre"
    centre = start_collector(broker, centre_db, centre_id)
    reporter = Reporter.from_config(site_config(broker, client_id="persist-box"), tmp_path / "box")
    reporter.start()
    first = make_event(0)
    reporter.report_event(first)
    assert wait_for(lambda: centre.stored == 1)  # the centre's subscription is in its session
    centre.stop()  # away: the broker queues for its persistent session

    acknowledged = [make_event(n) for n in range(1, 21)]
    for event in acknowledged:
        assert reporter.report_event(event)
    assert wait_for(lambda: reporter.outbox_depth == 0)  # every one PUBACKed: the box has forgotten them
    if stop == "sigterm":
        broker.stop()
    else:
        saves = broker.saves()
        assert wait_for(lambda: broker.saves() > saves, timeout=10), broker.log_tail()
        broker.kill()
    assert wait_for(lambda: not reporter.connected)
    queued = [make_event(n) for n in range(21, 31)]  # decided while the broker is down
    for event in queued:
        assert reporter.report_event(event)

    broker.start()
    assert wait_for(lambda: reporter.outbox_depth == 0, timeout=30)
    reporter.stop()
    centre = start_collector(broker, centre_db, centre_id)  # back, same session
    expected = {e.event_id for e in [first, *acknowledged, *queued]}
    assert wait_for(lambda: set(centre.store.event_ids()) == expected, timeout=30), len(centre.store.event_ids())
    time.sleep(1.0)  # anything delivered twice would be counted by now
    centre.stop()
    ids = centre.store.event_ids()
    assert len(ids) == len(set(ids)) == 31
    assert centre.store.sites()[0].duplicates == 0  # none twice, even on the wire


def test_box_killed_mid_publish_loses_nothing_and_duplicates_nothing(private_mosquitto, tmp_path):
    broker = private_mosquitto
    collector = start_collector(broker, tmp_path / "center.db")
    site_file = tmp_path / "site.json"
    # A burst faster than a 5-message window drains, so the kill lands with rows in flight and queued.
    # (WAL without fsync still survives a process crash; fsync only matters for power loss.)
    site_file.write_text(json.dumps(site_dict(broker, client_id="crash-box", inflight=5, fsync=False)))
    data = tmp_path / "box"

    first = _box(site_file, data, start=0, count=3000, interval=0.0)
    committed = _read_until(first, lambda lines: len(lines) >= 300)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(10)
    committed += _drain_stdout(first)
    left_behind = _outbox_rows(data)
    assert left_behind > 0, "the kill did not land mid-publish"
    assert wait_for(lambda: collector.store.sites() and collector.store.sites()[0].availability == "offline"), (
        "no Last Will after kill -9"
    )

    second = _box(site_file, data, start=5000, count=20, interval=0.0)
    lines = _read_until(second, lambda lines: "drained" in lines)
    committed += [line for line in lines if line != "drained"]
    second.stdin.close()
    assert second.wait(15) == 0

    expected = {line.split()[1] for line in committed}
    assert wait_for(lambda: expected <= set(collector.store.event_ids()), timeout=30)
    ids = collector.store.event_ids()
    collector.stop()
    assert len(ids) == len(set(ids))
    # Every stored id is one the box generated; an event killed between commit and print may also appear.
    possible = {make_event(n).event_id for n in [*range(3000), *range(5000, 5020)]}
    assert set(ids) <= possible
    assert len(set(ids) - expected) <= 1


def _box(site_file: Path, data: Path, start: int, count: int, interval: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.edge.mqtt.box_process",
            str(site_file),
            str(data),
            str(start),
            str(count),
            str(interval),
        ],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def _read_until(proc: subprocess.Popen[str], done, timeout: float = 60.0) -> list[str]:
    lines: list[str] = []
    finished = threading.Event()

    def reader() -> None:
        for line in proc.stdout:
            lines.append(line.strip())
            if done(lines):
                break
        finished.set()

    threading.Thread(target=reader, daemon=True).start()
    assert finished.wait(timeout), f"box process stuck after {len(lines)} lines"
    return lines


def _outbox_rows(data: Path) -> int:
    with sqlite3.connect(data / "mqtt-outbox.sqlite") as db:
        return int(db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])


def _drain_stdout(proc: subprocess.Popen[str]) -> list[str]:
    return [line.strip() for line in proc.stdout if line.startswith("committed")]
