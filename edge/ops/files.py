"""State files the box writes are never readable by other local users, whatever the umask.

The service unit sets ``UMask=0027``, but the same code runs from a shell (``crossguard run``,
``crossguard users add``) where the umask is usually 022: files would be world-readable. Every
writer of state (SQLite databases, the journal, the outbox, users, operator and status files,
zone-history copies) creates its file through these helpers, which set the mode explicitly.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

PRIVATE = 0o600  # secrets and what only the service reads: users, outbox, site copies
GROUP_READ = 0o640  # what reviewers in the service's group may read: journal, index, status


def private_file(path: str | Path, mode: int = PRIVATE) -> Path:
    """Create ``path`` empty if it is missing, and give it ``mode`` (tightening an older file).

    Call it before ``sqlite3.connect``: SQLite creates the ``-wal`` and ``-shm`` files with the
    database file's permissions.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        _tighten(path, mode)
        return path
    try:
        os.fchmod(fd, mode)
    finally:
        os.close(fd)
    return path


def _tighten(path: Path, mode: int) -> None:
    """Take away the bits ``mode`` does not grant; never widen (an operator may have narrowed it)."""
    try:
        current = path.stat().st_mode & 0o777
        if current & ~mode:
            os.chmod(path, current & mode)
    except OSError:
        pass  # someone else's file or a read-only copy (a reviewer's): reading it must still work


def _opener(mode: int) -> Callable[[str, int], int]:
    def opener(name: str, flags: int) -> int:
        fd = os.open(name, flags, mode)
        os.fchmod(fd, mode)  # the umask may have taken bits away, or the file was older and looser
        return fd

    return opener


def open_private(path: str | Path, how: str = "w", mode: int = PRIVATE, **kwargs: Any) -> IO[Any]:
    """``open(path, how)`` creating the file with ``mode`` (``encoding`` defaults to UTF-8 for text)."""
    if "b" not in how:
        kwargs.setdefault("encoding", "utf-8")
    return open(path, how, opener=_opener(mode), **kwargs)  # the caller closes it


def write_private(path: str | Path, text: str, mode: int = PRIVATE) -> None:
    """``Path.write_text`` with the file's mode set whatever the umask."""
    with open_private(path, "w", mode) as handle:
        handle.write(text)
