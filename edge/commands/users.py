"""``crossguard users add|passwd|list|role|disable|enable|delete|changes``: accounts of the local web UI.

The first admin is made here. Changes are recorded in the account audit as made by the
system user running the command.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from pathlib import Path

from edge.cli import CommandError
from edge.config import ConfigError, load_site
from edge.users import Role, User, UserError, UserStore


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
    role = users_sub.add_parser("role", help="give an account another role")
    role.add_argument("name")
    role.add_argument("role", choices=[r.value for r in Role])
    _db_arguments(role)
    role.set_defaults(func=run_role)
    for action, words in (
        ("disable", "stop an account logging in (ends its sessions)"),
        ("enable", "let a disabled account log in again"),
        ("delete", "remove an account (ends its sessions)"),
    ):
        change = users_sub.add_parser(action, help=words)
        change.add_argument("name")
        _db_arguments(change)
        change.set_defaults(func=run_change, action=action)
    changes = users_sub.add_parser("changes", help="who changed which account, and when (newest first)")
    changes.add_argument("--limit", type=int, default=50, help="how many changes to show")
    _db_arguments(changes)
    changes.set_defaults(func=run_changes)


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


def cli_actor() -> str:
    """Who the account audit names for a change made here: the system user running the command."""
    try:
        who = getpass.getuser()
    except (OSError, KeyError):  # no login name in this environment
        who = "unknown user"
    return f"{who} (command line)"


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
        user = UserStore(path).add(args.name, Role(args.role), password, by=cli_actor())
    except UserError as exc:
        raise CommandError(f"{path}: {exc}") from None
    print(f"{path}: added '{user.name}' as {user.role.value}")
    return 0


def run_passwd(args: argparse.Namespace) -> int:
    path = users_db_path(args)
    password = read_password(args.password_stdin)
    try:
        UserStore(path).set_password(args.name, password, by=cli_actor())
    except UserError as exc:
        raise CommandError(f"{path}: {exc}") from None
    print(f"{path}: new password for '{args.name}'; their sessions were closed")
    return 0


def run_list(args: argparse.Namespace) -> int:
    for user in UserStore(users_db_path(args)).list():
        print(f"{user.name}\t{user.role.value}" + ("\tdisabled" if user.disabled else ""))
    return 0


def run_role(args: argparse.Namespace) -> int:
    path = users_db_path(args)
    try:
        user = UserStore(path).set_role(args.name, Role(args.role), by=cli_actor())
    except UserError as exc:
        raise CommandError(f"{path}: {exc}") from None
    print(f"{path}: '{user.name}' is now {user.role.value}")
    return 0


def run_change(args: argparse.Namespace) -> int:
    """disable, enable or delete."""
    path = users_db_path(args)
    store = UserStore(path)
    try:
        if args.action == "delete":
            store.delete(args.name, by=cli_actor())
            print(f"{path}: deleted '{args.name}'; their sessions were closed")
            return 0
        user: User = store.set_disabled(args.name, args.action == "disable", by=cli_actor())
    except UserError as exc:
        raise CommandError(f"{path}: {exc}") from None
    said = "disabled; their sessions were closed" if user.disabled else "enabled"
    print(f"{path}: '{user.name}' {said}")
    return 0


def run_changes(args: argparse.Namespace) -> int:
    for change in UserStore(users_db_path(args)).changes(args.limit):
        when = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(change.utc))
        print(f"{when}\t{change.actor}\t{change.action.value}\t{change.target}\t{change.detail}")
    return 0
