"""Web UI accounts: roles, argon2 password hashes and login sessions in one SQLite file.

The file lives on the box (``web.users_db`` in the site file); ``crossguard users add``
creates the first admin. Every account change (add, role, disable, enable, delete, password)
is kept in ``account_changes`` with who made it and when, and logged. Session tokens are
stored only as SHA-256 digests, so a copy of the database cannot be replayed as a login.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from edge.ops.files import private_file

log = logging.getLogger(__name__)

LOCAL_ACTOR = "local"  # a change made on the box itself, not through the web UI
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # argon2 accepts more, but a megabyte "password" is an attack, not a user
NAME_PATTERN = "^[A-Za-z0-9_.@-]{1,64}$"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_utc REAL NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS account_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    utc REAL NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS sessions (
    token_sha256 TEXT PRIMARY KEY,
    user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_utc REAL NOT NULL,
    expires_utc REAL NOT NULL
);
"""


class Role(str, Enum):
    ADMIN = "admin"  # everything, including accounts
    OPERATOR = "operator"  # zones, rules, device tests
    POLICE = "police"  # evidence review
    VIEWER = "viewer"  # dashboard and live view only


class UserError(ValueError):
    """A refused account change; the message names the problem. Its ``template`` and ``values`` (the message is
    the one filled with the other) let the web UI say it in the page's language."""

    def __init__(self, template: str, **values: object) -> None:
        super().__init__(template.format(**values))
        self.template, self.values = template, values


class NoSuchUser(UserError):
    """The account named does not exist."""


class LastAdmin(UserError):
    """The change would leave no enabled admin, and so no one who could manage accounts."""


class AccountAction(str, Enum):
    ADD = "add"
    ROLE = "role"
    DISABLE = "disable"
    ENABLE = "enable"
    DELETE = "delete"
    PASSWORD = "password"


@dataclass(frozen=True)
class AccountChange:
    """One line of the account audit: who changed which account, when, and how."""

    utc: float
    actor: str
    action: AccountAction
    target: str
    detail: str = ""


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    created_utc: float
    disabled: bool = False


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str
    expires_utc: float


