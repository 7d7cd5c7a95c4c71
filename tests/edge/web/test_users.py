"""Accounts: argon2 hashes, the password policy, sessions, and ``crossguard users`` as a real subprocess."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from edge.users import MIN_PASSWORD_LENGTH, Role, UserError, UserStore
from tests.conftest import REPO
from tests.edge.web.conftest import FAST_HASHER, PASSWORD


@pytest.fixture
def store(tmp_path: Path) -> UserStore:
    return UserStore(tmp_path / "users.db", hasher=FAST_HASHER)


def test_password_is_stored_as_an_argon2id_hash(store: UserStore) -> None:
    store.add("ana", Role.POLICE, PASSWORD)
    (stored,) = sqlite3.connect(store.path).execute("SELECT password_hash FROM users").fetchone()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert store.authenticate("ana", PASSWORD).role is Role.POLICE  # type: ignore[union-attr]
    assert store.authenticate("ana", PASSWORD + "x") is None
    assert store.authenticate("nobody", PASSWORD) is None


@pytest.mark.parametrize(
    ("name", "password", "message"),
    [
        ("ana", "x" * (MIN_PASSWORD_LENGTH - 1), "at least"),
        ("ana", "x" * 2000, "at most"),
        ("bad name", PASSWORD, "user name"),
        ("", PASSWORD, "user name"),
    ],
)
def test_refused_accounts(store: UserStore, name: str, password: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        store.add(name, Role.VIEWER, password)


def test_duplicate_name_is_refused(store: UserStore) -> None:
    store.add("ana", Role.VIEWER, PASSWORD)
    with pytest.raises(UserError, match="already exists"):
        store.add("ana", Role.ADMIN, PASSWORD)


def test_session_tokens_are_stored_hashed_and_expire(store: UserStore) -> None:
    user = store.add("ana", Role.OPERATOR, PASSWORD)
    token, _ = store.open_session(user, lifetime_s=3600)
    rows = sqlite3.connect(store.path).execute("SELECT token_sha256 FROM sessions").fetchall()
    assert token not in str(rows)
    assert store.session(token).user.name == "ana"  # type: ignore[union-attr]
    assert store.session(token + "x") is None
    expired, _ = store.open_session(user, lifetime_s=-1)
    assert store.session(expired) is None
    store.close_session(token)
    assert store.session(token) is None


def test_new_password_closes_sessions(store: UserStore) -> None:
    user = store.add("ana", Role.OPERATOR, PASSWORD)
    token, _ = store.open_session(user, 3600)
    store.set_password("ana", "another long passphrase")
    assert store.session(token) is None
    assert store.authenticate("ana", "another long passphrase") is not None


def _crossguard(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = os.environ | {"PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "edge", *args], input=stdin, capture_output=True, text=True, env=env, timeout=60
    )


def test_users_add_command(tmp_path: Path) -> None:
    db = tmp_path / "state" / "users.db"
    done = _crossguard("users", "add", "root", "--role", "admin", "--password-stdin", "--users-db", str(db),
                       stdin=PASSWORD + "\n")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "added 'root' as admin" in done.stdout
    assert UserStore(db).authenticate("root", PASSWORD).role is Role.ADMIN  # type: ignore[union-attr]
    short = _crossguard("users", "add", "kim", "--role", "viewer", "--password-stdin", "--users-db", str(db),
                        stdin="short\n")  # fmt: skip
    assert short.returncode == 2 and "at least" in short.stderr
    listing = _crossguard("users", "list", "--users-db", str(db))
    assert listing.stdout.strip() == "root\tadmin"


def test_users_add_uses_the_site_files_database(tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    text = (REPO / "sites" / "demo" / "site.yaml").read_text()
    site.write_text(text + "\nweb:\n  users_db: accounts/users.db\n")
    done = _crossguard("users", "add", "op", "--role", "operator", "--password-stdin", "--site", str(site),
                       stdin=PASSWORD + "\n")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "accounts" / "users.db").is_file()


def _add(db: Path, name: str, role: str) -> None:
    done = _crossguard("users", "add", name, "--role", role, "--password-stdin", "--users-db", str(db),
                       stdin=PASSWORD + "\n")  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_users_role_disable_enable_delete_commands(tmp_path: Path) -> None:
    db = tmp_path / "users.db"
    _add(db, "root", "admin")
    _add(db, "kim", "viewer")
    token, _ = UserStore(db).open_session(UserStore(db).get("kim"), 3600)  # type: ignore[arg-type]

    role = _crossguard("users", "role", "kim", "operator", "--users-db", str(db))
    assert role.returncode == 0 and "'kim' is now operator" in role.stdout
    disable = _crossguard("users", "disable", "kim", "--users-db", str(db))
    assert disable.returncode == 0 and "'kim' disabled; their sessions were closed" in disable.stdout
    assert UserStore(db).session(token) is None and UserStore(db).authenticate("kim", PASSWORD) is None
    assert _crossguard("users", "list", "--users-db", str(db)).stdout.splitlines() == [
        "kim\toperator\tdisabled",
        "root\tadmin",
    ]
    enable = _crossguard("users", "enable", "kim", "--users-db", str(db))
    assert enable.returncode == 0 and UserStore(db).authenticate("kim", PASSWORD) is not None
    delete = _crossguard("users", "delete", "kim", "--users-db", str(db))
    assert delete.returncode == 0 and "deleted 'kim'" in delete.stdout
    assert UserStore(db).get("kim") is None

    changes = _crossguard("users", "changes", "--users-db", str(db)).stdout.splitlines()
    actions = [line.split("\t")[2:4] for line in changes]
    assert actions == [["delete", "kim"], ["enable", "kim"], ["disable", "kim"], ["role", "kim"],
                       ["add", "kim"], ["add", "root"]]  # fmt: skip
    assert all(line.split("\t")[1].endswith("(command line)") for line in changes)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("disable", "root"), "'root' is the last enabled admin"),
        (("delete", "root"), "'root' is the last enabled admin"),
        (("role", "root", "viewer"), "'root' is the last enabled admin"),
        (("disable", "nobody"), "no user named 'nobody'"),
        (("role", "root", "superuser"), "invalid choice"),
    ],
)
def test_users_commands_refuse_with_a_clear_message(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    db = tmp_path / "users.db"
    _add(db, "root", "admin")
    done = _crossguard("users", *args, "--users-db", str(db))
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert UserStore(db).authenticate("root", PASSWORD).role is Role.ADMIN  # type: ignore[union-attr]
