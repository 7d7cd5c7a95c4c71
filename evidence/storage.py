"""Crash-safe files: temp name, fsync, rename, directory fsync — a power cut never leaves a half file."""

from __future__ import annotations

import hashlib
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

from edge.digest import sha256_file
from evidence.types import EvidenceFile, FileKind

FILE_MODE = 0o640  # evidence is readable by the service user and its group (reviewers), nobody else
DIR_MODE = 0o750
STAGING_DIR = ".staging"  # events being written; never part of the evidence until renamed out
INDEX_FILE = "index.sqlite"


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` either does not exist or is complete."""
    tmp = path.with_name(f".{path.name}.tmp")
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE), "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def adopt_atomic(tmp: Path, path: Path) -> None:
    """Make a file written by someone else (ffmpeg) durable, then give it its final name."""
    with tmp.open("rb+") as fh:
        os.fchmod(fh.fileno(), FILE_MODE)
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def event_folder(entry_utc: float, event_id: str) -> str:
    """Date-partitioned folder, relative to the root: YYYY/MM/DD/<event id> (UTC date)."""
    day = datetime.fromtimestamp(entry_utc, tz=timezone.utc)
    return f"{day:%Y/%m/%d}/{event_id}"


class EventStaging:
    """An event's folder under construction in <root>/.staging; ``commit`` moves it in with one rename."""

    def __init__(self, root: Path, event_id: str) -> None:
        self.root = root
        self.path = root / STAGING_DIR / event_id
        if self.path.exists():
            shutil.rmtree(self.path)  # a leftover from a crash: never committed, so not evidence
        self.path.mkdir(parents=True, mode=DIR_MODE)
        self.files: list[EvidenceFile] = []

    def add(self, relpath: str, kind: FileKind, data: bytes) -> EvidenceFile:
        target = self.path / relpath
        target.parent.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        write_atomic(target, data)
        entry = EvidenceFile(relpath, kind, len(data), hashlib.sha256(data).hexdigest())
        self.files.append(entry)
        return entry

    def adopt(self, tmp: Path, relpath: str, kind: FileKind) -> EvidenceFile:
        target = self.path / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        adopt_atomic(tmp, target)
        entry = EvidenceFile(relpath, kind, target.stat().st_size, sha256_file(target))
        self.files.append(entry)
        return entry

    def commit(self, folder: str) -> Path:
        final = self.root / folder
        final.parent.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        for sub in self.path.rglob("*"):
            if sub.is_dir():
                fsync_dir(sub)
        fsync_dir(self.path)
        os.rename(self.path, final)  # fails if the folder exists: an event is written once
        fsync_dir(final.parent)
        fsync_dir(self.path.parent)
        return final

    def discard(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def free_bytes(path: Path) -> int:
    probe = path
    while not probe.exists():
        probe = probe.parent
    return shutil.disk_usage(probe).free
