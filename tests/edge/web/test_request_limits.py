"""Huge bodies: refused before they are read when no session may send them, cut off at the route's limit otherwise.

The server is the real uvicorn of ``conftest.serve`` in this process, so its memory is this
process's: ``VmRSS`` from ``/proc/self/status`` is sampled while the body streams in.
"""

from __future__ import annotations

import select
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from edge.users import Role
from edge.web.auth import CSRF_HEADER
from edge.web.guard import BODY_LIMIT, UPLOAD_LIMIT
from tests.edge.web.conftest import Server

HUGE = 300 * 1024 * 1024
CHUNK = 1024 * 1024
RSS_GROWTH_BOUND = 100 * 1024 * 1024  # generous: reading the body whole would add at least HUGE


def rss_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@dataclass
class Answer:
    status: int
    head: str
    sent: int
    rss_growth: int


def _read_answer(sock: socket.socket) -> bytes:
    """The status line, headers and the whole body: the reason may come in a later TCP segment than the head."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        more = sock.recv(65536)
        if not more:
            return answer
        answer += more
    head, _, body = answer.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        more = sock.recv(65536)
        if not more:
            break
        body += more
    return head + b"\r\n\r\n" + body


def stream(server: Server, method: str, path: str, headers: dict[str, str], chunked: bool = True) -> Answer:
    """Send a HUGE body over a raw socket, stopping as soon as the server answers; the answer and RSS growth."""
    url = urlsplit(server.url)
    before = peak = rss_bytes()
    with socket.create_connection((url.hostname, url.port), timeout=60) as sock:
        framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {HUGE}"
        lines = [f"{method} {path} HTTP/1.1", f"Host: {url.netloc}", framing]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b"[" * CHUNK
        piece = f"{len(data):x}\r\n".encode() + data + b"\r\n" if chunked else data
        sent = 0
        try:
            while sent < HUGE and not select.select([sock], [], [], 0)[0]:
                sock.sendall(piece)
                sent += len(data)
                peak = max(peak, rss_bytes())
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed: the answer is waiting to be read
        head = _read_answer(sock)
    peak = max(peak, rss_bytes())
    text = head.decode("latin-1")
    return Answer(int(text.split(" ", 2)[1]), text, sent, peak - before)


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_huge_body_without_a_session_is_refused_before_it_is_read(server: Server, chunked: bool) -> None:
    answer = stream(server, "PUT", "/api/zones", {"Content-Type": "application/json"}, chunked)
    assert answer.status == 401, answer.head
    assert answer.sent < HUGE  # the answer came while the body was still on its way
    assert answer.rss_growth < RSS_GROWTH_BOUND


def test_huge_body_with_a_session_is_cut_off_at_the_route_limit(server: Server) -> None:
    with server.login(Role.OPERATOR) as client:
        headers = {"Content-Type": "application/json", CSRF_HEADER: client.headers[CSRF_HEADER]}
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        answer = stream(server, "POST", "/api/zones/validate", headers)
        assert answer.status == 413, answer.head
        assert f"at most {BODY_LIMIT // 1024} KiB" in answer.head
        assert answer.rss_growth < RSS_GROWTH_BOUND
        upload = stream(server, "PUT", "/api/zones/background.jpg", headers | {"Content-Type": "image/jpeg"})
        assert upload.status == 413 and f"at most {UPLOAD_LIMIT // 1024} KiB" in upload.head
        assert upload.rss_growth < RSS_GROWTH_BOUND
        # Bodies within the limits still work.
        zones = client.get("/api/zones").json()
        assert client.post("/api/zones/validate", json={"crosswalks": zones["crosswalks"]}).json()["ok"] is True


def test_wrong_role_is_refused_before_the_body(server: Server) -> None:
    with server.login(Role.VIEWER) as client:
        headers = {"Content-Type": "application/json", CSRF_HEADER: client.headers[CSRF_HEADER]}
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        answer = stream(server, "PUT", "/api/zones", headers)
        assert answer.status == 403, answer.head
        assert answer.sent < HUGE


def test_login_body_is_capped(server: Server) -> None:
    answer = stream(server, "POST", "/api/login", {"Content-Type": "application/json"})
    assert answer.status == 413, answer.head
    assert answer.rss_growth < RSS_GROWTH_BOUND
