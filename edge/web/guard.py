"""Checks made before a request's body is read: a session for every protected route, no NUL in the path.

FastAPI reads and parses a route's body before its dependencies run, so the access check in
``edge.web.auth.enforce_access`` alone would let anyone make the box read (and hold) a huge
body without logging in. This ASGI middleware looks the route up first and answers 401 (or
the login redirect) while the body is still unread. Body sizes are capped per route by
FastAPI's own ``max_body_size`` (``BODY_LIMIT`` unless a route declares more, like the picture
upload; set in ``edge.web.routes.table``), which counts bytes as they arrive, so a chunked
body without Content-Length is cut off while streaming. Bearer-token routes (a controller feed's
push, ``edge.web.auth.BEARER_ROUTES``) pass through: they check the token before reading the body
and cap it at one feed message.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from edge.web.auth import ROUTE_ROLES, SAFE_METHODS, SESSION_COOKIE

BODY_LIMIT = 256 * 1024  # JSON and form bodies: a site's zones fit many times over
UPLOAD_LIMIT = 8 * 1024 * 1024  # a background picture for the zone editor


def wants_html(request: Request) -> bool:
    """A page visit (redirected to the login form) rather than an API call (answered with JSON)."""
    path = request.url.path
    return request.method == "GET" and not path.startswith("/api/") and not path.endswith(".json")


def not_logged_in(request: Request) -> Response:
    if wants_html(request):
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    return JSONResponse({"detail": "log in first"}, status_code=401)


class RequestGuard:
    """Refuses, before the body is received, requests no session may make; ``host`` is the UI's FastAPI app."""

    def __init__(self, app: ASGIApp, host: Any) -> None:
        self.app = app
        self.host = host

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = self._refusal(Request(scope))
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _refusal(self, request: Request) -> Response | None:
        if "\x00" in request.url.path:  # no file or name has one; os calls would raise on it
            return JSONResponse({"detail": "NUL byte in the path"}, status_code=400)
        name = self._route_name(request.scope)
        roles = ROUTE_ROLES.get(name or "")
        if roles is None:
            return None  # public, bearer-token or unknown: the route checks, or 404/405, or the access check denies
        session = self.host.state.web.users.session(request.cookies.get(SESSION_COOKIE, ""))
        if session is None:
            return not_logged_in(request)
        if request.method not in SAFE_METHODS and session.user.role not in roles:
            return JSONResponse({"detail": f"role '{session.user.role.value}' may not use this"}, status_code=403)
        request.state.session = session  # the app-wide dependency checks page roles and CSRF with it
        return None

    def _route_name(self, scope: Scope) -> str | None:
        for route in self.host.router.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return getattr(route, "name", None)
        return None
