"""Every route, checked without a session and with each role, against the one access table."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from fastapi.routing import APIRoute

from edge.users import Role
from edge.web import WebContext, create_app
from edge.web.auth import ROUTE_ROLES
from tests.edge.web.conftest import Server

SAMPLE_PARAMS = {"name": "style.css", "event_id": "no-such-event", "relpath": "sheet.jpg", "code": "zh_CN"}


def all_routes() -> list[tuple[str, str, str]]:
    """(method, path with sample parameters, route name) for every route of the app."""
    folder = Path(tempfile.mkdtemp())
    app = create_app(WebContext(site_path=folder / "site.yaml", users_db=folder / "users.db"))
    out = []
    for route in app.routes:
        assert isinstance(route, APIRoute), f"{route} is not an APIRoute: the access check would not apply"
        path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: SAMPLE_PARAMS[m.group(1)], route.path)
        out += [(method, path, route.name) for method in sorted(route.methods)]
    return out


ROUTES = all_routes()


def test_access_table_names_exactly_the_app_routes() -> None:
    names = {name for _, _, name in ROUTES}
    assert names == set(ROUTE_ROLES), names ^ set(ROUTE_ROLES)
    public = sorted(name for name, roles in ROUTE_ROLES.items() if roles is None)
    assert public == [
        "api_login", "api_screen", "api_screen_picture", "healthz", "login_form", "login_page", "screen",
        "set_language", "static_asset",
    ]


def _request(client, method: str, path: str):  # type: ignore[no-untyped-def]
    if method == "GET":
        return client.get(path)
    return client.request(method, path, json={})


@pytest.mark.parametrize(("method", "path", "name"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_route_access_for_every_role(shared_server: Server, method: str, path: str, name: str) -> None:
    server = shared_server
    roles = ROUTE_ROLES[name]
    with server.client() as anonymous:
        r = _request(anonymous, method, path)
    if roles is None:
        assert r.status_code not in (401, 403), (r.status_code, r.text)
        if name == "set_language":  # back to the page it came from, not to the login form
            assert r.status_code == 303 and r.headers["location"] == "/", r.headers
        else:
            assert r.status_code != 303, (r.status_code, r.text)
        return
    if method == "GET" and not path.startswith("/api/") and not path.endswith(".json"):
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), r.status_code
    else:
        assert r.status_code == 401, (r.status_code, r.text)
    for role in Role:
        client = server.login(role)
        r = _request(client, method, path)
        client.close()
        if role in roles:
            # Allowed: anything but an auth refusal (an empty body may be 422, missing evidence 503 or 404).
            assert r.status_code not in (401, 403), (role, r.status_code, r.text)
            assert r.status_code < 500 or r.status_code == 503, (role, r.status_code, r.text)
        else:
            assert r.status_code == 403, (role, r.status_code, r.text)
