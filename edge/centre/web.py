"""The centre's pages and JSON API for people: city overview, central review, analytics, open data, commands.

Built on the box UI's pieces (``edge.web``): the same accounts and roles (``edge.users``), the same
login routes and sessions, the same CSRF double-submit check and deny-by-default access dependency
(``edge.web.auth.enforce_access``), here with the centre's own route → roles table.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from edge.centre.evidence import BlobStorage
from edge.config.web import WebConfig
from edge.mqtt.link import BrokerSettings
from edge.mqtt.registry import BoxRegistry
from edge.mqtt.store import SqlEventStore
from edge.users import Role, UserStore
from edge.web import i18n
from edge.web.app import SECURITY_HEADERS, WebState, utc_text
from edge.web.auth import (
    ADMINS,
    EVERYONE,
    OPERATORS,
    POLICE,
    CookiePolicy,
    LoginGate,
    NotLoggedIn,
    current_session,
    enforce_access,
    uncovered_routes,
)
from edge.web.guard import not_logged_in
from edge.web.i18n import N_
from edge.web.routes import session as session_routes

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript"}

CENTRE_ROUTE_ROLES: dict[str, frozenset[Role] | None] = {
    "login_page": None,
    "api_login": None,
    "static_asset": None,
    "api_logout": EVERYONE,
    "api_me": EVERYONE,
    "centre_overview": EVERYONE,
    "api_centre_sites": EVERYONE,
    "centre_analytics": EVERYONE,
    "api_compliance": EVERYONE,
    "api_before_after": EVERYONE,
    "api_open_data": None,  # open data: counts per crossing and hour only, for anyone (limits: OPEN_DATA_MAX_*)
    "centre_review": POLICE,
    "api_centre_queue": POLICE,
    "api_centre_item": POLICE,
    "api_centre_file": POLICE,
    "api_centre_review": POLICE,
    "api_centre_command": OPERATORS,
    "api_centre_audit": ADMINS,
}
BOX_ROUTES = frozenset({"evidence_state", "put_manifest", "put_file", "confirm", "decisions"})
OPEN_DATA_FIELDS = ("site", "camera", "crosswalk", "hour", "crossings", "violations", "warnings", "gaps")
OPEN_DATA_MAX_DAYS = 31  # one request's window; a longer period is several requests
OPEN_DATA_MAX_ROWS = 100_000  # a month of ~135 crossings; a bigger city asks per site (about 4 MB of CSV)
OPEN_DATA_CACHE_S = 300  # a proxy or CDN in front may answer repeated requests itself
# Words the pages show from data (availability, the before/after rows): listed so they are in the catalogue.
DATA_WORDS = (N_("online"), N_("offline"), N_("never seen"), N_("before"), N_("after"))
COMMAND_VALUES = {"enforcement": ("on", "off"), "mute": ("on", "off"), "test": ("led", "speaker", "all")}


@dataclass
class CentreWebSettings:
    users_db: Path
    https: bool = False
    registry: BoxRegistry | None = None
    map_tiles: str = ""  # a tile URL template; empty: no map, only the list
    leaflet_js: str = ""  # where Leaflet comes from when a map is configured (not bundled)
    leaflet_css: str = ""
    broker: BrokerSettings | None = None  # for remote commands
    command_key: bytes | None = None
    prefix: str = "crossguard"
    command_timeout_s: float = 10.0
    web: WebConfig = field(default_factory=WebConfig)


def install_centre_ui(app: FastAPI, store: SqlEventStore, storage: BlobStorage, settings: CentreWebSettings) -> None:
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.add_extension("jinja2.ext.i18n")  # the box UI's catalogue (edge/web/locale), same languages
    templates.env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    templates.env.filters["utc"] = utc_text
    config = settings.web
    app.state.web = WebState(
        context=None,  # type: ignore[arg-type]  # the login routes need users, limiter, cookies and config only
        config=config,
        users=UserStore(settings.users_db),
        limiter=LoginGate.from_config(config.login_attempts, config.login_address_attempts, config.login_window_s),
        cookies=CookiePolicy(secure=settings.https, session_max_age_s=int(config.session_hours * 3600)),
        templates=templates,
        zones=None,  # type: ignore[arg-type]
    )
    app.state.route_roles = CENTRE_ROUTE_ROLES
    app.state.bearer_routes = BOX_ROUTES
    guard = [Depends(enforce_access)]
    for path, endpoint, name, methods in (
        ("/api/login", session_routes.api_login, "api_login", ["POST"]),
        ("/api/logout", session_routes.api_logout, "api_logout", ["POST"]),
        ("/api/me", session_routes.api_me, "api_me", ["GET"]),
    ):
        app.add_api_route(path, endpoint, name=name, methods=methods, dependencies=guard,
                          status_code=204 if name == "api_logout" else 200)  # fmt: skip
    _pages(app, templates, settings, guard)
    _api(app, store, storage, settings, guard)

    @app.exception_handler(NotLoggedIn)
    async def login_first(request: Request, exc: NotLoggedIn) -> Response:
        return not_logged_in(request)

    csp = SECURITY_HEADERS["Content-Security-Policy"]
    if settings.map_tiles:  # the tiles' (and Leaflet's, if not served here) origins, nothing else
        origins = " ".join(sorted({_origin(u) for u in (settings.map_tiles, settings.leaflet_js, settings.leaflet_css)
                                   if _origin(u)}))  # fmt: skip
        for directive in ("img-src", "script-src", "style-src"):
            csp = csp.replace(f"{directive} 'self'", f"{directive} 'self' {origins}")

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        for key, value in {**SECURITY_HEADERS, "Content-Security-Policy": csp}.items():
            response.headers.setdefault(key, value)
        return response

    missing = uncovered_routes((getattr(r, "name", "") for r in app.routes), CENTRE_ROUTE_ROLES, BOX_ROUTES)
    if missing:
        raise RuntimeError(f"centre routes missing from CENTRE_ROUTE_ROLES: {', '.join(missing)}")


def _origin(url: str) -> str:
    if "://" not in url:
        return ""
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{rest.split('/', 1)[0].split('{', 1)[0]}"


def _pages(app: FastAPI, templates: Jinja2Templates, settings: CentreWebSettings, guard: list) -> None:
    def page(name: str, template: str, **extra: Any):  # type: ignore[no-untyped-def]
        def render(request: Request) -> Response:
            session = getattr(request.state, "session", None)
            locale = i18n.choose_locale(request)  # the browser's language (or the box UI's cg_lang cookie)
            i18n.set_current(locale)
            values = {"session": session, "page": name, "map_tiles": settings.map_tiles,
                      "leaflet_js": settings.leaflet_js, "leaflet_css": settings.leaflet_css,
                      "html_lang": i18n.html_lang(locale), "js_messages": i18n.js_catalogue(locale),
                      **extra}  # fmt: skip
            return templates.TemplateResponse(request, template, values)

        return render

    app.add_api_route("/login", page("login", "login.html"), name="login_page", methods=["GET"], dependencies=guard,
                      include_in_schema=False)  # fmt: skip
    for path, name, template in (("/", "centre_overview", "overview.html"), ("/review", "centre_review", "review.html"),
                                 ("/analytics", "centre_analytics", "analytics.html")):  # fmt: skip
        app.add_api_route(path, page(name, template), name=name, methods=["GET"], dependencies=guard,
                          include_in_schema=False)  # fmt: skip

    @app.get("/static/{name}", name="static_asset", include_in_schema=False, dependencies=guard)
    def static_asset(name: str) -> FileResponse:
        path = HERE / "static" / name
        if "/" in name or name.startswith(".") or path.suffix not in STATIC_TYPES or not path.is_file():
            raise HTTPException(404, "no such file")
        return FileResponse(path, media_type=STATIC_TYPES[path.suffix])


class ReviewBody(BaseModel):
    state: str = Field(..., pattern="^(confirmed|rejected)$")
    reason: str = Field("", max_length=500)


class CommandBody(BaseModel):
    box: str = Field(..., pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", description="SITE/CAMERA")
    command: str = Field(..., pattern="^(enforcement|mute|test)$")
    value: str = Field(..., max_length=16)
    reason: str = Field("", max_length=200)


def _day_bounds(day: str) -> tuple[str, str]:
    start = date.fromisoformat(day)
    return f"{start}T00:00:00Z", f"{start + timedelta(days=1)}T00:00:00Z"


def _api(app: FastAPI, store: SqlEventStore, storage: BlobStorage, settings: CentreWebSettings, guard: list) -> None:
    @app.get("/api/sites", name="api_centre_sites", dependencies=guard)
    def sites() -> list[dict[str, Any]]:
        """Every crossing: availability, last status, open alarms, today's (UTC) crossings and violations."""
        today = _day_bounds(datetime.now(timezone.utc).date().isoformat())
        counts = {k: (c, v) for k, c, v in store.compliance("crossing", *today)}
        alarms = store.alarms()
        known = {(b.site, b.camera): b for b in (settings.registry.boxes if settings.registry else [])}
        rows = []
        seen = set()
        for s in store.sites():
            seen.add((s.site, s.camera))
            rows.append(_site_row(s.site, s.camera, known.get((s.site, s.camera)), s.availability,
                                  s.status, counts, alarms, s.chain_gaps))  # fmt: skip
        for (site, camera), box in known.items():
            if (site, camera) not in seen:
                rows.append(_site_row(site, camera, box, "never seen", None, counts, alarms, ()))
        return sorted(rows, key=lambda r: r["box"])

    @app.get("/api/review", name="api_centre_queue", dependencies=guard)
    def queue(state: str | None = "new", site: str | None = None, day: str | None = None) -> list[dict]:
        if day:
            date.fromisoformat(day)
        return [u.to_dict() for u in store.review_queue(state or None, site or None, day or None)]

    @app.get("/api/review/{event_id}", name="api_centre_item", dependencies=guard)
    def item(event_id: str) -> dict[str, Any]:
        upload = store.upload(event_id)
        if upload is None:
            raise HTTPException(404, f"no uploaded evidence for event {event_id}")
        manifest = json.loads(storage.get(f"{upload.box}/{upload.folder}/manifest.json"))
        return {**upload.to_dict(), "manifest": {k: manifest.get(k) for k in ("event", "site", "files", "sequence")}}

    @app.get("/api/review/{event_id}/files/{path:path}", name="api_centre_file", dependencies=guard)
    def file(event_id: str, path: str, request: Request) -> Response:
        upload = store.upload(event_id)
        if upload is None or path not in (upload.files or {}):
            raise HTTPException(404, "no such file")
        store.audit(current_session(request).user.name, "viewed", event_id, path)
        kind = {".jpg": "image/jpeg", ".mp4": "video/mp4"}.get(Path(path).suffix, "application/octet-stream")
        return Response(storage.get(f"{upload.box}/{upload.folder}/{path}"), media_type=kind)

    @app.post("/api/review/{event_id}", name="api_centre_review", dependencies=guard)
    def review(event_id: str, body: ReviewBody, request: Request) -> dict[str, Any]:
        """Confirm or reject (with a reason); audited; the box pulls the decision into its own index."""
        upload = store.upload(event_id)
        if upload is None:
            raise HTTPException(404, f"no uploaded evidence for event {event_id}")
        if upload.review_state != "new":
            raise HTTPException(409, f"event {event_id} was already {upload.review_state} by {upload.reviewer}")
        if body.state == "rejected" and not body.reason.strip():
            raise HTTPException(422, "a rejection needs a reason")
        store.set_review(event_id, body.state, current_session(request).user.name, body.reason.strip())
        return store.upload(event_id).to_dict()  # type: ignore[union-attr]

    @app.get("/api/compliance", name="api_compliance", dependencies=guard)
    def compliance(by: str = "crossing", since: str | None = None, until: str | None = None,
                   site: str | None = None) -> dict[str, Any]:  # fmt: skip
        since, until = _window(since, until)
        try:
            rows = store.compliance(by, since, until, site or None)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        return {"by": by, "since": since, "until": until, "rows": [_rate(k, c, v) for k, c, v in rows]}

    @app.get("/api/compliance/before-after", name="api_before_after", dependencies=guard)
    def before_after(date_: Annotated[str, Query(alias="date")] = "", days: int = 28,
                     site: str | None = None) -> dict[str, Any]:  # fmt: skip
        try:
            pivot = date.fromisoformat(date_)
        except ValueError:
            raise HTTPException(422, "date must be YYYY-MM-DD (e.g. the day warnings were switched on)") from None
        days = max(1, min(days, 366))
        spans = {"before": (pivot - timedelta(days=days), pivot), "after": (pivot, pivot + timedelta(days=days))}
        out: dict[str, Any] = {"date": pivot.isoformat(), "days": days}
        for label, (lo, hi) in spans.items():
            rows = store.compliance("crossing", f"{lo}T00:00:00Z", f"{hi}T00:00:00Z", site or None)
            crossings, violations = sum(r[1] for r in rows), sum(r[2] for r in rows)
            out[label] = {**_rate("all", crossings, violations), "by_crossing": [_rate(*r) for r in rows]}
        return out

    @app.get("/api/open-data/hourly.{fmt}", name="api_open_data", dependencies=guard)
    def open_data(fmt: str, since: str | None = None, until: str | None = None, site: str | None = None) -> Response:
        """Hourly counts per crossing, public: no pictures, no track ids, no personal data (fields:
        edge/centre/README). At most ``OPEN_DATA_MAX_DAYS`` and ``OPEN_DATA_MAX_ROWS`` per request."""
        if fmt not in ("csv", "json"):
            raise HTTPException(404, "hourly.csv or hourly.json")
        since, until = _window(since, until)
        if _utc(until) - _utc(since) > timedelta(days=OPEN_DATA_MAX_DAYS):
            raise HTTPException(422, f"since..until spans more than {OPEN_DATA_MAX_DAYS} days: ask in parts")
        counts = store.hourly(since, until, site or None, limit=OPEN_DATA_MAX_ROWS + 1)
        if len(counts) > OPEN_DATA_MAX_ROWS:
            raise HTTPException(413, f"more than {OPEN_DATA_MAX_ROWS} rows: ask for a shorter window or one site")
        rows = [{k: getattr(r, k) for k in OPEN_DATA_FIELDS} for r in counts]
        cache = {"Cache-Control": f"public, max-age={OPEN_DATA_CACHE_S}"}
        if fmt == "json":
            return JSONResponse({"fields": list(OPEN_DATA_FIELDS), "since": since, "until": until, "rows": rows},
                                headers=cache)  # fmt: skip
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=OPEN_DATA_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        cache["Content-Disposition"] = 'attachment; filename="crossguard-hourly.csv"'
        return Response(out.getvalue(), media_type="text/csv", headers=cache)

    @app.post("/api/commands", name="api_centre_command", dependencies=guard)
    def command(body: CommandBody, request: Request) -> dict[str, Any]:
        """Send one signed command to a box over MQTT and wait for its answer; audited with the outcome."""
        if body.value not in COMMAND_VALUES[body.command]:
            raise HTTPException(422, f"{body.command} takes one of {', '.join(COMMAND_VALUES[body.command])}")
        if body.command == "enforcement" and body.value == "off" and not body.reason.strip():
            raise HTTPException(422, "switching enforcement off needs a reason")
        if settings.broker is None or settings.command_key is None:
            raise HTTPException(503, "remote commands need --broker and --command-key-file")
        user = current_session(request).user.name
        return _send_command(store, settings, body, user)

    @app.get("/api/audit", name="api_centre_audit", dependencies=guard)
    def audit(limit: int = 200) -> list[dict[str, Any]]:
        return store.audit_log(min(max(limit, 1), 1000))


