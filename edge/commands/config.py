"""``crossguard config check SITE.yaml``: validate a site file, list every problem with its line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edge.config import ConfigError, load_site
from edge.config.load import ConfigIssue, line_of, read_yaml
from edge.signal.coverage import group_problems


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
    path = Path(args.site)
    problems = group_problems(site, path.parent)
    if problems:
        doc = read_yaml(path)
        for problem in problems:
            issue = ConfigIssue(str(path), line_of(doc, problem.loc), problem.key, problem.message)
            print(issue if problem.blocking else f"warning: {issue}", file=sys.stderr)
    blocking = [p for p in problems if p.blocking]
    if blocking:
        print(f"{args.site}: {len(blocking)} problem(s)", file=sys.stderr)
        return 1
    print(f"{args.site}: OK — site '{site.site.id}', {len(site.crosswalks)} crosswalk(s)")
    return 0
