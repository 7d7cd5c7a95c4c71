"""Device tests for operators: play the speaker message, show a test text on each LED board."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from edge.web.app import WebState, web_state
from edge.web.context import DeviceHub, jsonable
from edge.web.i18n import Text
from edge.web.routes.table import Routes

router = Routes()
State = Annotated[WebState, Depends(web_state)]
ERRORS: dict[int | str, dict[str, Any]] = {401: {}, 403: {}, 404: {}, 503: {}}


class DeviceTestRequest(BaseModel):
    device: str | None = Field(None, max_length=64, description="One device by name; none tests them all")


def _hub(state: WebState) -> DeviceHub:
    if state.context.devices is None:
        raise HTTPException(503, Text("no actuators are configured on this box"))
    return state.context.devices


@router.get("/devices", name="devices", include_in_schema=False)
def devices(request: Request, state: State) -> Response:
    hub = state.context.devices
    names = hub.device_names if hub is not None else None
    return state.render(request, "devices.html", names=names, announcements=state.context.announcements is not None)


@router.get("/api/devices", name="api_devices", responses=ERRORS)
def api_devices(state: State) -> dict[str, Any]:
    hub = _hub(state)
    return {"devices": hub.device_names, "boards": hub.virtual_board_texts()}


@router.post("/api/devices/test", name="api_devices_test", responses=ERRORS)
def api_devices_test(body: DeviceTestRequest, state: State) -> list[Any]:
    """Trigger each output (or the named one) once and report success and latency."""
    hub = _hub(state)
    if body.device is not None and body.device not in hub.device_names:
        raise HTTPException(404, Text("no device named '{device}'", device=body.device))
    return [jsonable(r) for r in hub.test(body.device)]
