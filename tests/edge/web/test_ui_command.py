"""``crossguard ui`` as a real subprocess: serves the site's first camera frame and refuses bad TLS settings."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import REPO
from tests.edge.web.conftest import PASSWORD, free_port, make_site, todays_events, write_journal


def _env() -> dict[str, str]:
    return os.environ | {"PYTHONPATH": str(REPO)}


def test_ui_command_serves_the_standalone_ui(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    db = tmp_path / "users.db"
    subprocess.run(
        [sys.executable, "-m", "edge", "users", "add", "op", "--role", "operator", "--password-stdin",
         "--users-db", str(db)],
        input=PASSWORD + "\n", text=True, check=True, env=_env(), capture_output=True, timeout=60,
    )  # fmt: skip
    write_journal(tmp_path / "state" / "events", todays_events())  # the service ran here earlier
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge", "ui", "--site", str(site), "--port", str(port), "--users-db", str(db),
         "--data-dir", str(tmp_path / "state")],
        env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read()  # type: ignore[union-attr]
            try:
                if httpx.get(f"{url}/healthz", timeout=2).text == "ok":
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "crossguard ui did not come up"
            time.sleep(0.2)
        with httpx.Client(base_url=url, timeout=30) as client:
            assert client.post("/api/login", json={"name": "op", "password": PASSWORD}).status_code == 200
            status = client.get("/api/status").json()
            assert status["site"]["id"] == "demo-campus-01"
            picture = client.get("/api/zones/background.jpg")
            assert picture.status_code == 200 and picture.content[:2] == b"\xff\xd8"
            assert client.get("/api/snapshot.jpg").status_code == 200
            board = client.get("/api/dashboard").json()
            assert board["live"] is False and board["box"] is None and "No live service" in board["notice"]
            assert board["crosswalks"][0]["signal"] is None
            assert board["crosswalks"][0]["today"]["crossings"] == 6  # counted from the journal
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_ui_command_needs_cert_and_key_together(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "edge", "ui", "--site", str(site), "--cert", str(tmp_path / "c.pem")],
        env=_env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "--cert and --key" in done.stderr


def test_ui_command_warns_when_it_serves_the_network_without_tls(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge", "ui", "--site", str(site), "--host", "0.0.0.0", "--port", str(free_port()),
         "--users-db", str(tmp_path / "users.db")],
        env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        lines = []
        for line in proc.stderr:  # type: ignore[union-attr]
            lines.append(line)
            if "plain HTTP" in line or "Uvicorn running" in line or len(lines) > 50:
                break
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    warning = next((line for line in lines if "plain HTTP" in line), "")
    assert "WARNING" in warning and "0.0.0.0" in warning and "--cert and --key" in warning, "".join(lines)
