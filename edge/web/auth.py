"""Who may call what: the one route → roles table, sessions from cookies, CSRF, login rate limits.

``ROUTE_ROLES`` is the whole access policy. ``create_app`` refuses to start when a route
is missing from it, and the tests enumerate it against the app's routes.
"""

from __future__ import annotations

import hmac
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from fastapi import HTTPException, Request
from starlette.responses import Response

from edge.signal.http_push import PUSH_ROUTE
from edge.users import Role, Session
from edge.web import i18n

SESSION_COOKIE = "cg_session"
CSRF_COOKIE = "cg_csrf"  # readable by the page's script: the double-submit half of the CSRF check
LOGIN_CSRF_COOKIE = "cg_login_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FORM_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # every other method (POST, PUT, DELETE) needs CSRF

EVERYONE = frozenset(Role)
OPERATORS = frozenset({Role.ADMIN, Role.OPERATOR})
POLICE = frozenset({Role.ADMIN, Role.POLICE})
ADMINS = frozenset({Role.ADMIN})

# Route name → roles allowed; None marks the few routes reachable without a session.
ROUTE_ROLES: dict[str, frozenset[Role] | None] = {
    "healthz": None,
    "login_page": None,
    "login_form": None,  # checks its own double-submit token: there is no session yet
    "api_login": None,  # JSON only, so a cross-site form cannot post it
    "static_asset": None,  # the packaged CSS/JS, needed to draw the login page
    "set_language": None,  # the header's language switch: a cookie, on the login page too
    "screen": None,  # the public warning screen and its stream (404 unless web.screen.enabled)
    "api_screen": None,
    "api_screen_picture": None,
    "openapi": EVERYONE,
    "logout": EVERYONE,
    "api_logout": EVERYONE,
    "api_me": EVERYONE,
    "dashboard": EVERYONE,
    "api_status": EVERYONE,
    "api_dashboard": EVERYONE,
    "live": EVERYONE,
    "api_snapshot": EVERYONE,
    "api_boards": EVERYONE,
    "zone_editor": OPERATORS,
    "api_zones": OPERATORS,
    "api_zones_background": OPERATORS,
    "api_zones_upload_background": OPERATORS,
    "api_zones_validate": OPERATORS,
    "api_zones_save": OPERATORS,
    "api_zones_history": OPERATORS,
    "api_zones_revert": OPERATORS,
    "devices": OPERATORS,
    "api_devices": OPERATORS,
    "api_devices_test": OPERATORS,
    "api_announce": OPERATORS,
    "evidence_queue": POLICE,
    "evidence_detail": POLICE,
    "api_evidence_queue": POLICE,
    "api_evidence_item": POLICE,
    "api_evidence_file": POLICE,
    "api_evidence_review": POLICE,
    "api_evidence_audit": POLICE,
    "api_evidence_integrity": POLICE,
    "api_evidence_export": POLICE,
    "users_page": ADMINS,
    "api_users": ADMINS,
    "api_users_add": ADMINS,
    "api_users_role": ADMINS,
    "api_users_disabled": ADMINS,
    "api_users_password": ADMINS,
    "api_users_delete": ADMINS,
    "api_users_changes": ADMINS,
}

# Routes machines call with a bearer token that the route checks itself before reading the body:
# no session and no CSRF (no browser is involved). Present only when the site has such a source.
BEARER_ROUTES = frozenset({PUSH_ROUTE})


class NotLoggedIn(Exception):
    """No valid session: pages redirect to the login form, the API answers 401."""


def uncovered_routes(
    route_names: Iterable[str],
    table: dict[str, frozenset[Role] | None] = ROUTE_ROLES,
    bearer: frozenset[str] = BEARER_ROUTES,
) -> list[str]:
    """Names of routes the access table does not mention (a startup error)."""
    return sorted(set(route_names) - set(table) - bearer)


class LoginLimiter:
    """Counts failed logins per key (client address, user name) in a sliding window.

    Memory is bounded: at most ``max_keys`` keys are remembered, oldest dropped first.
    """

    def __init__(
        self,
        attempts: int,
        window_s: float,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self.attempts = attempts
        self.window_s = window_s
        self.clock = clock
        self.max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, keys: Iterable[str]) -> float | None:
        """Seconds until any of ``keys`` may try again, or None when none is blocked."""
        now = self.clock()
        waits = []
        for key in keys:
            times = self._recent(key, now)
            if len(times) >= self.attempts:
                waits.append(times[0] + self.window_s - now)
        return max(waits) if waits else None

    def failed(self, keys: Iterable[str]) -> None:
        now = self.clock()
        for key in keys:
            times = self._failures.pop(key, None) or deque(maxlen=self.attempts)
            times.append(now)
            self._failures[key] = times
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and now - times[0] >= self.window_s:
            times.popleft()
        return times


