"""``crossguard config check SITE.yaml``: validate a site file, list every problem with its line."""

from __future__ import annotations

import argparse
import sys

from edge.config import ConfigError, load_site


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("config", help="site file tools")
    config_sub = parser.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    check = config_sub.add_parser("check", help="validate a site file")
    check.add_argument("site", help="site YAML file")
    check.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    try:
        site = load_site(args.site)
    except ConfigError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        print(f"{args.site}: {len(exc.issues)} problem(s)", file=sys.stderr)
        return 1
    print(f"{args.site}: OK — site '{site.site.id}', {len(site.crosswalks)} crosswalk(s)")
    return 0
