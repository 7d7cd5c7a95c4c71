"""Account management: roles, disable/enable, delete and password resets, the last-admin guard and the audit."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import pytest

from edge.users import AccountAction, LastAdmin, NoSuchUser, Role, UserStore
from tests.edge.web.conftest import FAST_HASHER, PASSWORD, Server

NEW_PASSWORD = "another long passphrase"


@pytest.fixture
def store(tmp_path: Path) -> UserStore:
    store = UserStore(tmp_path / "users.db", hasher=FAST_HASHER)
    store.add("root", Role.ADMIN, PASSWORD, by="setup")
    store.add("ana", Role.POLICE, PASSWORD, by="setup")
    return store


def test_disabled_account_cannot_log_in_and_its_sessions_end_at_once(store: UserStore) -> None:
    token, _ = store.open_session(store.get("ana"), 3600)  # type: ignore[arg-type]
    store.set_disabled("ana", True, by="root")
    assert store.session(token) is None
    assert store.authenticate("ana", PASSWORD) is None
    store.set_disabled("ana", False, by="root")
    assert store.session(token) is None  # enabling again does not bring an old session back
    assert store.authenticate("ana", PASSWORD) is not None


def test_deleted_account_is_gone_with_its_sessions_and_its_name_is_free(store: UserStore) -> None:
    token, _ = store.open_session(store.get("ana"), 3600)  # type: ignore[arg-type]
    store.delete("ana", by="root")
    assert store.get("ana") is None and store.session(token) is None
    assert sqlite3.connect(store.path).execute("SELECT COUNT(*) FROM sessions").fetchone() == (0,)
    store.add("ana", Role.VIEWER, PASSWORD)
    assert store.authenticate("ana", PASSWORD).role is Role.VIEWER  # type: ignore[union-attr]


def test_new_role_applies_to_an_open_session(store: UserStore) -> None:
    token, _ = store.open_session(store.get("ana"), 3600)  # type: ignore[arg-type]
    assert store.set_role("ana", Role.OPERATOR, by="root").role is Role.OPERATOR
    assert store.session(token).user.role is Role.OPERATOR  # type: ignore[union-attr]


def test_password_reset_ends_sessions_except_the_one_kept(store: UserStore) -> None:
    root = store.get("root")
    mine, _ = store.open_session(root, 3600)  # type: ignore[arg-type]
    other, _ = store.open_session(root, 3600)  # type: ignore[arg-type]
    store.set_password("root", NEW_PASSWORD, by="root", keep_session=mine)
    assert store.session(mine) is not None and store.session(other) is None
    assert store.authenticate("root", NEW_PASSWORD) is not None


# (what, change that would leave no enabled admin)
LAST_ADMIN: list[tuple[str, Callable[[UserStore], object]]] = [
    ("demote", lambda s: s.set_role("root", Role.OPERATOR, by="root")),
    ("disable", lambda s: s.set_disabled("root", True, by="root")),
    ("delete", lambda s: s.delete("root", by="root")),
]


@pytest.mark.parametrize(("what", "change"), LAST_ADMIN, ids=[w for w, _ in LAST_ADMIN])
def test_the_last_enabled_admin_stays(store: UserStore, what: str, change: Callable[[UserStore], object]) -> None:
    with pytest.raises(LastAdmin, match="'root' is the last enabled admin"):
        change(store)
    root = store.get("root")
    assert root is not None and root.role is Role.ADMIN and not root.disabled
    store.add("kim", Role.ADMIN, PASSWORD)
    store.set_disabled("kim", True)
    with pytest.raises(LastAdmin):  # a disabled admin does not count
        change(store)
    store.set_disabled("kim", False)
    change(store)  # with another enabled admin, it is allowed


def test_changes_to_an_unknown_account_name_it(store: UserStore) -> None:
    for change in (
        lambda: store.set_role("nobody", Role.VIEWER),
        lambda: store.set_disabled("nobody", True),
        lambda: store.delete("nobody"),
        lambda: store.set_password("nobody", NEW_PASSWORD),
    ):
        with pytest.raises(NoSuchUser, match="no user named 'nobody'"):
            change()


def test_every_change_is_in_the_audit_with_who_and_when(store: UserStore) -> None:
    store.set_role("ana", Role.VIEWER, by="root (web)")
    store.set_role("ana", Role.VIEWER, by="root (web)")  # no change, no line
    store.set_disabled("ana", True, by="root (web)")
    store.set_disabled("ana", False, by="root (web)")
    store.set_password("ana", NEW_PASSWORD, by="root (web)")
    store.delete("ana", by="root (web)")
    changes = store.changes()
    assert [(c.action, c.target, c.detail) for c in reversed(changes)] == [
        (AccountAction.ADD, "root", "as admin"),
        (AccountAction.ADD, "ana", "as police"),
        (AccountAction.ROLE, "ana", "police -> viewer"),
        (AccountAction.DISABLE, "ana", "sessions closed"),
        (AccountAction.ENABLE, "ana", ""),
        (AccountAction.PASSWORD, "ana", "new password; sessions closed"),
        (AccountAction.DELETE, "ana", "was viewer"),
    ]
    assert {c.actor for c in changes[:5]} == {"root (web)"}
    assert all(later.utc >= earlier.utc for later, earlier in pairwise(changes))


OLD_SCHEMA = """
CREATE TABLE users (name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL,
                    created_utc REAL NOT NULL, disabled INTEGER NOT NULL DEFAULT 0);
