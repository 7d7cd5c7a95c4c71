"""Login, session cookies, CSRF and the login rate limit, over a real server."""

from __future__ import annotations

import re
import shutil
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest

from edge.users import Role
from edge.web import WebContext
from edge.web.auth import CSRF_COOKIE, CSRF_HEADER, LOGIN_CSRF_COOKIE, SESSION_COOKIE, LoginLimiter
from tests.edge.web.conftest import PASSWORD, Server, add_role_users, make_site, serve


def _set_cookies(response: httpx.Response) -> dict[str, str]:
    return {c.split("=", 1)[0]: c for c in response.headers.get_list("set-cookie")}


def test_api_login_sets_strict_http_only_session_cookie(server: Server) -> None:
    with server.client() as client:
        r = client.post("/api/login", json={"name": "admin", "password": PASSWORD})
    assert r.status_code == 200
    assert r.json()["role"] == "admin"
    cookies = _set_cookies(r)
    session = cookies[SESSION_COOKIE].lower()
    assert "httponly" in session and "samesite=strict" in session and "path=/" in session
    assert "secure" not in session  # plain HTTP here: a Secure cookie would never come back
    csrf = cookies[CSRF_COOKIE].lower()
    assert "httponly" not in csrf and "samesite=strict" in csrf


def test_wrong_password_and_unknown_user_look_the_same(server: Server) -> None:
    with server.client() as client:
        wrong = client.post("/api/login", json={"name": "admin", "password": "not the password"})
        unknown = client.post("/api/login", json={"name": "nobody", "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_login_needs_json(server: Server) -> None:
    with server.client() as client:
        r = client.post(
            "/api/login",
            content=b'{"name": "admin", "password": "correct horse battery"}',
            headers={"content-type": "text/plain"},
        )
    assert r.status_code in (415, 422)
    assert SESSION_COOKIE not in _set_cookies(r)


def test_form_login_and_logout(server: Server) -> None:
    with server.client() as client:
        page = client.get("/login?next=/zones")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        assert client.cookies[LOGIN_CSRF_COOKIE] == token
        form = {"name": "operator", "password": PASSWORD, "csrf_token": token, "next": "/zones"}
        r = client.post("/login", data=form)
        assert r.status_code == 303 and r.headers["location"] == "/zones"
        assert client.get("/zones").status_code == 200
        csrf = client.cookies[CSRF_COOKIE]
        r = client.post("/logout", data={"csrf_token": csrf})
        assert r.status_code == 303
        assert client.get("/api/me").status_code == 401


def test_form_login_refuses_a_forged_post(server: Server) -> None:
    with server.client() as client:
        r = client.post("/login", data={"name": "admin", "password": PASSWORD, "csrf_token": "guess"})
    assert r.status_code == 403
    assert SESSION_COOKIE not in _set_cookies(r)


def test_login_redirect_stays_on_this_site(server: Server) -> None:
    with server.client() as client:
        token = client.get("/login").cookies[LOGIN_CSRF_COOKIE]
        r = client.post(
            "/login", data={"name": "admin", "password": PASSWORD, "csrf_token": token, "next": "//evil.example/"}
        )
    assert r.status_code == 303 and r.headers["location"] == "/"


@pytest.mark.parametrize(
    ("header", "cookie", "expected"),
    [
        (None, "keep", 403),  # no token echoed
        ("wrong", "keep", 403),  # wrong token
        ("right", None, 403),  # token echoed but the cookie half is missing
        ("right", "keep", 200),
    ],
)
def test_csrf_double_submit(server: Server, header: str | None, cookie: str | None, expected: int) -> None:
    client = server.login(Role.OPERATOR)
    token = client.headers.pop(CSRF_HEADER)
    if cookie is None:
        client.cookies.delete(CSRF_COOKIE)
    headers = {} if header is None else {CSRF_HEADER: token if header == "right" else "x" * 43}
    r = client.post("/api/zones/validate", json={"crosswalks": []}, headers=headers)
    client.close()
    assert r.status_code == expected, r.text
    if expected == 403:
        assert "CSRF" in r.json()["detail"]


def test_csrf_token_from_another_session_is_refused(server: Server) -> None:
    first = server.login(Role.OPERATOR)
    second = server.login(Role.ADMIN)
    r = first.post("/api/zones/validate", json={"crosswalks": []}, headers={CSRF_HEADER: second.headers[CSRF_HEADER]})
    first.close()
    second.close()
    assert r.status_code == 403


def test_failed_logins_are_rate_limited(server: Server) -> None:
    attempts = 5  # web.login_attempts default
    with server.client() as client:
        for _ in range(attempts):
            assert client.post("/api/login", json={"name": "police", "password": "bad guess 123"}).status_code == 401
        r = client.post("/api/login", json={"name": "police", "password": PASSWORD})
        assert r.status_code == 429, "the right password must not get through while blocked"
        assert int(r.headers["retry-after"]) > 0


def _from(server: Server, address: str) -> httpx.Client:
    """A client whose connections leave from ``address`` (any 127.x address reaches the server)."""
    return server.client(transport=httpx.HTTPTransport(local_address=address))


def test_strangers_failing_on_purpose_cannot_lock_an_account_out(server: Server, caplog) -> None:
    caplog.set_level("INFO", logger="edge.web.routes.session")
    with _from(server, "127.0.0.2") as stranger:
        for _ in range(5):
            r = stranger.post("/api/login", json={"name": "police", "password": "bad guess 123"})
            assert r.status_code == 401
        assert stranger.post("/api/login", json={"name": "police", "password": "bad guess 123"}).status_code == 429
        # The stranger's own address may still log in to another account it knows the password of...
        assert stranger.post("/api/login", json={"name": "viewer", "password": PASSWORD}).status_code == 200
    # ...and the police officer at their own address is not locked out at all.
    with _from(server, "127.0.0.3") as officer:
        assert officer.post("/api/login", json={"name": "police", "password": PASSWORD}).status_code == 200
    failures = [r.getMessage() for r in caplog.records if "login failed" in r.getMessage()]
    assert len(failures) == 5 and all("'police' from 127.0.0.2" in m for m in failures)
    assert "refused for 300 s" in failures[-1]
    assert any("web login: police (police) from 127.0.0.3" in r.getMessage() for r in caplog.records)


def test_an_address_guessing_many_names_is_stopped(server: Server) -> None:
    address_attempts = 20  # web.login_address_attempts default
    with _from(server, "127.0.0.4") as guesser:
        for n in range(address_attempts):
            assert guesser.post("/api/login", json={"name": f"user{n}", "password": "guess 12345"}).status_code == 401
        assert guesser.post("/api/login", json={"name": "admin", "password": PASSWORD}).status_code == 429
    with _from(server, "127.0.0.5") as other:
        assert other.post("/api/login", json={"name": "admin", "password": PASSWORD}).status_code == 200


def test_logged_user_names_carry_no_control_characters(server: Server, caplog) -> None:
    caplog.set_level("INFO", logger="edge.web.routes.session")
    forged = "police\nINFO web login: admin (admin)\x1b[2K"
    with server.client() as client:
        assert client.post("/api/login", json={"name": forged, "password": "bad guess 123"}).status_code == 401
    (line,) = [r.getMessage() for r in caplog.records if "login failed" in r.getMessage()]
    assert "\n" not in line and "\x1b" not in line
    assert "'policeINFO web login: admin (admin)[2K' from 127.0.0.1" in line


def test_limiter_window_slides() -> None:
    now = [0.0]
    limiter = LoginLimiter(attempts=3, window_s=60, clock=lambda: now[0])
    keys = ["addr:1", "name:x"]
    for _ in range(3):
        assert limiter.retry_after(keys) is None
        limiter.failed(keys)
    assert limiter.retry_after(keys) == pytest.approx(60)
    now[0] = 59.0
    assert limiter.retry_after(["name:x"]) == pytest.approx(1)
    now[0] = 60.0
    assert limiter.retry_after(keys) is None


def test_limiter_memory_is_bounded() -> None:
    limiter = LoginLimiter(attempts=3, window_s=60, max_keys=100)
    for i in range(1000):
        limiter.failed([f"addr:{i}"])
    assert len(limiter._failures) == 100


def test_security_headers_on_pages(server: Server) -> None:
    with server.client() as client:
        r = client.get("/login")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"


def test_healthz_is_public_and_openapi_is_not(server: Server) -> None:
    with server.client() as client:
        assert client.get("/healthz").text == "ok"
        assert client.get("/openapi.json").status_code == 401
    viewer = server.login(Role.VIEWER)
    schema = viewer.get("/openapi.json").json()
    viewer.close()
    assert "/api/zones" in schema["paths"]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_https_with_a_configured_certificate_sets_secure_cookies(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    add_role_users(tmp_path / "users.db")
    context = WebContext(site_path=make_site(tmp_path), users_db=tmp_path / "users.db", https=True)
    for running in serve(context, ssl_certfile=str(cert), ssl_keyfile=str(key)):
        url = f"https://127.0.0.1:{running.config.port}"
        with httpx.Client(base_url=url, verify=ssl.create_default_context(cafile=str(cert)), timeout=30) as client:
            r = client.post("/api/login", json={"name": "admin", "password": PASSWORD})
            assert r.status_code == 200
            for name in (SESSION_COOKIE, CSRF_COOKIE):
                assert "secure" in _set_cookies(r)[name].lower()
            assert client.get("/api/me").json()["name"] == "admin"


def test_login_page_says_how_to_create_the_first_admin(tmp_path: Path) -> None:
    """A box without any account says on the login page which command creates the first admin."""
    context = WebContext(site_path=make_site(tmp_path), users_db=tmp_path / "users.db")
    for running in serve(context):
        with httpx.Client(base_url=f"http://127.0.0.1:{running.config.port}") as client:
            page = client.get("/login").text
            assert 'id="first-run"' in page
            assert f"crossguard users add NAME --role admin --site {context.site_path}" in page
            add_role_users(context.users_db)
            assert 'id="first-run"' not in client.get("/login").text
