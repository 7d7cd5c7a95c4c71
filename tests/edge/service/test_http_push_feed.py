"""``crossguard run`` serves an HTTP push feed without ``listen_port`` on the web UI's server, over its
TLS, on the feed's bearer token (no session, no CSRF); with no UI to carry it, the feed is DOWN."""

from __future__ import annotations

import socket
import ssl
import time
from typing import Any

import httpx
import pytest

from tests.edge.service.sites import start_service, stop_service, write_site
from tests.edge.service.test_web_ui import LogLines, _answers
from tests.edge.streams import free_port, wait_until
from tests.edge.web.conftest import PASSWORD, add_role_users
from tests.mosquitto import issue_cert, make_ca

pytestmark = pytest.mark.timeout(180)

TOKEN = "controller-gateway-token-0123456789"
FEED = {"type": "http_push", "name": "gateway", "stale_after_s": 600}  # token from $CROSSGUARD_SIGNAL_TOKEN
PATH = "/api/signal/gateway"
TEN_MB = 10 * 1024 * 1024


def _shown_state(ui: httpx.Client) -> str | None:
    signal = ui.get("/api/dashboard").json()["crosswalks"][0]["signal"]
    return signal["state"] if signal else None


def _source(ops: httpx.Client) -> dict[str, Any]:
    return ops.get("/status").json()["signal_sources"]["gateway"]


def _unread_body_answer(port: int, trust: ssl.SSLContext, headers: str, chunked: bool = False) -> bytes:
    """Start a 10 MB body (announced, or chunked without a length), send only its first 100 kB, and
    return the server's answer: it comes while 99 % of the body is still unsent."""
    part = b"[" * 100_000  # beyond max_message_bytes (64 KiB)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {TEN_MB}"
    head = f"POST {PATH} HTTP/1.1\r\nHost: box\r\nContent-Type: application/json\r\n{headers}{framing}\r\n\r\n"
    body = b"%x\r\n%s\r\n" % (len(part), part) if chunked else part
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    with trust.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        tls.sendall(head.encode() + body)
        return tls.recv(4096)


def test_run_takes_pushed_states_on_the_ui_port_with_the_token_only(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ca, ca_key, ca_cert = make_ca(tmp_path / "tls", "box-ca")
    tls = issue_cert(tmp_path / "tls", "box", ca_key, ca_cert, ca.ca_file, server=True)
    ops_port, web_port = free_port(), free_port()
    add_role_users(tmp_path / "state" / "users.db")
    site = write_site(
        tmp_path,
        signal={"sources": [FEED]},
        service={"capture": {"loop": True}, "http": {"port": ops_port}},
        web={"port": web_port, "tls_cert": str(tls.cert_file), "tls_key": str(tls.key_file)},
        evidence={"enabled": False},
    )
    log = LogLines(start_service(site, env={"CROSSGUARD_SIGNAL_TOKEN": TOKEN}))
    try:
        trust = ssl.create_default_context(cafile=str(ca.ca_file))
        ui = httpx.Client(base_url=f"https://127.0.0.1:{web_port}", verify=trust, timeout=10)
        ops = httpx.Client(base_url=f"http://127.0.0.1:{ops_port}", timeout=10)
        controller = httpx.Client(base_url=f"https://127.0.0.1:{web_port}", verify=trust, timeout=10)
        with ui, ops, controller:
            wait_until(lambda: (r := _answers(ui, "/healthz")) and r.text == "ok", 60, what="the UI over HTTPS")
            assert ui.post("/api/login", json={"name": "viewer", "password": PASSWORD}).status_code == 200
            assert _source(ops)["state"] == "ok"

            def push(state: str, token: str = TOKEN) -> httpx.Response:
                body = {"group": "ped-main", "state": state, "ts": time.time()}
                return controller.post(PATH, json=body, headers={"Authorization": f"Bearer {token}"})

            # The controller has no session and sends no CSRF token: its bearer token is enough.
            assert push("DONT_WALK").json() == {"accepted": 1, "rejected": 0}
            wait_until(lambda: _shown_state(ui) == "DONT_WALK", 60, what="DON'T WALK from the push")
            assert push("WALK").status_code == 202
            wait_until(lambda: _shown_state(ui) == "WALK", 60, what="WALK from the push")
            assert "2 accepted" in _source(ops)["detail"]

            # A wrong or missing token changes nothing, and a logged-in browser session is no substitute.
            wrong = push("DONT_WALK", token="not-the-controller-token-000000")
            assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
            body = {"group": "ped-main", "state": "DONT_WALK", "ts": time.time()}
            assert ui.post(PATH, json=body).status_code == 401
            assert "2 accepted" in _source(ops)["detail"] and _shown_state(ui) == "WALK"

            # 10 MB: refused before the body is read, whether its length is announced or not.
            announced = _unread_body_answer(web_port, trust, "")
            assert announced.startswith((b"HTTP/1.1 401", b"HTTP/1.1 413")), announced[:200]
            chunked = _unread_body_answer(web_port, trust, "", chunked=True)
            assert chunked.startswith(b"HTTP/1.1 401"), chunked[:200]
            wrong_token = _unread_body_answer(web_port, trust, "Authorization: Bearer wrong\r\n", chunked=True)
            assert wrong_token.startswith(b"HTTP/1.1 401"), wrong_token[:200]
            # With the token, the body is cut off past one feed message (max_message_bytes).
            too_large = _unread_body_answer(web_port, trust, f"Authorization: Bearer {TOKEN}\r\n", chunked=True)
            assert too_large.startswith(b"HTTP/1.1 413"), too_large[:200]
            assert push("WALK").status_code == 202  # and the route goes on working
            assert "3 accepted" in _source(ops)["detail"]
    finally:
        code, err = log.stop()
    assert code == 0, err[-3000:]


def test_a_push_feed_without_a_ui_to_carry_it_is_down_and_says_why(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ops_port = free_port()
    site = write_site(
        tmp_path,
        signal={"sources": [FEED]},
        service={"capture": {"loop": True}, "http": {"port": ops_port}},
        web={"port": free_port(), "tls_cert": str(tmp_path / "missing.pem"), "tls_key": str(tmp_path / "k.pem")},
        evidence={"enabled": False},
    )
    proc = start_service(site, env={"CROSSGUARD_SIGNAL_TOKEN": TOKEN})
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{ops_port}", timeout=10) as ops:
            source = wait_until(lambda: (r := _answers(ops, "/status")) and r.json()["frames_processed"]
                                and _source(ops), 60, what="frames with the UI down")  # fmt: skip
            health = ops.get("/healthz")
        assert source["state"] == "down"
        assert source["detail"].startswith("not served: the web UI could not be started"), source["detail"]
        assert health.status_code == 503
        assert any(r.startswith("signal source gateway down: not served") for r in health.json()["reasons"])
    finally:
        code, _, err = stop_service(proc)
    assert code == 0, err[-3000:]
