"""The ``crossguard`` command: one short module per subcommand under ``edge/commands``."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# Subcommand modules; each exposes ``register(subparsers)`` and sets ``func`` on its parser.
COMMAND_MODULES = [
    "edge.commands.config",
    "edge.commands.replay",
    "edge.commands.detect",
    "edge.commands.models",
    "edge.commands.center",
    "edge.commands.command",
    "edge.commands.actuators",
    "edge.commands.signal",
    "edge.commands.evidence",
    "edge.commands.users",
    "edge.commands.ui",
    "edge.commands.eval",
    "edge.commands.run",
]


class CommandError(Exception):
    """An expected failure: printed as one line naming the problem, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crossguard",
        description="Warns pedestrians who cross on DON'T WALK, records evidence and reports to the traffic centre.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except CommandError as exc:
        print(f"crossguard {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
