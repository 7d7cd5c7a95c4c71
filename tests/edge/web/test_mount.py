"""The UI mounted onto the live service's own FastAPI app, which keeps its routes first."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from edge.web import WebContext
from edge.web.app import mount
from tests.edge.web.conftest import FAST_HASHER, PASSWORD, add_role_users, free_port, make_site


@dataclass
class Status:
    frames: int

    def to_dict(self) -> dict[str, int]:
        return {"frames": self.frames}


@dataclass
class Host:
    """The service's side as ``mount`` sees it: a site file and a status report."""

    site_path: Path

    def status(self) -> Status:
        return Status(frames=42)


def _serve(app: FastAPI) -> tuple[uvicorn.Server, threading.Thread, str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive()
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{port}"


def test_mounted_ui_beside_the_service_routes(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    site.write_text(site.read_text() + "\nweb:\n  users_db: state/users.db\n")
    add_role_users(tmp_path / "state" / "users.db")
    service_app = FastAPI()

    @service_app.get("/healthz")
    def healthz() -> dict[str, bool]:
        return {"live": True}

    mount(service_app, Host(site))
    server, thread, url = _serve(service_app)
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            assert client.get("/healthz").json() == {"live": True}  # the service's own route wins
            assert client.get("/api/status").status_code == 401
            r = client.post("/api/login", json={"name": "operator", "password": PASSWORD})
            assert r.status_code == 200
            client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
            assert client.get("/api/status").json() == {"frames": 42}
            zones = client.get("/api/zones").json()
            body = {"crosswalks": zones["crosswalks"], "base_sha256": zones["sha256"]}
            saved = client.put("/api/zones", json=body).json()
            assert saved["applied"] is False and "restart" in saved["apply_error"]
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_host_with_a_web_context_is_used_as_is(tmp_path: Path) -> None:
    add_role_users(tmp_path / "users.db")
    context = WebContext(
        site_path=make_site(tmp_path), users_db=tmp_path / "users.db", snapshot=lambda: b"\\xff\\xd8jpeg"
    )

    class Service:
        def web_context(self) -> WebContext:
            return context

    app = FastAPI()
    mount(app, Service())
    web = app.routes[-1].app.state.web  # type: ignore[attr-defined]
    assert web.context is context
    web.users.hasher = FAST_HASHER
