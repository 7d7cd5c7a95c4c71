"""A real centre (uvicorn over FastAPI, a real store and blob folder) that a test can stop and start again."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn

from edge.centre.app import create_centre_app
from edge.centre.evidence import LocalDiskStorage, add_box
from edge.centre.web import CentreWebSettings
from edge.mqtt.store import SqliteEventStore, open_store
from edge.users import Role, UserStore
from evidence import signing
from tests.edge.web.conftest import FAST_HASHER, PASSWORD
from tests.mosquitto import free_port
from tests.postgres import postgres  # noqa: F401  (fixture)


class CountingStorage(LocalDiskStorage):
    """The real disk storage, counting writes per key: 'none twice' is then a fact, not a guess."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.writes: dict[str, int] = {}

    def put(self, key: str, data: bytes) -> None:
        self.writes[key] = self.writes.get(key, 0) + 1
        super().put(key, data)


@dataclass
class Centre:
    store: SqliteEventStore
    storage: CountingStorage
    port: int = field(default_factory=free_port)
    ui: CentreWebSettings | None = None
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        app = create_centre_app(self.store, self.storage, self.ui)
        if self.ui is not None:
            app.state.web.users.hasher = FAST_HASHER
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            assert self._thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
            self._server = None

    def register(self, box: str, evidence_root: Path) -> str:
        """The box's token, its public key pinned as at installation."""
        key = signing.load_or_create(evidence_root / "keys" / "device_ed25519.pem")
        return add_box(self.store, box, signing.public_pem(key.public_key()))


@pytest.fixture(params=["sqlite", "postgresql"])
def centre(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Centre]:
    """A centre on each store back-end, not started yet."""
    target = str(tmp_path / "centre.sqlite")
    if request.param == "postgresql":
        target = request.getfixturevalue("postgres").new_database()
    c = Centre(open_store(target), CountingStorage(tmp_path / "blobs"))  # type: ignore[arg-type]
    try:
        yield c
    finally:
        c.stop()
        c.store.close()


@pytest.fixture
def centre_ui(tmp_path: Path) -> Iterator[Centre]:
    """A centre with its web UI and one account per role (named after the role, password ``PASSWORD``)."""
    users_db = tmp_path / "centre-users.sqlite"
    users = UserStore(users_db, FAST_HASHER)
    for role in Role:
        users.add(role.value, role, PASSWORD)
    c = Centre(SqliteEventStore(tmp_path / "centre.sqlite"), CountingStorage(tmp_path / "blobs"),
               ui=CentreWebSettings(users_db=users_db))  # fmt: skip
    try:
        yield c
    finally:
        c.stop()
        c.store.close()
from tests.mosquitto import mosquitto  # noqa: F401,E402  (fixture)
