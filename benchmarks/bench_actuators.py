"""Decision-to-driver latency of the actuator hub, over loopback emulators.

Fires N violations through a hub driving an Alpha-protocol sign (TCP) and a JSON-over-HTTP
board, then prints the distribution of the time from ``on_violation`` entry to each driver
being handed the command (target: p95 <= 50 ms), and how long ``on_violation`` itself took.

    .venv/bin/python benchmarks/bench_actuators.py [--n 500] [--interval-ms 20]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from actuators.emulators.alpha_sign import AlphaSignEmulator
from actuators.emulators.http_board import HttpBoardEmulator
from actuators.hub import ActuatorHub
from edge.config.actuators import ActuatorsConfig
from edge.events import CrossingEvent, EventType
from edge.signal.types import SignalState


def violation(i: int, utc: float) -> CrossingEvent:
    return CrossingEvent(
        event_id=f"bench-{i}", type=EventType.VIOLATION, site_id="bench", camera_id="cam1",
        crosswalk_id=f"cw{i % 4}", signal_group="P1", track_id=i, direction="n->s", from_curb="n",
        to_curb="s", entry_frame=i, entry_t=float(i), entry_utc=utc - 1, decided_frame=i, decided_t=float(i),
        decided_utc=utc,
        signal_state=SignalState.DONT_WALK, signal_since_t=0.0, since_dont_walk_s=5.0, enforced=True,
        entry_observed=True, reason="bench", foot_point=(0.0, 0.0), box=(0.0, 0.0, 1.0, 1.0), score=0.9,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="violations fired")
    parser.add_argument("--interval-ms", type=float, default=20.0, help="pause between violations")
    args = parser.parse_args()

    sign, board = AlphaSignEmulator(), HttpBoardEmulator()
    config = ActuatorsConfig.model_validate({
        "cooldown_s": 0,
        "devices": [
            {"name": "alpha", "type": "alpha", "port": sign.port, "colour": "red", "hold_s": 0},
            {"name": "http", "type": "http_board", "url": board.url, "hold_s": 0},
        ],
    })  # fmt: skip
    hub = ActuatorHub(config, "Asia/Shanghai")
    time.sleep(0.3)  # let the workers connect, as they would at service start
    call_us = []
    for i in range(args.n):
        started = time.perf_counter()
        hub.on_violation(violation(i, 1.8e9 + i))
        call_us.append((time.perf_counter() - started) * 1e6)
        time.sleep(args.interval_ms / 1000)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(
        h.delivered + h.dropped + h.stale + h.failed >= args.n for h in hub.health().values()
    ):
        time.sleep(0.05)  # until every command was delivered or accounted for

    print(f"{args.n} violations, {args.interval_ms:g} ms apart, Alpha sign (TCP) + HTTP board on 127.0.0.1")
    for name, health in hub.health().items():
        print(f"  {name:<6} decision->driver {hub.latency_summary(name)}   delivered={health.delivered} "
              f"failed={health.failed} dropped={health.dropped} stale={health.stale}")  # fmt: skip
    print(f"  all    decision->driver {hub.latency_summary()}")
    calls = np.asarray(call_us)
    print(f"  on_violation call: p50={np.percentile(calls, 50):.1f} us p95={np.percentile(calls, 95):.1f} us "
          f"max={calls.max():.1f} us")  # fmt: skip
    shown = sign.displayed.text if sign.displayed else None
    print(f"  sign shows: {shown!r}; HTTP messages: {len(board.messages)}")
    hub.close()
    sign.stop()
    board.stop()


if __name__ == "__main__":
    main()
