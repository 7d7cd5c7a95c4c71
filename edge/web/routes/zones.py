"""Zone editor page and its JSON API: read, validate, save (with history), revert, background picture."""

from __future__ import annotations

from typing import Annotated, Any

import cv2
import numpy as np
from fastapi import Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from edge.config.crosswalk import RuleConfig
from edge.web.app import WebState, web_state
from edge.web.auth import current_session
from edge.web.guard import UPLOAD_LIMIT
from edge.web.i18n import Text, translate
from edge.web.routes.camera import CameraQuery, camera_picture, checked_camera
from edge.web.routes.table import Routes
from edge.web.zone_editor import ZoneEditError

router = Routes()
State = Annotated[WebState, Depends(web_state)]
ERRORS: dict[int | str, dict[str, Any]] = {401: {}, 403: {}, 404: {}, 409: {}, 413: {}, 415: {}, 422: {}, 503: {}}


class ZonesDraft(BaseModel):
    crosswalks: list[Any] = Field(..., max_length=32, description="Crosswalk entries as in the site file")
    signal_heads: dict[str, list[float]] = Field(
        default_factory=dict, max_length=64, description="Signal-head boxes by key, [x1, y1, x2, y2] fractions"
    )


class ZonesSave(ZonesDraft):
    base_sha256: str | None = Field(None, max_length=64, description="SHA-256 of the site file the edit started from")
    note: str = Field("", max_length=200, description="Why the zones changed, kept in the history")


class RevertRequest(BaseModel):
    version: int = Field(..., ge=1, le=10**9)


def _error(exc: ZoneEditError) -> JSONResponse:
    return JSONResponse(
        {"detail": str(translate(exc.args[0])), "issues": [i.to_dict() for i in exc.issues]},
        status_code=exc.status,
    )


@router.get("/zones", name="zone_editor", include_in_schema=False)
def zone_editor(request: Request, state: State) -> Response:
    return state.render(request, "zones.html")


@router.get("/api/zones", name="api_zones", responses=ERRORS)
def api_zones(state: State, camera: CameraQuery = None) -> Any:
    """The site's crosswalks (with ``camera``: only that camera's), the file's SHA-256 and the rule fields' schema."""
    try:
        current = state.zones.current(checked_camera(state, camera))
    except ZoneEditError as exc:
        return _error(exc)
    return current | {"rule_schema": RuleConfig.model_json_schema()}


@router.get("/api/zones/background.jpg", name="api_zones_background", response_class=Response, responses=ERRORS)
def api_zones_background(state: State, camera: CameraQuery = None) -> Response:
    """The picture to draw on: the live clean frame, else the annotated one, else an uploaded one."""
    jpeg = camera_picture(state, camera, raw=True) if camera else state.zones.background()
    if not jpeg:
        raise HTTPException(404, Text("no picture: start the camera or upload a snapshot"))
    return Response(jpeg, media_type="image/jpeg")


@router.put(
    "/api/zones/background.jpg",
    name="api_zones_upload_background",
    status_code=204,
    responses=ERRORS,
    max_body_size=UPLOAD_LIMIT,
)
async def api_zones_upload_background(request: Request, state: State) -> Response:
    """Upload a JPEG or PNG of the camera's view to draw on when no live picture is available."""
    if request.headers.get("content-type", "").split(";")[0] not in ("image/jpeg", "image/png"):
        raise HTTPException(415, Text("send the picture as image/jpeg or image/png"))
    body = await request.body()  # at most UPLOAD_LIMIT: FastAPI answers 413 beyond it
    image = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR) if body else None
    if image is None:
        raise HTTPException(422, Text("not a readable JPEG or PNG picture"))
    _, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    state.zones.store_background(jpeg.tobytes())
    return Response(status_code=204)


@router.post("/api/zones/validate", name="api_zones_validate", responses=ERRORS)
def api_zones_validate(body: ZonesDraft, state: State, camera: CameraQuery = None) -> Any:
    """Check a draft without saving: config models plus self-intersection, out-of-picture and overlap checks.

    With ``camera`` the draft is that camera's crosswalks; the other cameras' stay as saved.
    """
    try:
        crosswalks = state.zones.merged(body.crosswalks, checked_camera(state, camera))
        site, issues = state.zones.validate(crosswalks, body.signal_heads)
    except ZoneEditError as exc:
        return _error(exc)
    return {"ok": site is not None, "issues": [i.to_dict() for i in issues]}


@router.put("/api/zones", name="api_zones_save", responses=ERRORS)
def api_zones_save(body: ZonesSave, request: Request, state: State, camera: CameraQuery = None) -> Any:
    """Save the draft into the site file (atomically, a new history version) and apply it live.

    With ``camera`` the draft replaces only that camera's crosswalks, and only its pipeline takes them.
    """
    user = current_session(request).user.name
    try:
        crosswalks = state.zones.merged(body.crosswalks, checked_camera(state, camera))
        result = state.zones.save(crosswalks, user, body.base_sha256, body.note, body.signal_heads)
    except ZoneEditError as exc:
        return _error(exc)
    return result.to_dict()


@router.get("/api/zones/history", name="api_zones_history", responses=ERRORS)
def api_zones_history(state: State) -> list[dict[str, Any]]:
    """Saved versions, newest first, with who saved them, when and why."""
    return [v.to_dict() for v in reversed(state.zones.history.versions())]


@router.post("/api/zones/revert", name="api_zones_revert", responses=ERRORS)
def api_zones_revert(body: RevertRequest, request: Request, state: State) -> Any:
    """Write an older version back as a new version, and apply it live."""
    try:
        result = state.zones.revert(body.version, current_session(request).user.name)
    except ZoneEditError as exc:
        return _error(exc)
    return result.to_dict()