@dataclass
class LoginGate:
    """Failed logins counted per (client address, name) and per client address.

    Never per name alone: then anyone could lock any account (the police's) out from anywhere
    by failing on purpose. A guesser trying one name is stopped by the first count, one
    trying many names by the second, and a user at another address is not affected.
    """

    per_name: LoginLimiter  # key: address and lower-cased name
    per_address: LoginLimiter

    @classmethod
    def from_config(cls, attempts: int, address_attempts: int, window_s: float) -> LoginGate:
        return cls(LoginLimiter(attempts, window_s), LoginLimiter(address_attempts, window_s))

    def retry_after(self, address: str, name: str) -> float | None:
        """Seconds until this address may try this name again, or None when it may now."""
        waits = [self.per_name.retry_after([_pair(address, name)]), self.per_address.retry_after([address])]
        return max((w for w in waits if w is not None), default=None)

    def failed(self, address: str, name: str) -> bool:
        """Count a failure; True when it used up the last attempt."""
        self.per_name.failed([_pair(address, name)])
        self.per_address.failed([address])
        return self.retry_after(address, name) is not None

    def succeeded(self, address: str, name: str) -> None:
        self.per_name.succeeded([_pair(address, name)])  # the address keeps its count: it may guess other names


def _pair(address: str, name: str) -> str:
    return f"{address} {name.lower()}"


def printable(text: str) -> str:
    """``text`` without control characters, for log lines (a newline in a name must not forge one)."""
    return "".join(ch for ch in text if ch.isprintable())


@dataclass(frozen=True)
class CookiePolicy:
    secure: bool  # set when the UI is served over HTTPS
    session_max_age_s: int

    def set_session(self, response: Response, token: str, csrf_token: str) -> None:
        common = {"samesite": "strict", "secure": self.secure, "path": "/", "max_age": self.session_max_age_s}
        response.set_cookie(SESSION_COOKIE, token, httponly=True, **common)  # type: ignore[arg-type]
        response.set_cookie(CSRF_COOKIE, csrf_token, httponly=False, **common)  # type: ignore[arg-type]

    def clear_session(self, response: Response) -> None:
        for name in (SESSION_COOKIE, CSRF_COOKIE):
            response.delete_cookie(name, path="/", samesite="strict", secure=self.secure, httponly=True)

    def set_login_csrf(self, response: Response, token: str) -> None:
        response.set_cookie(
            LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=self.secure, path="/", max_age=3600
        )


def tokens_match(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


async def csrf_token_sent(request: Request) -> str | None:
    """The token the client echoed: the header for script calls, the hidden field for plain forms."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FORM_FIELD)
        return value if isinstance(value, str) else None
    return None


async def enforce_access(request: Request) -> Session | None:
    """App-wide dependency: look the matched route up in ROUTE_ROLES and check session, role, CSRF.

    Another app built on this (the traffic centre's) sets its own ``app.state.route_roles`` and
    ``app.state.bearer_routes``.
    """
    i18n.use_request_locale(request)  # refusals made for this request speak its page's language
    route = request.scope.get("route")
    name = getattr(route, "name", None)
    table = getattr(request.app.state, "route_roles", ROUTE_ROLES)
    if name in getattr(request.app.state, "bearer_routes", BEARER_ROUTES):
        return None
    if name not in table:
        raise HTTPException(403, "route not in the access table")  # deny by default
    roles = table[name]
    if roles is None:
        return None
    session = getattr(request.state, "session", None)  # found by edge.web.guard before the body came
    if session is None:
        session = request.app.state.web.users.session(request.cookies.get(SESSION_COOKIE, ""))
    if session is None:
        raise NotLoggedIn()
    request.state.session = session  # also lets an error page show the user's own menu
    if session.user.role not in roles:
        raise HTTPException(403, i18n.Text("role '{role}' may not use this page", role=session.user.role.value))
    if request.method not in SAFE_METHODS:
        sent = await csrf_token_sent(request)
        cookie = request.cookies.get(CSRF_COOKIE)
        if not (tokens_match(sent, session.csrf_token) and tokens_match(cookie, session.csrf_token)):
            raise HTTPException(403, i18n.Text("CSRF token missing or wrong; reload the page and try again"))
    return session


def current_session(request: Request) -> Session:
    """The session ``enforce_access`` found; only for routes that are not public."""
    return request.state.session
