"""Downloads from a real HTTP server on 127.0.0.1 serving the shared model files."""

from __future__ import annotations

import functools
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from models.catalog import find_model
from models.download import DownloadError, FileStatus, download, download_model, verify
from tests.conftest import require_shared
from tests.detection.helpers import run_cli

ENTRY = find_model("fastestdet-352")  # the smallest shared model (1 MB)


class Server:
    """A static file server on a free loopback port that counts the requests it answers."""

    def __init__(self, root: Path) -> None:
        self.requests: list[str] = []
        outer = self

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                outer.requests.append(self.path)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def shared_models() -> Iterator[Server]:
    server = Server(require_shared(f"models/{ENTRY.file}").parent)
    yield server
    server.close()


@pytest.fixture
def corrupted(tmp_path: Path) -> Iterator[Server]:
    root = tmp_path / "mirror"
    root.mkdir()
    data = bytearray(require_shared(f"models/{ENTRY.file}").read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte: same size, wrong bytes
    (root / ENTRY.file).write_bytes(bytes(data))
    server = Server(root)
    yield server
    server.close()


def test_downloads_and_verifies(shared_models: Server, tmp_path: Path) -> None:
    dest = download_model(ENTRY, tmp_path / "weights", mirror=shared_models.base, progress=False)
    assert verify(ENTRY, dest).status is FileStatus.OK
    assert list(dest.parent.iterdir()) == [dest]  # no temporary file left behind


def test_a_file_already_in_place_is_not_fetched_again(shared_models: Server, tmp_path: Path) -> None:
    download_model(ENTRY, tmp_path, mirror=shared_models.base, progress=False)
    download_model(ENTRY, tmp_path, mirror=shared_models.base, progress=False)
    assert len(shared_models.requests) == 1


def test_a_corrupted_download_is_discarded(corrupted: Server, tmp_path: Path) -> None:
    dest = tmp_path / "weights" / ENTRY.file
    with pytest.raises(DownloadError, match="SHA-256 mismatch") as caught:
        download(f"{corrupted.base}/{ENTRY.file}", dest, ENTRY.sha256, progress=False)
    assert "\n" not in str(caught.value)
    assert list(dest.parent.iterdir()) == []  # neither the file nor a temporary part


def test_a_corrupted_download_leaves_the_old_good_file(corrupted: Server, tmp_path: Path) -> None:
    dest = tmp_path / "weights" / ENTRY.file
    dest.parent.mkdir()
    shutil.copyfile(require_shared(f"models/{ENTRY.file}"), dest)
    dest.write_bytes(dest.read_bytes()[:1000])  # a truncated earlier copy: gets replaced only by good bytes
    with pytest.raises(DownloadError):
        download(f"{corrupted.base}/{ENTRY.file}", dest, ENTRY.sha256, progress=False)
    assert dest.stat().st_size == 1000


def test_http_errors_name_the_url(shared_models: Server, tmp_path: Path) -> None:
    url = f"{shared_models.base}/nope.onnx"
    with pytest.raises(DownloadError, match=r"nope\.onnx: HTTP 404"):
        download(url, tmp_path / "nope.onnx", ENTRY.sha256, progress=False)


def test_models_cli_download_then_verify(shared_models: Server, corrupted: Server, tmp_path: Path) -> None:
    weights = tmp_path / "weights"
    ok = run_cli("models", "download", ENTRY.name, "--dir", str(weights), "--mirror", shared_models.base)
    assert ok.returncode == 0, ok.stderr
    assert f"{weights / ENTRY.file}: OK" in ok.stdout
    verified = run_cli("models", "verify", ENTRY.name, "--dir", str(weights))
    assert verified.returncode == 0 and verified.stdout.strip().endswith(": ok")

    (weights / ENTRY.file).unlink()
    bad = run_cli("models", "download", ENTRY.name, "--dir", str(weights), "--mirror", corrupted.base, "--quiet")
    assert bad.returncode == 2 and "SHA-256 mismatch" in bad.stderr
    missing = run_cli("models", "verify", ENTRY.name, "--dir", str(weights))
    assert missing.returncode == 1 and "missing" in missing.stdout
