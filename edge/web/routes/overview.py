"""Dashboard and live view: per crosswalk its signal and today's counts, the box's health, picture, LED boards."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query, Request
from fastapi.responses import Response

from edge.config import ConfigError, load_site
from edge.web.app import WebState, web_state
from edge.web.context import jsonable
from edge.web.dashboard import Dashboard, JournalReader, build_dashboard
from edge.web.routes.camera import CameraQuery, camera_picture
from edge.web.routes.table import Routes

log = logging.getLogger(__name__)
router = Routes()
State = Annotated[WebState, Depends(web_state)]
JPEG = {200: {"content": {"image/jpeg": {}}}, 401: {}, 404: {}}
# Days whose local midnights (and the next day's) are representable in every time zone.
FIRST_DAY, LAST_DAY = date(1970, 1, 2), date(9999, 12, 30)


def _journal(state: WebState) -> JournalReader | None:
    """One reader per journal folder, kept between requests so each refresh parses only new lines."""
    folder = state.context.journal_dir
    if folder is None or not folder.is_dir():
        return None
    if state.journal is None or state.journal.folder != folder:
        state.journal = JournalReader(folder)
    return state.journal


def _dashboard(state: WebState, day: date | None = None) -> Dashboard:
    try:
        site = load_site(state.context.site_path)
    except ConfigError as exc:
        raise HTTPException(503, f"the site file cannot be read, so there is no dashboard:\n{exc}") from None
    live, problem = None, ""
    if state.context.live is not None:
        try:
            live = state.context.live()
        except Exception as exc:  # read from another thread than the frame loop's: never fail the page
            log.exception("dashboard: live readings failed")
            problem = f"The live readings could not be taken this time ({exc}); reload in a moment."
    return build_dashboard(site, state.context.status_dict(), live, _journal(state), time.time(), day, problem)


@router.get("/", name="dashboard", include_in_schema=False)
def dashboard(request: Request, state: State) -> Response:
    return state.render(request, "dashboard.html", board=_dashboard(state))


@router.get("/api/dashboard", name="api_dashboard", responses={400: {}, 401: {}, 503: {}})
def api_dashboard(
    state: State, day: Annotated[date | None, Query(description="Local day at the site; default today")] = None
) -> dict[str, Any]:
    """Per crosswalk: signal state and its sources' health, the day's crossings and violations by local hour
    (``violation_rate`` = violations ÷ crossings, null without crossings); box-wide: fps, inference time,
    camera and picture, enforcement, warning devices, MQTT, storage and clock."""
    if day is not None and not FIRST_DAY <= day <= LAST_DAY:
        raise HTTPException(400, f"day {day.isoformat()} is out of range ({FIRST_DAY} to {LAST_DAY})")
    return jsonable(_dashboard(state, day))


@router.get("/api/status", name="api_status", responses={401: {}})
def api_status(state: State) -> dict[str, Any]:
    """The host's status report as it gives it (the live service: ``edge.ops.status.ServiceStatus``)."""
    return state.context.status_dict()


@router.get("/live", name="live", include_in_schema=False)
def live(request: Request, state: State) -> Response:
    return state.render(request, "live.html", boards=_boards(state), live=state.context.live is not None)


@router.get("/api/snapshot.jpg", name="api_snapshot", response_class=Response, responses=JPEG)
def api_snapshot(state: State, camera: CameraQuery = None) -> Response:
    """The latest annotated picture: zones, tracks, foot points, signal state, fresh violations."""
    jpeg = camera_picture(state, camera)
    if not jpeg:
        raise HTTPException(404, "no picture yet")
    return Response(jpeg, media_type="image/jpeg")


@dataclass(frozen=True)
class BoardView:
    """One LED board on the live view: its last text, and whether it can be believed to show it."""

    name: str
    text: str
    state: str  # ok, degraded, down; "unknown" when the hub does not say
    detail: str = ""

    @property
    def down(self) -> bool:
        return self.state == "down"


def _boards(state: WebState) -> list[BoardView] | None:
    """The boards' texts with their health: a board that is down is not shown as displaying anything."""
    devices = state.context.devices
    if devices is None:
        return None
    health = devices.health()
    out = []
    for name, text in devices.virtual_board_texts().items():
        h = health.get(name)
        board_state = str(getattr(h.state, "value", h.state)) if h is not None else "unknown"
        out.append(BoardView(name, text, board_state, str(getattr(h, "last_error", "") or "")))
    return out


@router.get("/api/boards", name="api_boards", responses={401: {}})
def api_boards(state: State) -> dict[str, Any]:
    """What each LED board shows now (``""`` for a board that is down: it shows nothing anyone can
    count on) and each board's health; ``available`` is false on a box without actuators."""
    boards = _boards(state)
    return {
        "available": boards is not None,
        "boards": {b.name: "" if b.down else b.text for b in boards or []},
        "health": {b.name: {"state": b.state, "detail": b.detail} for b in boards or []},
    }