CREATE TABLE sessions (token_sha256 TEXT PRIMARY KEY, user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
                       csrf_token TEXT NOT NULL, created_utc REAL NOT NULL, expires_utc REAL NOT NULL);
"""


def test_an_accounts_database_from_before_the_audit_keeps_working(tmp_path: Path) -> None:
    path = tmp_path / "users.db"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
        db.execute("INSERT INTO users VALUES ('root', 'admin', ?, 1.0, 0)", (FAST_HASHER.hash(PASSWORD),))
    store = UserStore(path, hasher=FAST_HASHER)
    assert store.authenticate("root", PASSWORD) is not None and store.changes() == []
    store.add("ana", Role.VIEWER, PASSWORD, by="root")
    assert [c.target for c in store.changes()] == ["ana"]


# ---- over the real server ------------------------------------------------------------------------


def test_admin_manages_accounts_through_the_api(server: Server) -> None:
    police = server.login(Role.POLICE)
    with server.login(Role.ADMIN) as admin:
        r = admin.put("/api/users/police/role", json={"role": "viewer"})
        assert r.status_code == 200 and r.json()["role"] == "viewer"
        assert police.get("/api/evidence").status_code == 403  # the open session has the new role at once
        r = admin.put("/api/users/police/disabled", json={"disabled": True})
        assert r.status_code == 200 and r.json()["disabled"] is True
        assert police.get("/api/me").status_code == 401  # its session ended
        with server.client() as anonymous:
            login = anonymous.post("/api/login", json={"name": "police", "password": PASSWORD})
            assert login.status_code == 401
        assert admin.put("/api/users/police/disabled", json={"disabled": False}).json()["disabled"] is False
        assert admin.put("/api/users/police/password", json={"password": NEW_PASSWORD}).status_code == 204
        with server.client() as anonymous:
            assert anonymous.post("/api/login", json={"name": "police", "password": NEW_PASSWORD}).status_code == 200
        assert admin.delete("/api/users/police").status_code == 204
        assert "police" not in [u["name"] for u in admin.get("/api/users").json()]
        changes = admin.get("/api/users/changes").json()
        assert [c["action"] for c in changes[:5]] == ["delete", "password", "enable", "disable", "role"]
        assert {c["actor"] for c in changes[:5]} == {"admin (web)"} and changes[0]["target"] == "police"
    police.close()


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "message"),
    [
        ("PUT", "/api/users/admin/role", {"role": "operator"}, 409, "last enabled admin"),
        ("PUT", "/api/users/admin/disabled", {"disabled": True}, 409, "last enabled admin"),
        ("DELETE", "/api/users/admin", None, 409, "last enabled admin"),
        ("PUT", "/api/users/nobody/role", {"role": "viewer"}, 404, "no user named 'nobody'"),
        ("DELETE", "/api/users/nobody", None, 404, "no user named 'nobody'"),
        ("PUT", "/api/users/viewer/password", {"password": "short"}, 422, "at least"),
        ("PUT", "/api/users/viewer/role", {"role": "superuser"}, 422, ""),
    ],
)
def test_refused_account_changes(shared_server: Server, method, path, body, status, message) -> None:  # type: ignore[no-untyped-def]
    with shared_server.login(Role.ADMIN) as admin:
        r = admin.request(method, path, json=body)
        assert r.status_code == status, r.text
        assert message in str(r.json()["detail"])
        assert admin.get("/api/me").status_code == 200


def test_admin_resetting_their_own_password_stays_logged_in(server: Server) -> None:
    other = server.login(Role.ADMIN)
    with server.login(Role.ADMIN) as admin:
        assert admin.put("/api/users/admin/password", json={"password": NEW_PASSWORD}).status_code == 204
        assert admin.get("/api/me").status_code == 200
    assert other.get("/api/me").status_code == 401  # the same account's other session ended
    other.close()


def test_account_changes_need_the_csrf_token(server: Server) -> None:
    with server.login(Role.ADMIN) as admin:
        del admin.headers["x-csrf-token"]
        assert admin.delete("/api/users/viewer").status_code == 403
        assert admin.put("/api/users/viewer/disabled", json={"disabled": True}).status_code == 403
        assert [u["disabled"] for u in admin.get("/api/users").json() if u["name"] == "viewer"] == [False]