def _site_row(site: str, camera: str, box: Any, availability: str, status: dict | None,
              counts: dict, alarms: list[dict], gaps: tuple[str, ...]) -> dict[str, Any]:  # fmt: skip
    crossings, violations = counts.get(f"{site}/{camera}", (0, 0))
    status = status or {}
    return {
        "box": f"{site}/{camera}", "site": site, "camera": camera, "name": getattr(box, "name", "") or site,
        "latitude": getattr(box, "latitude", None), "longitude": getattr(box, "longitude", None),
        "availability": availability, "status_time": status.get("time"),
        "enforcement_enabled": status.get("enforcement_enabled"), "signal": status.get("signal"),
        "alarms": [a["kind"] + ": " + a["detail"] for a in alarms if a["box"] in (site, f"{site}/{camera}")]
        + [f"chain-gap: sequence number(s) {g} never reached the centre" for g in gaps],
        "today_crossings": crossings, "today_violations": violations,
    }  # fmt: skip


def _rate(key: str, crossings: int, violations: int) -> dict[str, Any]:
    return {"key": key, "crossings": crossings, "violations": violations,
            "rate": round(violations / crossings, 4) if crossings else None}  # fmt: skip


def _utc(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _window(since: str | None, until: str | None) -> tuple[str, str]:
    """Defaults: the last 28 days up to the next hour."""
    now = datetime.now(timezone.utc)
    until = until or (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:00:00Z")
    since = since or (now - timedelta(days=28)).strftime("%Y-%m-%dT00:00:00Z")
    for value in (since, until):
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise HTTPException(422, f"'{value}' is not an ISO time (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)") from None
    return since, until


def _send_command(db: SqlEventStore, settings: CentreWebSettings, body: CommandBody, user: str) -> dict[str, Any]:
    from edge.cli import CommandError
    from edge.commands.command import BODIES, exchange
    from edge.mqtt.commands import sign_command
    from edge.mqtt.topics import Topics

    site, camera = body.box.split("/")
    payload = dict(BODIES[body.command][body.value])
    if body.command != "test":
        payload["by"] = f"{user}: {body.reason.strip()}"[:64] if body.reason.strip() else user[:64]
    topics = Topics(settings.prefix, site, camera)
    signed = sign_command(settings.command_key, topics.command_set(body.command),  # type: ignore[arg-type]
                          {**payload, "request_id": uuid.uuid4().hex})  # fmt: skip
    action = f"command:{body.command} {body.value}"
    try:
        broker: BrokerSettings = settings.broker  # type: ignore[assignment]
        answer = exchange(broker, topics, body.command, signed, settings.command_timeout_s)
    except CommandError as exc:
        db.audit(user, action, body.box, f"{body.reason} | no answer: {exc}")
        raise HTTPException(504, str(exc)) from None
    db.audit(user, action, body.box, f"{body.reason} | ok={answer.get('ok')} {answer.get('error', '')}".strip())
    return {"sent_utc": time.time(), "answer": answer}
