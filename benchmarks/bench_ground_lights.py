"""Signal change → ground lights latency, at the byte level of the controller's emulator.

Alternates WALK / DON'T WALK through ``ActuatorHub.on_signal`` (the call the frame loop makes
for every signal change) and times each change until the emulator has received the frame that
shows it: the Modbus Write Multiple Coils request with the new look (real pymodbus server on
loopback), and the sACN packet with the new channel values (E1.31 decoded by hand).
Target: p95 <= 100 ms.

    .venv/bin/python benchmarks/bench_ground_lights.py [--n 200] [--interval-ms 50]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from actuators.emulators.modbus_lights import ModbusLightsEmulator
from actuators.emulators.sacn_node import SacnNodeEmulator
from actuators.hub import ActuatorHub
from edge.config.actuators import ActuatorsConfig
from edge.signal.types import SignalState

SEGMENT = [{"name": "stripe", "address": 1}]


def modbus_shows(emulator: ModbusLightsEmulator, since: float, green: bool) -> float | None:
    """Arrival time of the first Write Multiple Coils after ``since`` carrying the look."""
    for arrived, frame in list(emulator.frames):
        if arrived >= since and len(frame) == 14 and frame[7] == 0x0F and frame[-1] == (0b0010 if green else 0b0001):
            return arrived
    return None


def sacn_shows(node: SacnNodeEmulator, since: float, green: bool) -> float | None:
    for arrived, packet in list(node.packets):
        if arrived >= since and packet.channel(2 if green else 1) == 255:
            return arrived
    return None


def run(hub: ActuatorHub, shows: Callable[[float, bool], float | None], n: int, interval_s: float) -> list[float]:
    figures = []
    for i in range(n):
        green = i % 2 == 0
        entered = time.perf_counter()
        hub.on_signal("P1", SignalState.WALK if green else SignalState.DONT_WALK, time.time())
        deadline = entered + 2.0
        while (arrived := shows(entered, green)) is None and time.perf_counter() < deadline:
            time.sleep(0.0005)
        if arrived is not None:
            figures.append(arrived - entered)
        time.sleep(interval_s)
    return figures


def report(name: str, figures: list[float], n: int) -> None:
    ms = np.array(figures) * 1000
    print(f"{name:7s} n={len(ms)}/{n}  p50 {np.percentile(ms, 50):6.2f} ms  p95 {np.percentile(ms, 95):6.2f} ms  "
          f"max {ms.max():6.2f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="signal changes per protocol")
    parser.add_argument("--interval-ms", type=float, default=50.0, help="pause between changes")
    args = parser.parse_args()
    modbus, node = ModbusLightsEmulator(), SacnNodeEmulator()
    device = {"type": "ground_lights", "signal_group": "P1", "segments": SEGMENT, "timeout_s": 1.0}
    config = ActuatorsConfig.model_validate({"devices": [
        {**device, "name": "modbus", "protocol": "modbus", "port": modbus.port},
        {**device, "name": "sacn", "protocol": "sacn", "host": node.host},
    ]})  # fmt: skip
    hub = ActuatorHub(config)
    try:
        time.sleep(0.5)  # both links open
        interval = args.interval_ms / 1000
        report("modbus", run(hub, lambda t, g: modbus_shows(modbus, t, g), args.n, interval), args.n)
        report("sacn", run(hub, lambda t, g: sacn_shows(node, t, g), args.n, interval), args.n)
    finally:
        hub.close()
        modbus.close()
        node.close()


if __name__ == "__main__":
    main()
