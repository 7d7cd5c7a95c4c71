"""Dashboard and live view: the host's status, the annotated picture, the LED boards' text."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import Response

from edge.web.app import WebState, web_state
from edge.web.routes.table import Routes

router = Routes()
State = Annotated[WebState, Depends(web_state)]
JPEG = {200: {"content": {"image/jpeg": {}}}, 401: {}, 404: {}}


def hourly_compliance(status: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of ``status['hourly']`` with the compliance figure (violations ÷ crossings) added."""
    rows = status.get("hourly")
    out = []
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict):
            continue
        crossings, violations = row.get("crossings") or 0, row.get("violations") or 0
        rate = violations / crossings if isinstance(crossings, (int, float)) and crossings else None
        out.append(row | {"violation_rate": rate})
    return out


@router.get("/", name="dashboard", include_in_schema=False)
def dashboard(request: Request, state: State) -> Response:
    status = state.context.status_dict()
    sections = {k: v for k, v in status.items() if k != "hourly"}
    return state.render(request, "dashboard.html", sections=sections, hourly=hourly_compliance(status))


@router.get("/api/status", name="api_status", responses={401: {}})
def api_status(state: State) -> dict[str, Any]:
    """The host's status: signal states and source health, fps, inference time, devices, storage, counts."""
    status = state.context.status_dict()
    if "hourly" in status:
        status["hourly"] = hourly_compliance(status)
    return status


@router.get("/live", name="live", include_in_schema=False)
def live(request: Request, state: State) -> Response:
    return state.render(request, "live.html", boards=_boards(state))


@router.get("/api/snapshot.jpg", name="api_snapshot", response_class=Response, responses=JPEG)
def api_snapshot(state: State) -> Response:
    """The latest annotated picture: zones, tracks, foot points, signal state, fresh violations."""
    jpeg = state.context.snapshot()
    if not jpeg:
        raise HTTPException(404, "no picture yet")
    return Response(jpeg, media_type="image/jpeg")


def _boards(state: WebState) -> dict[str, str] | None:
    devices = state.context.devices
    return None if devices is None else devices.virtual_board_texts()


@router.get("/api/boards", name="api_boards", responses={401: {}})
def api_boards(state: State) -> dict[str, Any]:
    """What each LED board shows now; ``available`` is false on a box without actuators."""
    boards = _boards(state)
    return {"available": boards is not None, "boards": boards or {}}
