"""``crossguard users add NAME --role ROLE``: accounts of the local web UI (the first admin, too)."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from edge.cli import CommandError
from edge.config import ConfigError, load_site
from edge.users import Role, UserError, UserStore


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("users", help="web UI accounts")
    users_sub = parser.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = users_sub.add_parser("add", help="create an account")
    add.add_argument("name", help="login name")
    add.add_argument("--role", required=True, choices=[r.value for r in Role], help="what the account may do")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    _db_arguments(add)
    add.set_defaults(func=run_add)
    passwd = users_sub.add_parser("passwd", help="set a new password (logs the account out everywhere)")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    _db_arguments(passwd)
    passwd.set_defaults(func=run_passwd)
    listing = users_sub.add_parser("list", help="list accounts")
    _db_arguments(listing)
    listing.set_defaults(func=run_list)


def _db_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--site", type=Path, help="site file; its web.users_db is used")
    where.add_argument("--users-db", type=Path, help="accounts database file")


def users_db_path(args: argparse.Namespace) -> Path:
    if args.users_db is not None:
        return args.users_db
    try:
        site = load_site(args.site)
    except ConfigError as exc:
        raise CommandError(str(exc)) from None
    return site.web.resolved(args.site.resolve().parent).users_db


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise CommandError("the two passwords differ; nothing changed")
    return first


def run_add(args: argparse.Namespace) -> int:
    path = users_db_path(args)
    password = read_password(args.password_stdin)
    try:
        user = UserStore(path).add(args.name, Role(args.role), password)
    except UserError as exc:
        raise CommandError(f"{path}: {exc}") from None
    print(f"{path}: added '{user.name}' as {user.role.value}")
    return 0


def run_passwd(args: argparse.Namespace) -> int:
    path = users_db_path(args)
    password = read_password(args.password_stdin)
    try:
        UserStore(path).set_password(args.name, password)
    except UserError as exc:
        raise CommandError(f"{path}: {exc}") from None
    print(f"{path}: new password for '{args.name}'; their sessions were closed")
    return 0


def run_list(args: argparse.Namespace) -> int:
    for user in UserStore(users_db_path(args)).list():
        print(f"{user.name}\t{user.role.value}" + ("\tdisabled" if user.disabled else ""))
    return 0
