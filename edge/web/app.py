"""The FastAPI app: wiring of routers, the access check, error pages and security headers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Undefined
from ruamel.yaml.error import YAMLError
from starlette.exceptions import HTTPException as StarletteHTTPException

from edge.config import ConfigError, load_site
from edge.config.web import WebConfig
from edge.users import UserStore
from edge.web import i18n
from edge.web.auth import ROUTE_ROLES, CookiePolicy, LoginGate, NotLoggedIn, enforce_access, uncovered_routes
from edge.web.context import WebContext
from edge.web.dashboard import JournalReader
from edge.web.guard import RequestGuard, not_logged_in, wants_html
from edge.web.site_file import site_data
from edge.web.zone_editor import ZoneEditor

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}
CAMERA_COOKIE = "cg_camera"  # the camera last picked on a multi-camera site
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
    "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass
class WebState:
    """Everything the routes share, kept on ``app.state.web``."""

    context: WebContext
    config: WebConfig
    users: UserStore
    limiter: LoginGate
    cookies: CookiePolicy
    templates: Jinja2Templates
    zones: ZoneEditor
    journal: JournalReader | None = None  # the dashboard's, created on first use

    def site_zone(self) -> ZoneInfo:
        """The site's time zone (``site.timezone``), UTC when the site file cannot say."""
        try:
            text = self.context.site_path.read_text(encoding="utf-8")
            name = (site_data(text).get("site") or {}).get("timezone")
            return ZoneInfo(str(name)) if name else ZoneInfo("UTC")
        except (OSError, ValueError, YAMLError, ZoneInfoNotFoundError, AttributeError):
            return ZoneInfo("UTC")

    def render(self, request: Request, name: str, status_code: int = 200, **values: Any) -> Response:
        session = getattr(request.state, "session", None)
        locale = i18n.use_request_locale(request)  # the template's _() and {% trans %} read it while it renders
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        values |= {
            "session": session,
            "roles": ROUTE_ROLES,
            "locale": locale,
            "html_lang": i18n.html_lang(locale),
            "languages": i18n.LANGUAGES,
            "here": here,
            "js_messages": i18n.js_catalogue(locale),
            "site_timezone": self.site_zone().key,  # dates are shown in it, on the server and in the scripts
        }
        # Pages with a picture offer a switch on a site with several cameras; the one picked (?camera=) is
        # remembered in a cookie, so the other pages show the same camera until another is picked.
        cameras = self.context.cameras
        picked = request.query_params.get("camera")
        asked = picked if picked in cameras else request.cookies.get(CAMERA_COOKIE)
        values |= {"cameras": cameras, "camera": asked if asked in cameras else (cameras[0] if cameras else None)}
        response = self.templates.TemplateResponse(request, name, values, status_code=status_code)
        if picked in cameras:
            response.set_cookie(
                CAMERA_COOKIE, str(picked), max_age=365 * 86400, samesite="strict", secure=self.cookies.secure, path="/"
            )
        return response


def _epoch(seconds: Any) -> bool:
    return isinstance(seconds, (int, float)) and not isinstance(seconds, bool)


def utc_text(seconds: Any) -> str:
    """Jinja filter: a UTC epoch time as a UTC date and time of the page's language, ``2026年11月23日 17:06:08 UTC``
    (``Nov 23, 2026, 5:06:08 PM UTC``); other values unchanged."""
    if _epoch(seconds):
        return i18n.date_time_text(datetime.fromtimestamp(seconds, timezone.utc)) + " UTC"
    return "" if seconds is None or isinstance(seconds, Undefined) else str(seconds)


def local_clock(seconds: Any, zone: str) -> str:
    """Jinja filter: a UTC epoch time as the site's local clock time in the page's language, ``17:06:08``."""
    if not _epoch(seconds):
        return ""
    return i18n.clock_text(datetime.fromtimestamp(seconds, ZoneInfo(str(zone))))


def local_time(seconds: Any, zone: str, ms: bool = False) -> str:
    """Jinja filter: a UTC epoch time as the site's local date and time in the page's language, with the zone's
    abbreviation: ``2026年11月23日 11:06:08 CST``, ``Nov 23, 2026, 11:06:08 AM CST`` (``11:06:08.164`` with ``ms``)."""
    if not _epoch(seconds):
        return ""
    moment = datetime.fromtimestamp(seconds, ZoneInfo(str(zone)))
    return f"{i18n.date_time_text(moment, ms)} {moment:%Z}"


def number_text(value: Any, digits: int = 0) -> str:
    """Jinja filter: a count or measure in the page's language (grouping, decimal sign); ``—`` for none."""
    return i18n.number_text(value, digits) if _epoch(value) else "—"


def percent_text(fraction: Any, digits: int = 1) -> str:
    """Jinja filter: a fraction as a percentage in the page's language; ``—`` for none."""
    return i18n.percent_text(fraction, digits) if _epoch(fraction) else "—"


