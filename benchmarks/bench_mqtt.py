"""MQTT reporting through the durable outbox, against a real local mosquitto (QoS 1, loopback).

Prints
  1. sustained throughput: events/s from ``report_event`` to PUBACK, with and without fsync;
  2. backlog drain: time to publish and get PUBACKs for 10 000 events queued while offline.

    .venv/bin/python benchmarks/bench_mqtt.py [--events 3000] [--backlog 10000] [--backlog-rate 1e6]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from edge.mqtt.reporter import Reporter  # noqa: E402
from tests.edge.mqtt.builders import make_event, site_config  # noqa: E402
from tests.mosquitto import Mosquitto  # noqa: E402


class Counter:
    """A subscriber counting distinct event payloads, to check that everything really arrived."""

    def __init__(self, broker: Mosquitto) -> None:
        self.count = 0
        self._lock = threading.Lock()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self._client.on_message = self._on_message
        self._client.connect("127.0.0.1", broker.port)
        self._client.subscribe("crossguard/+/+/events", qos=1)
        self._client.loop_start()
        time.sleep(0.3)

    def _on_message(self, *_: object) -> None:
        with self._lock:
            self.count += 1

    def reset(self) -> None:
        with self._lock:
            self.count = 0

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


def wait_empty(reporter: Reporter, timeout: float = 600) -> float:
    deadline = time.monotonic() + timeout
    while reporter.outbox_depth and time.monotonic() < deadline:
        time.sleep(0.002)
    return time.monotonic()


def throughput(broker: Mosquitto, counter: Counter, work: Path, n: int, fsync: bool) -> None:
    counter.reset()
    config = site_config(broker, client_id=f"bench-{fsync}", fsync=fsync, flush_timeout_s=30)
    reporter = Reporter.from_config(config, work / f"tp-{fsync}")
    reporter.start()
    assert reporter.link.wait_connected(10), reporter.last_error
    events = [make_event(i) for i in range(n)]
    t0 = time.monotonic()
    for event in events:
        reporter.report_event(event)
    committed = time.monotonic()
    done = wait_empty(reporter)
    reporter.stop()
    commit_ms = (committed - t0) / n * 1000
    print(
        f"sustained  fsync={'on ' if fsync else 'off'}  {n} events  "
        f"{n / (done - t0):8.0f} events/s end to end"
        f"  (report_event {commit_ms:.2f} ms each; subscriber got {counter.count})"
    )


def drain(broker: Mosquitto, counter: Counter, work: Path, n: int, rate: float) -> None:
    counter.reset()
    config = site_config(broker, client_id="bench-drain", fsync=False, backlog_rate=rate, flush_timeout_s=30)
    reporter = Reporter.from_config(config, work / "drain")
    t0 = time.monotonic()
    for i in range(n):
        reporter.report_event(make_event(100_000 + i))
    queued = time.monotonic() - t0
    reporter.start()
    assert reporter.link.wait_connected(10), reporter.last_error
    t1 = time.monotonic()
    done = wait_empty(reporter)
    reporter.stop()
    print(
        f"backlog    {n} queued offline in {queued:.2f} s; drained after reconnect in {done - t1:.2f} s"
        f"  ({n / (done - t1):.0f} events/s at backlog_rate={rate:g}; subscriber got {counter.count})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=3000, help="events for the sustained run")
    parser.add_argument("--backlog", type=int, default=10_000, help="events queued offline")
    parser.add_argument("--backlog-rate", type=float, default=1e6, help="mqtt.backlog_rate for the drain run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with Mosquitto(work / "broker") as broker:
            counter = Counter(broker)
            try:
                for fsync in (True, False):
                    throughput(broker, counter, work, args.events, fsync)
                drain(broker, counter, work, args.backlog, args.backlog_rate)
                if args.backlog_rate > 200:
                    print(
                        f"           with the default backlog_rate=200 the same backlog takes "
                        f"{args.backlog / 200:.0f} s"
                    )
            finally:
                counter.close()


if __name__ == "__main__":
    main()
