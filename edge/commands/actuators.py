"""``crossguard actuators test --site SITE.yaml [--device NAME]``: trigger each output once."""

from __future__ import annotations

import argparse

from edge.cli import CommandError
from edge.config import ConfigError, load_site


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("actuators", help="output devices: speaker, boards, GPIO")
    actions = parser.add_subparsers(dest="actuators_command", required=True, metavar="ACTION")
    test = actions.add_parser("test", help="trigger each output once and report success and latency")
    test.add_argument("--site", required=True, help="site YAML file")
    test.add_argument("--device", help="only this device (its name in actuators.devices)")
    test.add_argument(
        "--timeout", type=float, default=None, help="seconds to wait per device (default: its own)"
    )
    test.set_defaults(func=run_test)


def run_test(args: argparse.Namespace) -> int:
    from actuators.hub import ActuatorHub

    try:
        site = load_site(args.site)
    except ConfigError as exc:
        raise CommandError(f"{args.site}: invalid site file:\n{exc}") from None
    if not any(d.enabled for d in site.actuators.devices):
        raise CommandError(f"{args.site}: no enabled device in actuators.devices")
    hub = ActuatorHub.from_config(site)
    try:
        try:
            results = hub.test(args.device, args.timeout)
        except KeyError as exc:
            raise CommandError(f"{args.site}: {exc.args[0]}") from None
        health = hub.health()
    finally:
        hub.close()
    for result in results:
        latency = f"{result.latency_s * 1000:8.1f} ms" if result.latency_s is not None else "       - ms"
        kind = health[result.device].type
        verdict = "OK" if result.success else "FAILED"
        print(f"{result.device:<16} {kind:<14} {verdict:<7}{latency}  {result.detail}")
    failed = sum(not r.success for r in results)
    print(f"{len(results) - failed}/{len(results)} device(s) OK")
    return 1 if failed else 0