def check_password_policy(password: str) -> None:
    """Raise UserError when the password is too short or absurdly long."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(
            "password must be at least {min} characters (got {got})", min=MIN_PASSWORD_LENGTH, got=len(password)
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError("password must be at most {max} characters", max=MAX_PASSWORD_LENGTH)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class UserStore:
    """Accounts and sessions; one short-lived SQLite connection per call, so threads may share it."""

    def __init__(self, path: str | Path, hasher: PasswordHasher | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.hasher = hasher or PasswordHasher()
        # A dummy hash to verify against for unknown names, so a miss costs as long as a hit.
        self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))
        with self._db() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(private_file(self.path), timeout=10)
        db.row_factory = sqlite3.Row
        try:
            db.execute("PRAGMA foreign_keys = ON")
            with db:
                yield db
        finally:
            db.close()

    # ---- accounts ---------------------------------------------------------------------------

    def add(self, name: str, role: Role, password: str, by: str = LOCAL_ACTOR) -> User:
        if not re.fullmatch(NAME_PATTERN, name):  # fullmatch: "$" alone would let a trailing newline in
            raise UserError("user name '{name}' must be 1-64 letters, digits or . _ @ -", name=name)
        check_password_policy(password)
        user = User(name, role, time.time())
        try:
            with self._db() as db:
                db.execute(
                    "INSERT INTO users (name, role, password_hash, created_utc) VALUES (?, ?, ?, ?)",
                    (name, role.value, self.hasher.hash(password), user.created_utc),
                )
                self._record(db, by, AccountAction.ADD, name, f"as {role.value}")
        except sqlite3.IntegrityError:
            raise UserError("user '{name}' already exists", name=name) from None
        return user

    def set_password(self, name: str, password: str, by: str = LOCAL_ACTOR, keep_session: str | None = None) -> None:
        """New password; every session of the account ends, except ``keep_session`` (the admin's own, resetting it)."""
        check_password_policy(password)
        with self._db() as db:
            changed = db.execute(
                "UPDATE users SET password_hash = ? WHERE name = ?", (self.hasher.hash(password), name)
            ).rowcount
            if not changed:
                raise NoSuchUser("no user named '{name}'", name=name)
            kept = _digest(keep_session) if keep_session else ""
            db.execute("DELETE FROM sessions WHERE user = ? AND token_sha256 != ?", (name, kept))
            self._record(db, by, AccountAction.PASSWORD, name, "new password; sessions closed")

    def set_role(self, name: str, role: Role, by: str = LOCAL_ACTOR) -> User:
        """A new role, in force from the account's next request (sessions stay open)."""
        with self._db() as db:
            user = self._locked_user(db, name)
            if user.role is role:
                return user
            if role is not Role.ADMIN:
                self._keep_an_admin(
                    db,
                    user,
                    "cannot make '{name}' {role}: '{name}' is the last enabled admin; "
                    "make another account admin first",
                    role=role.value,
                )
            db.execute("UPDATE users SET role = ? WHERE name = ?", (role.value, name))
            self._record(db, by, AccountAction.ROLE, name, f"{user.role.value} -> {role.value}")
        return replace(user, role=role)

    def set_disabled(self, name: str, disabled: bool, by: str = LOCAL_ACTOR) -> User:
        """Disable (no login, every session ends at once) or enable an account."""
        with self._db() as db:
            user = self._locked_user(db, name)
            if user.disabled is disabled:
                return user
            if disabled:
                self._keep_an_admin(
                    db, user, "cannot disable '{name}': '{name}' is the last enabled admin; "
                    "make another account admin first"
                )
                db.execute("DELETE FROM sessions WHERE user = ?", (name,))
            db.execute("UPDATE users SET disabled = ? WHERE name = ?", (int(disabled), name))
            action = AccountAction.DISABLE if disabled else AccountAction.ENABLE
            self._record(db, by, action, name, "sessions closed" if disabled else "")
        return replace(user, disabled=disabled)

    def delete(self, name: str, by: str = LOCAL_ACTOR) -> None:
        """Remove the account and end its sessions; its name may be used again."""
        with self._db() as db:
            user = self._locked_user(db, name)
            self._keep_an_admin(
                db, user, "cannot delete '{name}': '{name}' is the last enabled admin; make another account admin first"
            )
            db.execute("DELETE FROM sessions WHERE user = ?", (name,))
            db.execute("DELETE FROM users WHERE name = ?", (name,))
            self._record(db, by, AccountAction.DELETE, name, f"was {user.role.value}")

    def changes(self, limit: int = 100) -> list[AccountChange]:
        """The account audit, newest first."""
        with self._db() as db:
            rows = db.execute("SELECT * FROM account_changes ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [AccountChange(r["utc"], r["actor"], AccountAction(r["action"]), r["target"], r["detail"]) for r in rows]

    def _locked_user(self, db: sqlite3.Connection, name: str) -> User:
        # Take the write lock before reading, so two admins changing accounts at once cannot
        # both pass the last-admin check.
        db.execute("BEGIN IMMEDIATE")
        row = db.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NoSuchUser("no user named '{name}'", name=name)
        return self._user(row)

    @staticmethod
    def _keep_an_admin(db: sqlite3.Connection, user: User, refusal: str, **values: object) -> None:
        """Refuses (``refusal`` naming ``{name}`` and ``values``) a change that would leave no enabled admin."""
        if user.role is not Role.ADMIN or user.disabled:
            return
        (others,) = db.execute(
            "SELECT COUNT(*) FROM users WHERE role = ? AND disabled = 0 AND name != ?", (Role.ADMIN.value, user.name)
        ).fetchone()
        if not others:
            raise LastAdmin(refusal, name=user.name, **values)

    @staticmethod
    def _record(db: sqlite3.Connection, by: str, action: AccountAction, target: str, detail: str) -> None:
        db.execute(
            "INSERT INTO account_changes (utc, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
            (time.time(), by, action.value, target, detail),
        )
        log.info("account change by %s: %s '%s' %s", by, action.value, target, detail)

    def get(self, name: str) -> User | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
        return self._user(row) if row else None

    def list(self) -> list[User]:
        with self._db() as db:
            rows = db.execute("SELECT * FROM users ORDER BY name").fetchall()
        return [self._user(r) for r in rows]

    @staticmethod
    def _user(row: sqlite3.Row) -> User:
        return User(row["name"], Role(row["role"]), row["created_utc"], bool(row["disabled"]))

    def authenticate(self, name: str, password: str) -> User | None:
        """The user when the password matches, else None; takes the same time for unknown names."""
        if len(password) > MAX_PASSWORD_LENGTH:
            return None
        with self._db() as db:
            row = db.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
        stored = row["password_hash"] if row else self._dummy_hash
        try:
            self.hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None or row["disabled"]:
            return None
        if self.hasher.check_needs_rehash(stored):
            with self._db() as db:
                db.execute("UPDATE users SET password_hash = ? WHERE name = ?", (self.hasher.hash(password), name))
        return self._user(row)

    # ---- sessions ---------------------------------------------------------------------------

    def open_session(self, user: User, lifetime_s: float) -> tuple[str, Session]:
        """A new random session token (returned once, stored hashed) and its CSRF token."""
        token = secrets.token_urlsafe(32)
        now = time.time()
        session = Session(user, secrets.token_urlsafe(32), now + lifetime_s)
        with self._db() as db:
            db.execute("DELETE FROM sessions WHERE expires_utc < ?", (now,))
            db.execute(
                "INSERT INTO sessions (token_sha256, user, csrf_token, created_utc, expires_utc)"
                " VALUES (?, ?, ?, ?, ?)",
                (_digest(token), user.name, session.csrf_token, now, session.expires_utc),
            )
        return token, session

    def session(self, token: str) -> Session | None:
        """The live session for a cookie value, or None (unknown, expired, or user disabled)."""
        if not token or len(token) > 128:
            return None
        with self._db() as db:
            row = db.execute(
                "SELECT s.csrf_token, s.expires_utc, u.* FROM sessions s JOIN users u ON u.name = s.user "
                "WHERE s.token_sha256 = ?",
                (_digest(token),),
            ).fetchone()
        if row is None or row["expires_utc"] < time.time() or row["disabled"]:
            return None
        return Session(self._user(row), row["csrf_token"], row["expires_utc"])

    def close_session(self, token: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM sessions WHERE token_sha256 = ?", (_digest(token),))
