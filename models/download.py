"""Fetching model files: streamed, hashed while written, verified, then moved into place atomically.

A box never runs a model whose bytes differ from the catalog's SHA-256: a download that does not
match is discarded, and an interrupted one leaves only a temporary ``.part`` file that is removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from tqdm import tqdm

from edge.digest import sha256_file
from models.catalog import ModelEntry

CHUNK = 1 << 16


class DownloadError(RuntimeError):
    """A download that failed or did not match its checksum; one line naming the URL and the problem."""


class FileStatus(Enum):
    OK = "ok"
    MISSING = "missing"
    MISMATCH = "sha256 mismatch"


@dataclass(frozen=True)
class VerifyResult:
    entry: ModelEntry
    path: Path
    status: FileStatus
    actual_sha256: str | None = None


def verify(entry: ModelEntry, path: Path) -> VerifyResult:
    """Is the file at ``path`` exactly the catalog's model?"""
    if not path.is_file():
        return VerifyResult(entry, path, FileStatus.MISSING)
    actual = sha256_file(path)
    status = FileStatus.OK if actual == entry.sha256 else FileStatus.MISMATCH
    return VerifyResult(entry, path, status, actual)


def download(url: str, dest: Path, sha256: str, *, timeout: float = 60.0, progress: bool = True) -> Path:
    """Download ``url`` to ``dest`` if it is not already there with the right SHA-256.

    The bytes go to a temporary file beside ``dest`` and are renamed over it only after the
    checksum matches, so ``dest`` is never a partial or wrong file.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_file() and sha256_file(dest) == sha256:
        return dest
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as tmp:
            actual = _stream(url, tmp, timeout, progress, dest.name)
            tmp.flush()
            os.fsync(tmp.fileno())
        if actual != sha256:
            raise DownloadError(
                f"{url}: SHA-256 mismatch (expected {sha256[:12]}…, got {actual[:12]}…); download discarded"
            )
        os.replace(tmp_name, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
    return dest


def _stream(url: str, out: object, timeout: float, progress: bool, label: str) -> str:
    """Copy the response body into ``out``, returning its SHA-256; errors become DownloadError."""
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            with tqdm(total=total, unit="B", unit_scale=True, desc=label, disable=not progress) as bar:
                for block in iter(lambda: response.read(CHUNK), b""):
                    out.write(block)  # type: ignore[attr-defined]
                    digest.update(block)
                    bar.update(len(block))
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise DownloadError(f"{url}: cannot connect ({exc.reason})") from None
    except (OSError, ValueError) as exc:
        raise DownloadError(f"{url}: download failed ({exc})") from None
    return digest.hexdigest()


def download_model(entry: ModelEntry, models_dir: Path, *, mirror: str | None = None, progress: bool = True) -> Path:
    """Fetch one catalog model into ``models_dir``, from its published URL or ``mirror/<file>``."""
    url = f"{mirror.rstrip('/')}/{entry.file}" if mirror else entry.url
    return download(url, models_dir / entry.file, entry.sha256, progress=progress)