def day_text(day: Any) -> str:
    """Jinja filter: a calendar day in the page's language."""
    return i18n.day_text(day) if isinstance(day, date) else ""


def duration_text(seconds: Any) -> str:
    """Jinja filter: seconds as ``45 s``, ``3 min 20 s`` or ``2 h 05 min`` (in the page's language)."""
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
        return ""
    whole = max(0, int(seconds))
    _ = i18n.gettext  # in the page's language
    if whole < 60:
        return _("{s} s").format(s=whole)
    if whole < 3600:
        return _("{m} min {s} s").format(m=whole // 60, s=f"{whole % 60:02d}")
    return _("{h} h {m} min").format(h=whole // 3600, m=f"{whole % 3600 // 60:02d}")


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.add_extension("jinja2.ext.i18n")
    templates.env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    templates.env.filters["utc"] = utc_text
    templates.env.filters["local_clock"] = local_clock
    templates.env.filters["local_time"] = local_time
    templates.env.filters["duration"] = duration_text
    templates.env.filters["number"] = number_text
    templates.env.filters["percent"] = percent_text
    templates.env.filters["day"] = day_text
    return templates


def web_state(request: Request) -> WebState:
    return request.app.state.web


def _web_config(site_path: Path) -> WebConfig:
    """The site's ``web`` section; defaults when the file cannot be read (the UI must still start)."""
    try:
        return load_site(site_path).web
    except ConfigError as exc:
        log.warning("web UI: using default web settings, the site file has problems:\n%s", exc)
        return WebConfig()


def create_app(
    context: WebContext, config: WebConfig | None = None, mounts: Sequence[Callable[[FastAPI], None]] = ()
) -> FastAPI:
    """Build the UI for ``context``; the live service and ``crossguard ui`` serve it on its own server.

    ``mounts`` install machine routes served beside the UI (a controller feed's HTTP push), which
    must be named in ``edge.web.auth.BEARER_ROUTES``.
    """
    from edge.web.routes import ROUTERS

    config = config or _web_config(context.site_path)
    app = FastAPI(
        title="crossguard",
        description="Local web UI and JSON API of a crossguard edge box",
        dependencies=[Depends(enforce_access)],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served below as an ordinary route, so it needs a session like the rest
    )
    app.state.web = WebState(
        context=context,
        config=config,
        users=UserStore(context.users_db),
        limiter=LoginGate.from_config(config.login_attempts, config.login_address_attempts, config.login_window_s),
        cookies=CookiePolicy(secure=context.https, session_max_age_s=int(config.session_hours * 3600)),
        templates=_templates(),
        zones=ZoneEditor(context),
    )
    for router in ROUTERS:
        router.install(app)
    for mount in mounts:
        mount(app)
    _add_static_and_health(app)
    _add_error_handlers(app)
    app.add_middleware(RequestGuard, host=app)  # inside the security headers, so its answers get them too
    _add_security_headers(app)
    missing = uncovered_routes(getattr(r, "name", "") for r in app.routes)
    if missing:
        raise RuntimeError(f"routes missing from edge.web.auth.ROUTE_ROLES: {', '.join(missing)}")
    return app


def _add_static_and_health(app: FastAPI) -> None:
    @app.get("/healthz", name="healthz", response_class=PlainTextResponse)
    def healthz() -> str:
        return "ok"

    @app.get("/openapi.json", name="openapi", include_in_schema=False)
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/static/{name}", name="static_asset", include_in_schema=False)
    def static_asset(name: str) -> FileResponse:
        path = STATIC_DIR / name
        if "/" in name or name.startswith(".") or path.suffix not in STATIC_TYPES or not path.is_file():
            raise HTTPException(404, i18n.Text("no such file"))
        return FileResponse(path, media_type=STATIC_TYPES[path.suffix])


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotLoggedIn)
    async def login_first(request: Request, exc: NotLoggedIn) -> Response:
        return not_logged_in(request)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        i18n.use_request_locale(request)
        detail = i18n.translate(exc.detail)  # a Text refusal in the page's language
        if wants_html(request) and exc.status_code in (403, 404, 503):
            state: WebState = request.app.state.web
            return state.render(request, "error.html", exc.status_code, status=exc.status_code, message=detail)
        if exc.status_code == 413:  # FastAPI's body limit says only "Content Too Large"
            limit = getattr(request.scope.get("route"), "max_body_size", None) or 0
            detail = i18n.translate(
                i18n.Text("request body too large: {path} takes at most {size} KiB", path=request.url.path,
                          size=limit // 1024)
            )  # fmt: skip
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        i18n.use_request_locale(request)  # the messages by their type, in the page's language; the field path as is
        errors = [
            {"loc": list(e.get("loc", ())), "msg": i18n.translate(i18n.validation_message(e))} for e in exc.errors()
        ]
        return JSONResponse({"detail": errors}, status_code=422)


def _add_security_headers(app: FastAPI) -> None:
    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response
