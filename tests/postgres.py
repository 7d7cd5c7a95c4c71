"""A throw-away PostgreSQL cluster for tests: initdb in a temporary folder, a free port, its socket there too.

    from tests.postgres import postgres  # noqa: F401  (the fixture, in a conftest.py)
    def test_x(postgres): store = PostgresEventStore(postgres.new_database())

The binaries come from Debian's ``postgresql`` package (``/usr/lib/postgresql/<v>/bin`` or ``pg_config
--bindir``; scripts/setup-test-env.sh installs it). Without them the tests skip, and fail under CI=true.
PostgreSQL refuses to run as root, so as root the cluster runs as the ``postgres`` (or ``nobody``) user.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.mosquitto import free_port


def bindir() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(candidate, "initdb")):
            return Path(candidate)
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
        if out and os.path.exists(os.path.join(out, "initdb")):
            return Path(out)
    return None


@dataclass
class Postgres:
    folder: Path
    port: int
    user: str
    _names = itertools.count(1)

    @property
    def url(self) -> str:
        return self.url_of("postgres")

    def url_of(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh empty database; its URL."""
        import psycopg

        name = f"t{next(self._names)}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url_of(name)


def _runner() -> tuple[list[str], str]:
    """The command prefix that drops root, and the user the cluster runs as."""
    if os.geteuid() != 0:
        return [], pwd.getpwuid(os.geteuid()).pw_name
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return ["setpriv", f"--reuid={name}", f"--regid={pwd.getpwnam(name).pw_gid}", "--clear-groups"], name
    raise RuntimeError("running as root and neither a postgres nor a nobody user exists")


@contextmanager
def cluster(folder: Path | None = None, fsync: bool = False) -> Iterator[Postgres]:
    """A running throw-away cluster (initdb, pg_ctl) for tests and benchmarks; removed afterwards.
    Raises ``FileNotFoundError`` when the binaries are missing."""
    bins = bindir()
    if bins is None:
        raise FileNotFoundError("PostgreSQL binaries not found (scripts/setup-test-env.sh installs postgresql)")
    prefix, user = _runner()
    folder = Path(tempfile.mkdtemp(prefix="crossguard-pg-", dir=folder))  # not under pytest's root-only folders
    if os.geteuid() == 0:
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    data, port = folder / "data", free_port()
    subprocess.run([*prefix, str(bins / "initdb"), "-D", str(data), "-U", user, "-A", "trust", "--no-sync",
                    "-E", "UTF8", "--locale=C"], check=True, capture_output=True)  # fmt: skip
    options = (f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync={'on' if fsync else 'off'}"
               " -c max_connections=100")  # fmt: skip
    subprocess.run([*prefix, str(bins / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"),
                    "-w", "-t", "30", "start"], check=True, capture_output=True)  # fmt: skip
    try:
        yield Postgres(folder, port, user)
    finally:
        subprocess.run([*prefix, str(bins / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One cluster for the test session; each test takes its own database with ``new_database()``."""
    if bindir() is None:
        message = "PostgreSQL binaries not found (scripts/setup-test-env.sh installs the postgresql package)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    with cluster() as running:
        yield running
