"""Run the device emulators on 127.0.0.1 until interrupted, printing what each board shows.

    python -m actuators.emulators --alpha-port 3001 --snmp-port 1161 --http-port 8080 --controller-port 1162

Point a site file's devices at these ports to try ``crossguard actuators test`` (or a replay)
before the hardware is there.
"""

from __future__ import annotations

import argparse
import time

from actuators.emulators.alpha_sign import AlphaSignEmulator
from actuators.emulators.http_board import HttpBoardEmulator
from actuators.emulators.snmp_controller import SnmpControllerEmulator
from actuators.emulators.snmp_dms import SnmpSignEmulator


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m actuators.emulators", description=__doc__.splitlines()[0])
    parser.add_argument("--alpha-port", type=int, default=3001, help="Alpha-protocol sign, TCP")
    parser.add_argument("--snmp-port", type=int, default=1161, help="NTCIP 1203 sign, SNMP over UDP")
    parser.add_argument("--http-port", type=int, default=8080, help="JSON-over-HTTP board")
    parser.add_argument("--controller-port", type=int, default=1162, help="NTCIP 1202 signal controller, SNMP")
    args = parser.parse_args()
    controller = SnmpControllerEmulator(args.controller_port)
    alpha, dms, board = (
        AlphaSignEmulator(args.alpha_port),
        SnmpSignEmulator(args.snmp_port),
        HttpBoardEmulator(args.http_port),
    )
    print(f"alpha tcp://127.0.0.1:{alpha.port}  ntcip udp://127.0.0.1:{dms.port}  http {board.url}"
          f"  controller udp://127.0.0.1:{controller.port}", flush=True)  # fmt: skip
    shown: dict[str, object] = {}
    try:
        while True:
            now = {"alpha": alpha.displayed, "ntcip": dms.displayed, "http": board.shown,
                   "ped calls": controller.calls[:]}  # fmt: skip
            for name, value in now.items():
                if value != shown.get(name):
                    print(f"{time.strftime('%H:%M:%S')} {name}: {value}", flush=True)
            shown = now
            time.sleep(0.1)
    except KeyboardInterrupt:
        pass
    finally:
        alpha.stop()
        dms.stop()
        board.stop()
        controller.stop()


if __name__ == "__main__":
    main()
