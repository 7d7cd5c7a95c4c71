"""State files are created 0600 (secrets) or 0640 (what reviewers read), whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.mqtt.outbox import MessageKind, Outbox
from edge.mqtt.store import SqliteEventStore
from edge.observers import EventJournal
from edge.operator import OperatorControls
from edge.ops.files import private_file, write_private
from edge.users import Role, UserStore
from edge.web.site_file import SiteHistory
from evidence.index import EvidenceIndex
from tests.edge.web.conftest import FAST_HASHER


@pytest.fixture(autouse=True)
def shell_umask() -> Iterator[None]:
    """The umask of an interactive shell: new files would be world-readable."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def modes(folder: Path) -> dict[str, int]:
    return {p.name: mode(p) for p in sorted(folder.iterdir()) if p.is_file()}


def test_sqlite_files_and_their_wal_and_shm_are_private(tmp_path: Path) -> None:
    users = UserStore(tmp_path / "users" / "users.db", hasher=FAST_HASHER)
    users.add("admin", Role.ADMIN, "correct horse battery")
    outbox = Outbox(tmp_path / "outbox" / "outbox.sqlite")
    outbox.add(MessageKind.STATUS, "t/status", "{}")
    store = SqliteEventStore(tmp_path / "centre" / "events.sqlite")
    index = EvidenceIndex(tmp_path / "evidence" / "index.sqlite")
    index.record_unwritten("e1", "disk full")
    for name in ("users", "outbox", "centre"):
        found = modes(tmp_path / name)
        assert found and set(found.values()) == {0o600}, found
    found = modes(tmp_path / "evidence")
    assert {"index.sqlite", "index.sqlite-wal", "index.sqlite-shm"} <= set(found)
    assert set(found.values()) == {0o640}, found
    assert any(n.endswith("-wal") for n in modes(tmp_path / "outbox"))
    outbox.close()
    store.close()
    index.db.close()


def test_journal_operator_file_and_zone_history_are_private(tmp_path: Path) -> None:
    journal = EventJournal(tmp_path / "events")
    journal._open("2026-12-06")
    journal._file.close()
    controls = OperatorControls(tmp_path / "operator.json")
    controls.set_enforcement(False, "admin", 1_700_000_000.0)
    history = SiteHistory(tmp_path / "history")
    history.record("mqtt:\n  password: hunter2\n", "operator", "zones edited")
    assert modes(tmp_path / "events") == {"events-2026-12-06.jsonl": 0o640}
    assert mode(tmp_path / "operator.json") == 0o600
    assert modes(tmp_path / "history") == {"v00001.yaml": 0o600, "versions.jsonl": 0o600}


def test_an_older_loose_file_is_tightened_and_never_widened(tmp_path: Path) -> None:
    loose = tmp_path / "users.db"
    loose.touch(mode=0o666)
    os.chmod(loose, 0o644)
    assert mode(private_file(loose)) == 0o600
    narrow = tmp_path / "index.sqlite"
    narrow.touch()
    os.chmod(narrow, 0o600)
    assert mode(private_file(narrow, 0o640)) == 0o600
    status = tmp_path / "status.json"
    status.write_text("{}")
    write_private(status, "{}\n", 0o640)
    assert mode(status) == 0o640


def test_a_read_only_copy_still_opens(tmp_path: Path) -> None:
    copy = tmp_path / "index.sqlite"
    EvidenceIndex(copy).db.close()
    os.chmod(copy, 0o444)
    assert mode(private_file(copy, 0o640)) == 0o440  # only narrowed, and nothing raised


